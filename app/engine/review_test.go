package engine

import (
	"context"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
)

// badLookupMetrc answers the lookup of one receipt with a non-transient
// answer (a 400), as Metrc (or an unreadable 2xx) can.
type badLookupMetrc struct {
	*fakeMetrc
	bad string
}

func (b *badLookupMetrc) ReceiptByExternalNumber(ctx context.Context, l, n string) (app.Receipt, error) {
	if n == b.bad {
		b.call("receipt")
		return app.Receipt{}, &app.MetrcError{Class: app.ClassPermanent, Status: 400, Messages: []string{"bad number"}}
	}
	return b.fakeMetrc.ReceiptByExternalNumber(ctx, l, n)
}

// An unknown job whose lookup Metrc refuses (a 400) cannot be verified: it
// goes to a person (needs-attention) and is never resent, and it does not
// block the license's other jobs. (Found in review: it used to be taken for
// an outage, stay unknown forever and stop the whole queue.)
func TestUnverifiableJobGoesToAPerson(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		m := &badLookupMetrc{fakeMetrc: newFakeMetrc(), bad: "BAD"}
		first := true
		m.onWrite = func(r []app.SalesReceipt) ([]error, bool) {
			if first {
				first = false
				return m.allErr(len(r), &app.MetrcError{Class: app.ClassAmbiguous, Err: io.ErrUnexpectedEOF}), true
			}
			return make([]error, len(r)), true
		}
		e, _ := New(Params{Store: st, Metrc: m, Logger: quietLogger(), Licenses: []app.License{{Number: "L"}}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		now := time.Now()
		if _, err := e.Enqueue(receiptJob(t, "L", "BAD", "P", 1, now)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if _, err := e.Enqueue(receiptJob(t, "L", "OK", "P", 1, time.Now())); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		s, _ := st.Stats("L")
		if n := m.receiptCount("L", "OK"); n != 1 {
			t.Errorf("receipt OK sent %d times, want 1", n)
		}
		if n := m.receiptCount("L", "BAD"); n != 1 {
			t.Errorf("receipt BAD reached Metrc %d times, want 1 (never resent)", n)
		}
		if s.ByState[app.StateNeedsAttention] != 1 || s.ByState[app.StateUnknown] != 0 {
			t.Errorf("states %v, want BAD in needs-attention", s.ByState)
		}
		if n := m.count("receipt"); n != 1 {
			t.Errorf("BAD looked up %d times, want 1", n)
		}
		cancel()
		<-done
	})
}

// A job due soon is sent on time even while an older job sits blocked
// behind one that needs attention (NextDue counts blocked jobs; the loop
// used to sleep its whole idle time when the earliest of them was past due).
func TestDueJobNotDelayedByBlockedOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		m := newFakeMetrc()
		now := time.Now()
		// A: an assembly of tag T that Metrc rejected (needs attention).
		a, err := app.NewAssemblyJob("L", time.UTC, app.PackageCreate{Tag: "T", Item: "Buds", Quantity: 1, UnitOfMeasure: "Each",
			Ingredients: []app.Ingredient{{Package: "P", Quantity: 1, UnitOfMeasure: "Each"}}}, now, now)
		if err != nil {
			t.Fatal(err)
		}
		// B: a sale from T, blocked by A. C: a sale retrying in 10 s.
		res, err := st.Enqueue(a, receiptJob(t, "L", "B", "T", 1, now), receiptJob(t, "L", "C", "Q", 1, now))
		if err != nil {
			t.Fatal(err)
		}
		idA, idC := res[0].ID, res[2].ID
		if _, err := st.Apply(
			app.Transition{ID: idA, To: app.StateSending, At: now},
			app.Transition{ID: idC, To: app.StateSending, At: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(
			app.Transition{ID: idA, To: app.StateNeedsAttention, At: now, Reason: "Metrc rejected it"},
			app.Transition{ID: idC, To: app.StateRetrying, At: now, NextAttempt: now.Add(10 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		e, _ := New(Params{Store: st, Metrc: m, Logger: quietLogger(), Licenses: []app.License{{Number: "L"}}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := m.receiptCount("L", "C"); n != 1 {
			t.Errorf("receipt C sent %d times a minute after it came due, want 1", n)
		}
		if n := m.receiptCount("L", "B"); n != 0 {
			t.Errorf("receipt B, waiting on #%d, was sent %d times", idA, n)
		}
		cancel()
		<-done
	})
}
