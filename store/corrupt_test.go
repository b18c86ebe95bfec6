package store

import (
	"errors"
	"reflect"
	"testing"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

func TestCorruptRecordsAreSkipped(t *testing.T) {
	var reported []CorruptError
	s := openTest(t, WithCorruptHandler(func(e CorruptError) { reported = append(reported, e) }))
	mustEnqueue(t, s, adjust("L1", "A"), adjust("L1", "B"), adjust("L1", "C"))
	s.PutPackages(app.Package{License: "L1", Label: "A"}, app.Package{License: "L1", Label: "B"})
	s.PutLicense(app.License{Number: "L1"})
	s.PutLicense(app.License{Number: "L2"})

	// Damage job 2, package B and license L1 in place.
	var goodJob []byte
	s.DB().View(func(tx *bbolt.Tx) error {
		goodJob = append(goodJob, tx.Bucket(bucketJobs).Get(itob(2))...)
		return nil
	})
	err := s.DB().Update(func(tx *bbolt.Tx) error {
		tx.Bucket(bucketJobs).Put(itob(2), []byte(`{"id":2,"state":`))
		tx.Bucket(bucketPackages).Put(packageKey("L1", "B"), []byte(`not json`))
		return tx.Bucket(bucketLicenses).Put([]byte("L1"), []byte{0xff})
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := s.Job(2); !errors.Is(err, app.ErrCorrupt) {
		t.Errorf("Job(2): %v", err)
	}
	var ce *CorruptError
	if _, err := s.Job(2); !errors.As(err, &ce) || !reflect.DeepEqual(ce.Key, itob(2)) || ce.Bucket != "jobs" {
		t.Errorf("error does not name the record: %v", err)
	}
	for _, f := range []app.JobFilter{{}, {License: "L1"}, {License: "L1", NewestFirst: true}, {Search: "job/"}} {
		page, err := s.ListJobs(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(page.Jobs); !reflect.DeepEqual(got, []uint64{1, 3}) && !reflect.DeepEqual(got, []uint64{3, 1}) {
			t.Errorf("ListJobs(%+v) = %v", f, got)
		}
	}
	// The other jobs are still readable and movable; Due skips the bad one.
	if j, err := s.Job(3); err != nil || j.State != app.StatePending {
		t.Errorf("Job(3): %v", err)
	}
	if due, err := s.Due("L1", t0, 10); err != nil || !reflect.DeepEqual(ids(due), []uint64{1, 3}) {
		t.Errorf("Due: %v %v", ids(due), err)
	}
	walk(t, s, 1, app.StateSending, app.StateDone)
	ps, err := s.Packages("L1", "", "", 10)
	if err != nil || len(ps) != 1 || ps[0].Label != "A" {
		t.Errorf("Packages %+v %v", ps, err)
	}
	ls, err := s.Licenses()
	if err != nil || len(ls) != 1 || ls[0].Number != "L2" {
		t.Errorf("Licenses %+v %v", ls, err)
	}
	if len(reported) == 0 || s.CorruptCount() != int64(len(reported)) {
		t.Fatalf("reported %d, counted %d", len(reported), s.CorruptCount())
	}
	keys := map[string]bool{}
	for _, r := range reported {
		keys[r.Bucket+" "+keyString(r.Key)] = true
	}
	for _, want := range []string{"jobs #2", `packages "L1\x00B"`, `licenses "L1"`} {
		if !keys[want] {
			t.Errorf("not reported: %s (got %v)", want, keys)
		}
	}
	// Check names the damaged job; repair it so the cleanup check passes.
	if err := s.Check(); err == nil || !errors.Is(err, app.ErrCorrupt) {
		t.Errorf("Check: %v", err)
	}
	s.DB().Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketJobs).Put(itob(2), goodJob) })
}
