package store

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"tracesync/app"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openTest opens a fresh store in t.TempDir and checks it on cleanup.
func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tracesync.db")
	s, err := Open(path, append([]Option{WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, ok := t.(*testing.T); ok {
			if err := s.Check(); err != nil {
				t.Errorf("store check: %v", err)
			}
		}
		s.Close()
	})
	return s
}

// job builds a job; kind decides the key: create-package keys on its first
// created label, sales-receipt on name.
func job(license string, kind app.JobKind, name string, reads, creates []string) app.Job {
	body, _ := json.Marshal(map[string]any{"name": name, "reads": reads})
	j := app.Job{
		License: license, Kind: kind, Body: body, Reads: reads, Creates: creates,
		Created: t0, NextAttempt: t0, BusinessTime: t0,
	}
	switch kind {
	case app.KindCreatePackage:
		j.Key = app.PackageKey(license, creates[0])
	case app.KindSalesReceipt:
		j.Key = app.ReceiptKey(license, name)
	}
	return j
}

func adjust(license, label string) app.Job {
	return job(license, app.KindAdjust, "adj-"+label, []string{label}, nil)
}

func sale(license, external string, labels ...string) app.Job {
	return job(license, app.KindSalesReceipt, external, labels, nil)
}

func assembly(license, tag string, ingredients ...string) app.Job {
	return job(license, app.KindCreatePackage, "pkg-"+tag, ingredients, []string{tag})
}

func mustEnqueue(t testing.TB, s *Store, jobs ...app.Job) []uint64 {
	t.Helper()
	res, err := s.Enqueue(jobs...)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

func mustApply(t testing.TB, s *Store, ts ...app.Transition) []app.Job {
	t.Helper()
	js, err := s.Apply(ts...)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func move(id uint64, to app.JobState) app.Transition {
	return app.Transition{ID: id, To: to, At: t0.Add(time.Minute), Attempt: &app.Attempt{At: t0, Outcome: "to " + string(to)}}
}

// walk moves a job along the given states, failing the test on error.
func walk(t testing.TB, s *Store, id uint64, path ...app.JobState) {
	t.Helper()
	for _, st := range path {
		mustApply(t, s, move(id, st))
	}
}

// pathTo is a way from pending to each state through the table.
var pathTo = map[app.JobState][]app.JobState{
	app.StatePending:        nil,
	app.StateSending:        {app.StateSending},
	app.StateRetrying:       {app.StateSending, app.StateRetrying},
	app.StateUnknown:        {app.StateSending, app.StateUnknown},
	app.StateNeedsAttention: {app.StateSending, app.StateNeedsAttention},
	app.StateDone:           {app.StateSending, app.StateDone},
	app.StateMatched:        {app.StateMatched},
	app.StateDiscarded:      {app.StateDiscarded},
}

func ids(js []app.Job) []uint64 {
	out := make([]uint64, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func fmtIDs(v []uint64) string { return fmt.Sprint(v) }
