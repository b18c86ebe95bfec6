package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"tracesync/app"
)

// forever is a wait that only a kick or the end of ctx ends; the loops
// still wake this often as a safety net.
const forever = 5 * time.Minute

// pushLoop sends a license's due jobs until ctx ends. Each step returns
// how long to wait before the next; kicks (enqueue, push now, recovery)
// cut the wait short.
func (e *Engine) pushLoop(ctx context.Context, ls *licState) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := e.pushStep(ctx, ls)
		if ctx.Err() != nil {
			return nil
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-ls.pushKick:
		case <-timer.C:
		}
	}
}

// pushStep does one thing: a probe, the verification of unknown jobs, or
// one batch; it returns the wait before the next step (0: go on now).
func (e *Engine) pushStep(ctx context.Context, ls *licState) time.Duration {
	num := ls.lic.Number
	now := e.now()
	e.mu.Lock()
	paused := ls.lic.Paused || ls.ps.Paused
	failing, nextProbe, hold := ls.failing, ls.nextProbe, ls.holdUntil
	e.mu.Unlock()
	switch {
	case paused:
		return forever
	case failing && now.Before(nextProbe):
		return nextProbe.Sub(now)
	case failing:
		e.probe(ctx, ls)
		return 0
	case now.Before(hold):
		return hold.Sub(now)
	}

	// Verify before resend: every unknown job of the license is looked up
	// before anything else goes out.
	page, err := e.st.ListJobs(app.JobFilter{License: num, States: []app.JobState{app.StateUnknown}, Limit: 20})
	if err != nil {
		e.log.Error("list unknown jobs", "license", num, "err", err)
		return e.p.BackoffBase
	}
	if len(page.Jobs) > 0 {
		for _, j := range page.Jobs {
			if ctx.Err() != nil {
				return 0
			}
			if !e.verify(ctx, ls, j) {
				// Metrc cannot answer (the job stays unknown and the
				// license is failing), or the verdict was not saved.
				return e.p.BackoffBase
			}
		}
		return 0
	}
	e.mu.Lock()
	if ls.pullOwed {
		ls.pullOwed = false
		kick(ls.pullKick)
	}
	e.mu.Unlock()

	due, err := e.st.Due(num, now, 5*e.p.BatchSize)
	if err != nil {
		e.log.Error("due jobs", "license", num, "err", err)
		return e.p.BackoffBase
	}
	if len(due) == 0 {
		next, err := e.st.NextDue(num)
		switch {
		case err != nil || next.IsZero():
			// Nothing queued: a kick (enqueue, resend, discard, push
			// now) wakes the loop.
			return forever
		case !next.After(now):
			// NextDue counts blocked jobs: the earliest is waiting on an
			// earlier one (a kick comes when that one moves), but another
			// job may come due before then; look again within a probe
			// interval rather than sleeping the full idle time.
			return min(e.p.ProbeInterval, forever)
		}
		return min(next.Sub(now), forever)
	}
	if !e.send(ctx, ls, pickBatch(due, e.p.BatchSize)) {
		return e.p.BackoffBase
	}
	return 0
}

// backoff is exponential backoff with full jitter for the n-th
// consecutive failure: uniform in [0, min(cap, base·2^(n-1))).
func (e *Engine) backoff(n int) time.Duration {
	d := e.p.BackoffBase
	for i := 1; i < n && d < e.p.BackoffCap; i++ {
		d *= 2
	}
	d = min(d, e.p.BackoffCap)
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

// probe asks Metrc something cheap while the license is failing.
func (e *Engine) probe(ctx context.Context, ls *licState) {
	_, err := e.p.Metrc.Units(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil && transient(err) {
		e.failed(ls, err)
		return
	}
	e.answered(ls, false, fromProbe)
}

// transient reports whether err means Metrc could not answer (as opposed to
// an answer: a rejection, a 429, a 401).
func transient(err error) bool {
	var me *app.MetrcError
	if errors.As(err, &me) {
		return me.Class == app.ClassNotSent || me.Class == app.ClassAmbiguous
	}
	return !errors.Is(err, app.ErrNotFound)
}

// failed records a transient failure of the license: backoff, the next
// probe, the outage window, the last failure.
func (e *Engine) failed(ls *licState, err error) {
	now := e.now()
	msg := describe(err)
	e.mu.Lock()
	ls.failures++
	wasFailing := ls.failing
	ls.failing = true
	ls.failedSinceStart = true
	// The next probe: after a backoff, never more than ProbeInterval away,
	// and a failure elsewhere (a pull) never postpones one already planned.
	next := now.Add(min(e.backoff(ls.failures), e.p.ProbeInterval))
	if !wasFailing || !ls.nextProbe.After(now) || next.Before(ls.nextProbe) {
		ls.nextProbe = next
	}
	ls.ps.LastFailure, ls.ps.LastFailureMsg = now, msg
	if ls.outage == nil {
		ls.outage = &app.OutageWindow{License: ls.lic.Number, Start: now, Reason: msg}
	}
	ls.outage.FailedCalls++
	w := *ls.outage
	e.mu.Unlock()
	if !wasFailing {
		e.log.Warn("Metrc is not answering", "license", ls.lic.Number, "err", msg)
		// The push loop may be asleep with nothing due: wake it so the
		// probe runs at least every ProbeInterval (rule 3).
		kick(ls.pushKick)
	}
	if err := e.st.RecordOutage(w); err != nil {
		e.log.Error("record outage", "license", ls.lic.Number, "err", err)
	}
	if err := e.savePullState(ls); err != nil {
		e.log.Error("save pull state", "license", ls.lic.Number, "err", err)
	}
	kick(e.healthKick)
}

// noteFailure records a call that failed with an answer (429, 400 on a
// read): health shows it, but it is no outage.
func (e *Engine) noteFailure(ls *licState, err error) {
	e.mu.Lock()
	ls.ps.LastFailure, ls.ps.LastFailureMsg = e.now(), describe(err)
	e.mu.Unlock()
	if err := e.savePullState(ls); err != nil {
		e.log.Error("save pull state", "license", ls.lic.Number, "err", err)
	}
	kick(e.healthKick)
}

// answered records that Metrc answered a call of the license. After a
// failure it ends the outage and releases the due jobs at once. Only an
// answered write resets the backoff exponent: when only writes fail (500s
// on one endpoint), probes and pulls keep answering, and the retries still
// space out (up to ProbeInterval, when the probe releases them).
//
// A pull that answered does not ask for another pull (that would loop
// while writes fail and pulls work).
func (e *Engine) answered(ls *licState, wrote bool, src answerSource) {
	now := e.now()
	e.mu.Lock()
	wasFailing := ls.failing
	ls.failing = false
	if wrote {
		ls.failures = 0
	}
	var w *app.OutageWindow
	if ls.outage != nil {
		ls.outage.End = now
		w = ls.outage
		ls.outage = nil
	}
	e.mu.Unlock()
	if !wasFailing {
		return
	}
	e.log.Info("Metrc answers again", "license", ls.lic.Number)
	if w != nil {
		if err := e.st.RecordOutage(*w); err != nil {
			e.log.Error("record outage", "license", ls.lic.Number, "err", err)
		}
	}
	if _, err := e.st.MakeDue(now, app.DueSelector{License: ls.lic.Number}); err != nil {
		e.log.Error("release due jobs", "license", ls.lic.Number, "err", err)
	}
	// A pull follows at once, unless unknown jobs wait for verification:
	// they go first (they hold the backlog back and share the GET budget),
	// and the push loop asks for the pull when they are settled.
	owed := false
	if st, err := e.st.Stats(ls.lic.Number); err == nil && st.ByState[app.StateUnknown] > 0 {
		owed = true
	}
	e.mu.Lock()
	kick(ls.pushKick)
	switch {
	case src == fromPull:
	case owed:
		ls.pullOwed = true
	default:
		kick(ls.pullKick)
	}
	e.mu.Unlock()
	kick(e.healthKick)
}

// answerSource says which call answered.
type answerSource int

const (
	fromWrite answerSource = iota
	fromProbe
	fromVerify
	fromPull
)

// pausedCredentials is PullState.PausedReason for the engine's own pause
// after a 401/403. The next start lifts it (resumeCredentials): the keys
// may have been fixed meanwhile, and only a call can tell.
const pausedCredentials = "credentials rejected"

// credentialsRejected pauses the license (401/403).
func (e *Engine) credentialsRejected(ls *licState, err error) {
	e.mu.Lock()
	already := ls.ps.Paused
	ls.ps.Paused, ls.ps.PausedReason = true, pausedCredentials
	ls.ps.LastFailure, ls.ps.LastFailureMsg = e.now(), describe(err)
	e.mu.Unlock()
	if !already {
		e.log.Warn("Metrc rejected the credentials: license paused", "license", ls.lic.Number, "err", describe(err))
	}
	if err := e.savePullState(ls); err != nil {
		e.log.Error("save pull state", "license", ls.lic.Number, "err", err)
	}
	kick(e.healthKick)
}

// holdFor honours a 429's Retry-After (or backs off when Metrc gave none).
func (e *Engine) holdFor(ls *licState, me *app.MetrcError) time.Time {
	d := me.RetryAfter
	if d <= 0 {
		d = e.backoff(1) + e.p.BackoffBase
	}
	until := e.now().Add(d)
	e.mu.Lock()
	if until.After(ls.holdUntil) {
		ls.holdUntil = until
	}
	e.mu.Unlock()
	return until
}

func (e *Engine) savePullState(ls *licState) error {
	e.psMu.Lock()
	defer e.psMu.Unlock()
	e.mu.Lock()
	ps := ls.ps
	e.mu.Unlock()
	return e.st.PutPullState(ps)
}

// send moves a batch (one kind, ≤ 10) to sending — persisted before the
// request goes out — sends it and applies each object's outcome. While
// every object is delivered it goes on with the next due batch, taking it
// in the same transaction that records the outcome (one fsync per batch
// instead of two: the store work then fits in the write pace).
//
// It returns false when the batch could not be taken (typically a job
// discarded meanwhile, which the next Due skips; or a store failure).
func (e *Engine) send(ctx context.Context, ls *licState, batch []app.Job) bool {
	num := ls.lic.Number
	if _, err := e.st.Apply(sendingTransitions(batch, e.now())...); err != nil {
		e.log.Warn("take jobs for sending", "license", num, "err", err)
		return false
	}
	for len(batch) > 0 {
		batch = e.sendOne(ctx, ls, batch)
	}
	return true
}

func sendingTransitions(batch []app.Job, now time.Time) []app.Transition {
	ts := make([]app.Transition, len(batch))
	for i, j := range batch {
		ts[i] = app.Transition{ID: j.ID, To: app.StateSending, At: now}
	}
	return ts
}

// sendOne sends a batch already in sending and records the outcomes; it
// returns the next batch, already in sending, when it took one.
func (e *Engine) sendOne(ctx context.Context, ls *licState, batch []app.Job) (next []app.Job) {
	num := ls.lic.Number
	wctx, done := shutdownContext(ctx, e.p.ShutdownGrace)
	errs := e.write(wctx, num, batch)
	done()

	now := e.now()
	rejected := false
	for _, err := range errs {
		var me *app.MetrcError
		if errors.As(err, &me) && me.Class == app.ClassPermanent {
			rejected = true
		}
	}
	var worst error
	var auth, limited *app.MetrcError
	anyOK, allOK := false, true
	// The backoff exponent is written by the pull loop too (failed, answered).
	e.mu.Lock()
	retryIn := e.backoff(ls.failures + 1)
	e.mu.Unlock()
	ts := make([]app.Transition, 0, len(batch))
	for i, j := range batch {
		err := errs[i]
		t := app.Transition{ID: j.ID, At: now}
		if err == nil {
			anyOK = true
			t.To = app.StateDone
			t.Attempt = &app.Attempt{At: now, Outcome: app.OutcomeDone, HTTPStatus: 200}
			ts = append(ts, t)
			continue
		}
		allOK = false
		me := asMetrcError(err)
		t.Attempt = &app.Attempt{At: now, Outcome: attemptOutcome(me), HTTPStatus: me.Status, Message: metrcText(me)}
		switch me.Class {
		case app.ClassPermanent:
			// Metrc answered, unless the body was refused here before
			// anything was sent (no status).
			anyOK = anyOK || me.Status != 0
			t.To = app.StateNeedsAttention
			t.Reason = "Metrc rejected it: " + metrcText(me)
		case app.ClassAuth:
			auth = me
			t.To, t.NextAttempt = app.StatePending, now
		case app.ClassRateLimited:
			limited = me
			t.To = app.StateRetrying
			t.NextAttempt = e.holdFor(ls, me)
		case app.ClassNotSent:
			t.To = app.StateRetrying
			// A batch-mate of a rejected object carries the 400 of the
			// request it was in; any other not-sent error (connection
			// refused) is an outage even when another object was rejected.
			if rejected && me.Status == 400 {
				t.NextAttempt = now // a batch-mate of the rejected object: due at once
				t.Attempt.Outcome = "not sent: another record of the batch was rejected"
			} else {
				worst = err
				t.NextAttempt = now.Add(retryIn)
			}
		default: // ambiguous: sent, no trustworthy answer
			worst = err
			if j.Kind.Idempotent() {
				t.To, t.NextAttempt = app.StateRetrying, now.Add(retryIn)
			} else {
				t.To = app.StateUnknown
			}
		}
		ts = append(ts, t)
	}
	if allOK && ctx.Err() == nil && !e.isPaused(ls) {
		// The jobs of this batch are still in sending here, so Due leaves
		// them and their dependents alone.
		if due, err := e.st.Due(num, now, 5*e.p.BatchSize); err == nil && len(due) > 0 {
			next = pickBatch(due, e.p.BatchSize)
		}
	}
	if _, err := e.st.Apply(append(ts, sendingTransitions(next, now)...)...); err != nil {
		next = nil
		if _, err := e.st.Apply(ts...); err != nil {
			// The jobs stay in sending; Recover makes them unknown or
			// retrying at the next start, and verification settles them.
			e.log.Error("record send outcome", "license", num, "err", err)
		}
	}
	switch {
	case auth != nil:
		e.credentialsRejected(ls, auth)
	case worst != nil:
		e.failed(ls, worst)
	case limited != nil:
		e.noteFailure(ls, limited)
	case anyOK:
		e.answered(ls, true, fromWrite)
	}
	if rejected {
		for _, err := range errs {
			if me := asMetrcError(err); err != nil && me.Class == app.ClassPermanent {
				e.noteFailure(ls, err)
				break
			}
		}
	}
	kick(e.healthKick)
	return next
}

func (e *Engine) isPaused(ls *licState) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return ls.lic.Paused || ls.ps.Paused
}

// pickBatch takes up to size jobs of the first due job's kind, in order
// (Due already leaves out jobs an earlier unfinished one blocks).
func pickBatch(due []app.Job, size int) []app.Job {
	var batch []app.Job
	for _, j := range due {
		if j.Kind == due[0].Kind && len(batch) < size {
			batch = append(batch, j)
		}
	}
	return batch
}

// write stamps the job ids and sends one batch of one kind.
func (e *Engine) write(ctx context.Context, license string, batch []app.Job) []error {
	errs := make([]error, len(batch))
	bad := func(i int, err error) {
		errs[i] = &app.MetrcError{Class: app.ClassPermanent, Messages: []string{err.Error()}}
	}
	kind := batch[0].Kind
	switch kind {
	case app.KindCreatePackage:
		v := make([]app.PackageCreate, len(batch))
		for i, j := range batch {
			if err := json.Unmarshal(j.Body, &v[i]); err != nil {
				bad(i, err)
			}
			v[i].Note = app.StampNote(v[i].Note, j.ID)
		}
		return mergeErrs(errs, v, func(v []app.PackageCreate) []error { return e.p.Metrc.CreatePackages(ctx, license, v) })
	case app.KindAdjust:
		v := make([]app.PackageAdjust, len(batch))
		for i, j := range batch {
			if err := json.Unmarshal(j.Body, &v[i]); err != nil {
				bad(i, err)
			}
			v[i].ReasonNote = app.StampNote(v[i].ReasonNote, j.ID)
		}
		return mergeErrs(errs, v, func(v []app.PackageAdjust) []error { return e.p.Metrc.AdjustPackages(ctx, license, v) })
	case app.KindChangeLocation:
		v := make([]app.LocationChange, len(batch))
		for i, j := range batch {
			if err := json.Unmarshal(j.Body, &v[i]); err != nil {
				bad(i, err)
			}
		}
		return mergeErrs(errs, v, func(v []app.LocationChange) []error { return e.p.Metrc.ChangeLocations(ctx, license, v) })
	case app.KindFinish:
		v := make([]app.PackageFinish, len(batch))
		for i, j := range batch {
			if err := json.Unmarshal(j.Body, &v[i]); err != nil {
				bad(i, err)
			}
		}
		return mergeErrs(errs, v, func(v []app.PackageFinish) []error { return e.p.Metrc.FinishPackages(ctx, license, v) })
	case app.KindSalesReceipt:
		v := make([]app.SalesReceipt, len(batch))
		for i, j := range batch {
			if err := json.Unmarshal(j.Body, &v[i]); err != nil {
				bad(i, err)
			}
		}
		return mergeErrs(errs, v, func(v []app.SalesReceipt) []error { return e.p.Metrc.CreateReceipts(ctx, license, v) })
	}
	for i := range batch {
		bad(i, fmt.Errorf("%s jobs are not sent by this version", kind))
	}
	return errs
}

// mergeErrs sends the objects that decoded and maps the answers back: an
// object whose body did not decode is never sent.
func mergeErrs[T any](pre []error, v []T, call func([]T) []error) []error {
	var send []T
	var idx []int
	for i := range v {
		if pre[i] == nil {
			send = append(send, v[i])
			idx = append(idx, i)
		}
	}
	if len(send) == 0 {
		return pre
	}
	got := call(send)
	for k, i := range idx {
		if k < len(got) {
			pre[i] = got[k]
		} else {
			pre[i] = &app.MetrcError{Class: app.ClassAmbiguous, Messages: []string{"no answer for this record"}}
		}
	}
	return pre
}

// asMetrcError returns err as a *MetrcError; anything else counts as
// ambiguous (sent, no trustworthy answer), the safe reading for a POST.
func asMetrcError(err error) *app.MetrcError {
	var me *app.MetrcError
	if errors.As(err, &me) {
		return me
	}
	if err == nil {
		return &app.MetrcError{}
	}
	return &app.MetrcError{Class: app.ClassAmbiguous, Err: err}
}

// attemptOutcome is the Outcome recorded for a failed send: the transport
// failure's plain name when there was no HTTP answer and its type tells,
// else the class ("rejected", "no answer", ...).
func attemptOutcome(me *app.MetrcError) string {
	if me.Status == 0 && me.Err != nil {
		if o := transportOutcome(me); o != "" {
			return o
		}
	}
	return me.Class.String()
}

// transportOutcome names a failure without an HTTP answer from the error
// chain's types (the client wraps the transport error: the deadline of its
// request timeout, the dialer's errno, ...), or "" when they say nothing.
func transportOutcome(err error) string {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return app.OutcomeTimeout
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return app.OutcomeHostNotFound
		}
		return app.OutcomeDNSFailure
	case errors.Is(err, syscall.ECONNREFUSED):
		return app.OutcomeRefused
	case errors.Is(err, syscall.ECONNRESET):
		return app.OutcomeReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return app.OutcomeClosed
	}
	return ""
}

// metrcText is Metrc's messages verbatim, or the transport error.
func metrcText(me *app.MetrcError) string {
	if len(me.Messages) > 0 {
		return strings.Join(me.Messages, "; ")
	}
	if me.Err != nil {
		return me.Err.Error()
	}
	if me.Status != 0 {
		return fmt.Sprintf("HTTP %d", me.Status)
	}
	return me.Class.String()
}

// describe says in plain words what went wrong with a call.
func describe(err error) string {
	var me *app.MetrcError
	if !errors.As(err, &me) {
		return "Metrc did not answer (" + err.Error() + ")"
	}
	switch {
	case me.Class == app.ClassAuth:
		return fmt.Sprintf("Metrc answers %d: the credentials were rejected", me.Status)
	case me.Class == app.ClassRateLimited:
		return "Metrc answers 429: too many requests"
	case me.Status != 0 && me.Class == app.ClassPermanent:
		return fmt.Sprintf("Metrc answers %d: %s", me.Status, metrcText(me))
	case me.Status != 0:
		return fmt.Sprintf("Metrc answers %d", me.Status)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(strings.ToLower(metrcText(me)), "timeout"):
		return "Metrc does not answer (timeout)"
	case me.Class == app.ClassNotSent:
		return "Metrc cannot be reached"
	}
	return "Metrc did not answer (connection lost)"
}
