package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

func TestOpenCreatesFileAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	s.DB().View(func(tx *bbolt.Tx) error {
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing", b)
			}
		}
		if v := string(tx.Bucket(bucketMeta).Get(metaSchemaKey)); v != "1" {
			t.Errorf("schema %q", v)
		}
		return nil
	})
	// A file from a newer tracesync is refused, not misread.
	s.DB().Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaSchemaKey, []byte("99")) })
	s.Close()
	if _, err := Open(path, WithLogger(quietLogger())); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open of schema 99: %v", err)
	}
}

func TestEnqueueKeys(t *testing.T) {
	s := openTest(t)
	res, err := s.Enqueue(assembly("L1", "TAG1", "IN1"), adjust("L1", "IN1"), sale("L1", "R1", "IN1"), adjust("L1", "IN1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []app.EnqueueResult{
		{ID: 1, Key: "L1/tag/TAG1", Status: app.Queued},
		{ID: 2, Key: "job/2", Status: app.Queued},
		{ID: 3, Key: "L1/receipt/R1", Status: app.Queued},
		{ID: 4, Key: "job/4", Status: app.Queued},
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("results %+v", res)
	}
	j, err := s.Job(2)
	if err != nil || j.State != app.StatePending || j.Key != "job/2" || !j.NextAttempt.Equal(t0) {
		t.Fatalf("job 2: %+v %v", j, err)
	}
	if j, err := s.JobByKey("L1/receipt/R1"); err != nil || j.ID != 3 {
		t.Fatalf("by key: %+v %v", j, err)
	}

	// Same key and content: skipped (the rest of the batch is queued);
	// the body may differ in spacing only.
	same := sale("L1", "R1", "IN1")
	var buf bytes.Buffer
	json.Indent(&buf, same.Body, "", "  ")
	same.Body = buf.Bytes()
	res, err = s.Enqueue(same, adjust("L1", "IN2"))
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != (app.EnqueueResult{ID: 3, Key: "L1/receipt/R1", Status: app.Skipped}) || res[1].Status != app.Queued || res[1].ID != 5 {
		t.Fatalf("skip: %+v", res)
	}

	// Same key, different content: conflict, and nothing of the batch stored.
	before, _ := s.Stats("")
	diff := sale("L1", "R1", "IN1", "IN9")
	res, err = s.Enqueue(adjust("L1", "IN3"), diff)
	if !errors.Is(err, app.ErrConflict) {
		t.Fatalf("conflict err %v", err)
	}
	if res[1].Status != app.Conflict || res[1].ID != 3 || res[0].ID != 0 {
		t.Fatalf("conflict results %+v", res)
	}
	after, _ := s.Stats("")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("stats changed by a refused batch: %+v -> %+v", before, after)
	}
	if _, err := s.Job(6); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("job 6 stored by a refused batch: %v", err)
	}
	// The id sequence rolled back too: the next job is 6.
	if got := mustEnqueue(t, s, adjust("L1", "IN3")); got[0] != 6 {
		t.Errorf("next id %d", got[0])
	}

	// Within one batch, the second of two equal receipts is skipped.
	res, err = s.Enqueue(sale("L2", "R1", "X"), sale("L2", "R1", "X"))
	if err != nil || res[1].Status != app.Skipped || res[1].ID != res[0].ID {
		t.Fatalf("in-batch duplicate: %+v %v", res, err)
	}

	// Invalid jobs refuse the batch.
	bad := []app.Job{
		{License: "", Kind: app.KindAdjust, Body: json.RawMessage(`{}`)},
		{License: "L1", Kind: "teleport", Body: json.RawMessage(`{}`)},
		{License: "L1", Kind: app.KindSalesReceipt, Body: json.RawMessage(`{}`)},
		{License: "L1", Kind: app.KindAdjust, Body: json.RawMessage(`{`)},
		{License: "L1", Kind: app.KindAdjust, Body: json.RawMessage(`{}`), Reads: []string{"A\x00B"}},
	}
	for _, b := range bad {
		if _, err := s.Enqueue(adjust("L1", "OK"), b); err == nil {
			t.Errorf("enqueue of %+v succeeded", b)
		}
	}
}

func TestTransitions(t *testing.T) {
	for _, from := range app.States {
		for _, to := range app.States {
			allowed := app.CanTransition(from, to)
			name := string(from) + "->" + string(to)
			t.Run(name, func(t *testing.T) {
				s := openTest(t)
				id := mustEnqueue(t, s, adjust("L1", "P1"))[0]
				walk(t, s, id, pathTo[from]...)
				before, _ := s.Job(id)
				tr := move(id, to)
				tr.NextAttempt = t0.Add(time.Hour)
				tr.Reason = "because"
				got, err := s.Apply(tr)
				if !allowed {
					var te *app.TransitionError
					if !errors.As(err, &te) || !errors.Is(err, app.ErrBadTransition) {
						t.Fatalf("forbidden move: err %v", err)
					}
					if !strings.Contains(err.Error(), string(from)) || !strings.Contains(err.Error(), string(to)) {
						t.Errorf("error %q does not name both states", err)
					}
					if after, _ := s.Job(id); !reflect.DeepEqual(before, after) {
						t.Errorf("refused move changed the job")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				j, _ := s.Job(id)
				if got[0].State != to || j.State != to {
					t.Fatalf("state %s / %s", got[0].State, j.State)
				}
				if n := len(j.Attempts); n != len(before.Attempts)+1 || j.Attempts[n-1].Outcome != "to "+string(to) {
					t.Errorf("attempts %+v", j.Attempts)
				}
				if !j.Updated.Equal(tr.At) || !j.NextAttempt.Equal(tr.NextAttempt) || j.Reason != "because" {
					t.Errorf("fields %+v", j)
				}
				st, _ := s.Stats("L1")
				if st.ByState[to] != 1 || len(st.ByState) != 1 {
					t.Errorf("stats %+v", st.ByState)
				}
			})
		}
	}
}

func TestApplyIsAtomic(t *testing.T) {
	s := openTest(t)
	a := mustEnqueue(t, s, adjust("L1", "P1"), adjust("L1", "P2"))
	_, err := s.Apply(move(a[0], app.StateSending), move(a[1], app.StateDone))
	if !errors.Is(err, app.ErrBadTransition) {
		t.Fatalf("err %v", err)
	}
	if j, _ := s.Job(a[0]); j.State != app.StatePending {
		t.Errorf("first move of a refused call was kept: %s", j.State)
	}
	if _, err := s.Apply(move(99, app.StateSending)); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// Two moves of one job in one call see each other.
	js := mustApply(t, s, move(a[0], app.StateSending), move(a[0], app.StateDone))
	if js[1].State != app.StateDone || len(js[1].Attempts) != 2 {
		t.Errorf("chained: %+v", js[1])
	}
}

func TestDiscardCascade(t *testing.T) {
	s := openTest(t)
	ids := mustEnqueue(t, s,
		sale("L1", "R0", "NEW"),                                 // 1: before the assembly: not its dependent
		assembly("L1", "NEW", "IN"),                             // 2: discarded below
		sale("L1", "R1", "NEW"),                                 // 3: reads NEW -> needs attention
		adjust("L1", "NEW"),                                     // 4: reads NEW -> needs attention
		adjust("L1", "OTHER"),                                   // 5: unrelated
		sale("L2", "R1", "NEW"),                                 // 6: other license
		job("L1", app.KindAdjust, "done", []string{"NEW"}, nil), // 7: finished first
	)
	walk(t, s, ids[6], app.StateMatched)
	mustApply(t, s, app.Transition{ID: ids[1], To: app.StateDiscarded, At: t0, Reason: "entered by mistake"})
	want := map[uint64]app.JobState{1: app.StatePending, 2: app.StateDiscarded, 3: app.StateNeedsAttention, 4: app.StateNeedsAttention, 5: app.StatePending, 6: app.StatePending, 7: app.StateMatched}
	for id, st := range want {
		j, _ := s.Job(id)
		if j.State != st {
			t.Errorf("job %d: %s, want %s", id, j.State, st)
		}
		if st == app.StateNeedsAttention && j.Reason != "input #2 was discarded" {
			t.Errorf("job %d reason %q", id, j.Reason)
		}
	}
	if j, _ := s.Job(2); j.Reason != "entered by mistake" {
		t.Errorf("discard reason %q", j.Reason)
	}
	st, _ := s.Stats("L1")
	if st.ByState[app.StateNeedsAttention] != 2 || st.ByState[app.StatePending] != 2 {
		t.Errorf("stats %+v", st.ByState)
	}
}

func TestEditResend(t *testing.T) {
	s := openTest(t)
	ids := mustEnqueue(t, s, sale("L1", "R1", "A"), adjust("L1", "B"))
	walk(t, s, ids[0], app.StateSending, app.StateNeedsAttention)
	walk(t, s, ids[1], app.StateSending)

	fixed := sale("L1", "R1", "C")
	bt := t0.Add(-time.Hour)
	tr := app.Transition{ID: ids[0], To: app.StatePending, At: t0, Edit: &app.JobEdit{Body: fixed.Body, Reads: []string{"C"}, BusinessTime: bt}}
	// The key is the receipt number: an edit that changes it is refused.
	wrongKey := tr
	wrongKey.Edit = &app.JobEdit{Body: json.RawMessage(`{"ExternalReceiptNumber":"R2"}`)}
	if _, err := s.Apply(wrongKey); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("key change: %v", err)
	}
	// An edit is only for needs-attention -> pending.
	if _, err := s.Apply(app.Transition{ID: ids[1], To: app.StateRetrying, Edit: tr.Edit}); err == nil {
		t.Errorf("edit of a sending job accepted")
	}
	// A sales body carrying the same receipt number passes.
	var body map[string]any
	json.Unmarshal(fixed.Body, &body)
	body["ExternalReceiptNumber"] = "R1"
	tr.Edit.Body, _ = json.Marshal(body)
	js := mustApply(t, s, tr)
	j := js[0]
	if j.State != app.StatePending || !reflect.DeepEqual(j.Reads, []string{"C"}) || !j.BusinessTime.Equal(bt) || j.Reason != "" {
		t.Errorf("edited job %+v", j)
	}
	if due, _ := s.Due("L1", t0, 10); len(due) != 1 || due[0].ID != ids[0] {
		t.Errorf("due after edit %v", ids)
	}
}

func TestLastJobFinished(t *testing.T) {
	s := openTest(t)
	if err := s.PutPackages(app.Package{License: "L1", Label: "A"}, app.Package{License: "L1", Label: "NEW"}); err != nil {
		t.Fatal(err)
	}
	id := mustEnqueue(t, s, assembly("L1", "NEW", "A", "B"))[0]
	walk(t, s, id, app.StateSending) // not final: nothing recorded
	if p, _ := s.Package("L1", "A"); !p.LastJobFinished.IsZero() {
		t.Fatalf("recorded before the end: %v", p.LastJobFinished)
	}
	end := t0.Add(2 * time.Hour)
	mustApply(t, s, app.Transition{ID: id, To: app.StateDone, At: end})
	for _, l := range []string{"A", "NEW"} {
		if p, _ := s.Package("L1", l); !p.LastJobFinished.Equal(end) {
			t.Errorf("%s: LastJobFinished %v", l, p.LastJobFinished)
		}
	}
	if _, err := s.Package("L1", "B"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("package B created: %v", err)
	}
}

func TestMakeDueAndRecover(t *testing.T) {
	s := openTest(t)
	ids := mustEnqueue(t, s, adjust("L1", "A"), sale("L1", "R1", "B"), job("L1", app.KindChangeLocation, "mv", []string{"C"}, nil), adjust("L2", "A"), adjust("L1", "D"))
	later := t0.Add(time.Hour)
	mustApply(t, s, move(ids[0], app.StateSending), move(ids[1], app.StateSending), move(ids[2], app.StateSending), move(ids[3], app.StateSending), move(ids[4], app.StateSending))
	mustApply(t, s, app.Transition{ID: ids[0], To: app.StateRetrying, NextAttempt: later}, app.Transition{ID: ids[3], To: app.StateRetrying, NextAttempt: later},
		app.Transition{ID: ids[4], To: app.StateDone})

	// A stop during sending: the POST receipt becomes unknown, the PUT move retrying.
	n, err := s.Recover(t0)
	if err != nil || n != 2 {
		t.Fatalf("recover %d %v", n, err)
	}
	r1, _ := s.Job(ids[1])
	mv, _ := s.Job(ids[2])
	if r1.State != app.StateUnknown || mv.State != app.StateRetrying || r1.LastAttempt().Outcome != OutcomeInterrupted {
		t.Fatalf("recovered: %s %s %+v", r1.State, mv.State, r1.LastAttempt())
	}
	if n, _ := s.Recover(t0); n != 0 {
		t.Errorf("second recover moved %d", n)
	}

	if next, _ := s.NextDue("L1"); !next.Equal(t0) {
		t.Errorf("next due %v", next)
	}
	if due, _ := s.Due("L1", t0, 10); !reflect.DeepEqual(ids2(due), []uint64{ids[2]}) {
		t.Errorf("due before push %v", ids2(due))
	}
	if _, err := s.MakeDue(t0, app.DueSelector{}); err == nil {
		t.Error("empty selector accepted")
	}
	now := t0.Add(time.Minute)
	n, err = s.MakeDue(now, app.DueSelector{License: "L1"})
	if err != nil || n != 3 { // retrying A, unknown R1, retrying (already due) move
		t.Fatalf("make due %d %v", n, err)
	}
	if due, _ := s.Due("L1", now, 10); !reflect.DeepEqual(ids2(due), []uint64{ids[0], ids[2]}) {
		t.Errorf("due after push %v", ids2(due))
	}
	if j, _ := s.Job(ids[1]); j.NextAttempt.After(now) {
		t.Errorf("unknown job next %v", j.NextAttempt)
	}
	if j, _ := s.Job(ids[3]); !j.NextAttempt.Equal(later) {
		t.Errorf("other license touched")
	}
	if n, _ := s.MakeDue(now, app.DueSelector{IDs: []uint64{ids[3], ids[4]}}); n != 1 {
		t.Errorf("by ids: %d", n)
	}
	if n, _ := s.MakeDue(now, app.DueSelector{All: true}); n != 4 {
		t.Errorf("all: %d", n)
	}
}

func ids2(js []app.Job) []uint64 { return ids(js) }

func TestStatsMaintained(t *testing.T) {
	s := openTest(t)
	a := adjust("L1", "A")
	a.Created, a.BusinessTime = t0.Add(time.Hour), t0.Add(-5*time.Hour)
	b := adjust("L1", "B")
	b.Created, b.BusinessTime = t0, t0.Add(-2*time.Hour)
	c := adjust("L2", "C")
	c.Created, c.BusinessTime = t0.Add(-time.Hour), time.Time{}
	ids := mustEnqueue(t, s, a, b, c)

	st, _ := s.Stats("L1")
	if st.ByState[app.StatePending] != 2 || !st.OldestUnfinished.Equal(t0) || !st.OldestBusiness.Equal(t0.Add(-5*time.Hour)) {
		t.Fatalf("L1 %+v", st)
	}
	all, _ := s.Stats("")
	if all.ByState[app.StatePending] != 3 || !all.OldestUnfinished.Equal(t0.Add(-time.Hour)) || all.Unfinished() != 3 {
		t.Fatalf("all %+v", all)
	}
	walk(t, s, ids[1], app.StateSending, app.StateDone)
	walk(t, s, ids[0], app.StateSending)
	st, _ = s.Stats("L1")
	want := map[app.JobState]int{app.StateSending: 1, app.StateDone: 1}
	if !reflect.DeepEqual(st.ByState, want) || !st.OldestUnfinished.Equal(t0.Add(time.Hour)) || !st.OldestBusiness.Equal(t0.Add(-5*time.Hour)) {
		t.Fatalf("L1 after %+v", st)
	}
	walk(t, s, ids[0], app.StateDone)
	st, _ = s.Stats("L1")
	if !st.OldestUnfinished.IsZero() || !st.OldestBusiness.IsZero() || st.Unfinished() != 0 {
		t.Fatalf("L1 finished %+v", st)
	}
	if st, _ := s.Stats("NOPE"); len(st.ByState) != 0 {
		t.Errorf("unknown license %+v", st)
	}
}
