package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"tracesync/app"
)

// verify looks an unknown job up in Metrc (DESIGN.md rule 2) and moves it
// to done, needs-attention or retrying. It returns false when Metrc could
// not answer (the job then stays unknown and the license is failing) or the
// verdict could not be saved. When Metrc answers the lookup with a refusal
// (a 400, an unreadable answer), the job cannot be verified automatically:
// it goes to needs-attention rather than blocking the license's queue.
func (e *Engine) verify(ctx context.Context, ls *licState, j app.Job) bool {
	num := ls.lic.Number
	verdict, detail, err := e.lookup(ctx, num, j)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		me := asMetrcError(err)
		switch me.Class {
		case app.ClassAuth:
			e.credentialsRejected(ls, err)
		case app.ClassRateLimited:
			e.holdFor(ls, me)
			e.noteFailure(ls, err)
		case app.ClassPermanent:
			e.noteFailure(ls, err)
			return e.unverifiable(ls, j, err)
		default:
			e.failed(ls, err)
		}
		return false
	}
	e.answered(ls, false, fromVerify)
	now := e.now()
	t := app.Transition{ID: j.ID, At: now, Attempt: &app.Attempt{At: now, Outcome: "verified: " + verdict, Message: detail}}
	switch verdict {
	case verdictSame:
		t.To = app.StateDone
	case verdictDiffers:
		t.To = app.StateNeedsAttention
		t.Reason = "entered twice with differences: " + detail
	case verdictUnreadable:
		t.To = app.StateNeedsAttention
		t.Reason = "the queued record cannot be read: " + detail
	default:
		t.To, t.NextAttempt = app.StateRetrying, now
	}
	if _, err := e.st.Apply(t); err != nil {
		e.log.Error("record verification", "license", num, "job", j.ID, "err", err)
		return false
	}
	e.log.Info("verified unknown job", "license", num, "job", j.ID, "verdict", verdict)
	return true
}

// unverifiable hands an unknown job whose lookup Metrc refused to a person:
// it may or may not be in Metrc, so it is neither resent nor left to block
// every later job of the license.
func (e *Engine) unverifiable(ls *licState, j app.Job, err error) bool {
	now := e.now()
	me := asMetrcError(err)
	t := app.Transition{ID: j.ID, At: now, To: app.StateNeedsAttention,
		Attempt: &app.Attempt{At: now, Outcome: "verification refused", HTTPStatus: me.Status, Message: metrcText(me)},
		Reason: "sent without a clear answer, and Metrc refused the lookup (" + metrcText(me) +
			"): check in Metrc whether it arrived, then resend or discard it"}
	if _, err := e.st.Apply(t); err != nil {
		e.log.Error("record verification", "license", ls.lic.Number, "job", j.ID, "err", err)
		return false
	}
	e.log.Warn("unknown job cannot be verified", "license", ls.lic.Number, "job", j.ID, "err", metrcText(me))
	return true
}

const (
	verdictSame     = "found"
	verdictDiffers  = "found with differences"
	verdictNotFound = "not found"
	// verdictUnreadable: the queued body does not decode (cannot happen
	// with jobs built by app.New*Job); a person must look at it.
	verdictUnreadable = "unreadable"
)

// lookup finds j's record in Metrc: the package by tag, the receipt by its
// external number, the adjustment by our job id in its ReasonNote.
func (e *Engine) lookup(ctx context.Context, license string, j app.Job) (verdict, detail string, err error) {
	m := e.p.Metrc
	switch j.Kind {
	case app.KindCreatePackage:
		var want app.PackageCreate
		if err := json.Unmarshal(j.Body, &want); err != nil {
			return verdictUnreadable, err.Error(), nil
		}
		got, err := m.PackageByLabel(ctx, license, want.Tag)
		if errors.Is(err, app.ErrNotFound) {
			return verdictNotFound, "", nil
		}
		if err != nil {
			return "", "", err
		}
		var diffs []string
		if !strings.EqualFold(got.Item, want.Item) {
			diffs = append(diffs, fmt.Sprintf("item %q in Metrc, %q here", got.Item, want.Item))
		}
		if !sameQty(got.Quantity, want.Quantity) || !strings.EqualFold(got.UnitOfMeasure, want.UnitOfMeasure) {
			diffs = append(diffs, fmt.Sprintf("%g %s in Metrc, %g %s here", got.Quantity, got.UnitOfMeasure, want.Quantity, want.UnitOfMeasure))
		}
		if id, ok := app.NoteJobID(got.Note); ok && id != j.ID {
			diffs = append(diffs, fmt.Sprintf("created by job #%d", id))
		}
		if len(diffs) > 0 {
			return verdictDiffers, "package " + want.Tag + ": " + strings.Join(diffs, "; "), nil
		}
		return verdictSame, "package " + want.Tag, nil

	case app.KindSalesReceipt:
		var want app.SalesReceipt
		if err := json.Unmarshal(j.Body, &want); err != nil {
			return verdictUnreadable, err.Error(), nil
		}
		got, err := m.ReceiptByExternalNumber(ctx, license, want.ExternalReceiptNumber)
		if errors.Is(err, app.ErrNotFound) {
			return verdictNotFound, "", nil
		}
		if err != nil {
			return "", "", err
		}
		if d := lineDiff(got.Transactions, want.Transactions); d != "" {
			return verdictDiffers, "receipt " + want.ExternalReceiptNumber + ": " + d, nil
		}
		return verdictSame, "receipt " + want.ExternalReceiptNumber, nil

	case app.KindAdjust:
		var want app.PackageAdjust
		if err := json.Unmarshal(j.Body, &want); err != nil {
			return verdictUnreadable, err.Error(), nil
		}
		adjs, err := m.Adjustments(ctx, license, want.Label)
		if errors.Is(err, app.ErrNotFound) {
			return verdictNotFound, "", nil
		}
		if err != nil {
			return "", "", err
		}
		found := ""
		for _, a := range adjs {
			if id, ok := app.NoteJobID(a.Note); !ok || id != j.ID {
				continue
			}
			if sameQty(a.Quantity, want.Quantity) && strings.EqualFold(a.UnitOfMeasure, want.UnitOfMeasure) {
				return verdictSame, "adjustment of " + want.Label, nil
			}
			found = fmt.Sprintf("adjustment of %s: %g %s in Metrc, %g %s here", want.Label, a.Quantity, a.UnitOfMeasure, want.Quantity, want.UnitOfMeasure)
		}
		if found != "" {
			return verdictDiffers, found, nil
		}
		return verdictNotFound, "", nil
	}
	// PUT kinds are idempotent: resending is the verification. A POST kind
	// without a lookup must not be resent blindly.
	if j.Kind.Idempotent() {
		return verdictNotFound, "", nil
	}
	return verdictUnreadable, "no way to look up a " + string(j.Kind) + " in Metrc", nil
}

func sameQty(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// lineDiff compares receipt lines as multisets; "" when they agree.
func lineDiff(got, want []app.SalesTransaction) string {
	key := func(t app.SalesTransaction) string {
		return fmt.Sprintf("%s %.4f %s %.2f", t.PackageLabel, t.Quantity, strings.ToLower(t.UnitOfMeasure), t.TotalAmount)
	}
	g := make([]string, len(got))
	for i, t := range got {
		g[i] = key(t)
	}
	w := make([]string, len(want))
	for i, t := range want {
		w[i] = key(t)
	}
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return ""
	}
	return fmt.Sprintf("lines in Metrc [%s], here [%s]", strings.Join(g, ", "), strings.Join(w, ", "))
}
