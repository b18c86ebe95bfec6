package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// Run with: go test -tags migrated_fynedo -run '^$' -bench . -benchtime 3x ./store/
//
// Goals (issue 2): batched enqueue at least half of raw bbolt throughput;
// Due under 1 ms with 100k pending over 3 licenses; Open of a 1M-job file
// under 1 s. Single-job enqueue is fsync-bound and reported as measured.

var benchLicenses = []string{"CML21-0000001", "CML21-0000002", "CML21-0000003"}

// benchJobs builds n realistic jobs over 3 licenses: 70% sales receipts of
// 1-3 packages, 20% adjustments, 10% moves, over 2000 labels per license.
func benchJobs(n int, seed uint64) []app.Job {
	r := rand.New(rand.NewPCG(seed, 1))
	loc := time.UTC
	now := time.Date(2026, 2, 1, 8, 0, 0, 0, loc)
	label := func() string { return fmt.Sprintf("1A4060300003B01%09d", r.IntN(2000)) }
	jobs := make([]app.Job, 0, n)
	for i := range n {
		lic := benchLicenses[i%3]
		at := now.Add(time.Duration(i) * time.Second)
		var j app.Job
		var err error
		switch k := r.IntN(10); {
		case k < 7:
			var tx []app.SalesTransaction
			for range 1 + r.IntN(3) {
				tx = append(tx, app.SalesTransaction{PackageLabel: label(), Quantity: 1, UnitOfMeasure: "Each", TotalAmount: 25})
			}
			j, err = app.NewReceiptJob(lic, loc, app.SalesReceipt{SalesCustomerType: "Consumer", ExternalReceiptNumber: fmt.Sprintf("S%d-%d", seed, i), Transactions: tx}, at, at)
		case k < 9:
			j, err = app.NewAdjustJob(lic, loc, app.PackageAdjust{Label: label(), Quantity: -1, UnitOfMeasure: "Each", AdjustmentReason: "Drying"}, at, at)
		default:
			j, err = app.NewMoveJob(lic, loc, app.LocationChange{Label: label(), Location: "Vault"}, at, at)
		}
		if err != nil {
			panic(err)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// BenchmarkEnqueueBatch100k stores 100k jobs in one Enqueue call, and in
// the same iteration puts the same encoded records with plain bbolt (one
// transaction, id keys, the same bbolt options) for comparison: raw-jobs/s,
// store-jobs/s, ratio.
func BenchmarkEnqueueBatch100k(b *testing.B) {
	const n = 100_000
	jobs := benchJobs(n, 1)
	raw := make([][]byte, n)
	for i, j := range jobs { // the bytes the store writes for each job
		j.ID, j.State = uint64(i+1), app.StatePending
		if j.Key == "" {
			j.Key = fmt.Sprint(app.UniqueKeyPrefix, j.ID)
		}
		raw[i], _ = json.Marshal(j)
	}
	var storeTime, rawTime time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()

		db, err := bbolt.Open(filepath.Join(dir, "raw.db"), 0o600, boltOptions(time.Second, false))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("jobs"))
			if err != nil {
				return err
			}
			for _, v := range raw {
				id, _ := bk.NextSequence()
				if err := bk.Put(itob(id), v); err != nil {
					return err
				}
			}
			return nil
		})
		rawTime += time.Since(start)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}

		s, err := Open(filepath.Join(dir, "store.db"), WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if _, err := s.Enqueue(jobs...); err != nil {
			b.Fatal(err)
		}
		storeTime += time.Since(start)
		s.Close()
	}
	storeRate := float64(n*b.N) / storeTime.Seconds()
	rawRate := float64(n*b.N) / rawTime.Seconds()
	b.ReportMetric(storeRate, "store-jobs/s")
	b.ReportMetric(rawRate, "raw-jobs/s")
	b.ReportMetric(storeRate/rawRate, "ratio")
}

// BenchmarkEnqueueOne is one job per Enqueue: one fsynced transaction.
func BenchmarkEnqueueOne(b *testing.B) {
	s := openTest(b)
	jobs := benchJobs(b.N+1000, 2)
	mustEnqueue(b, s, jobs[:1000]...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Enqueue(jobs[1000+i]); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	benchDirOnce sync.Once
	benchDir     string
	fixtures     sync.Map // name -> *fixture
)

type fixture struct {
	once sync.Once
	path string
	err  error
}

// benchFixture builds a store file once per test run (cached in a temp dir
// that TestMain removes) and returns its path.
func benchFixture(b *testing.B, name string, build func(s *Store) error) string {
	benchDirOnce.Do(func() {
		benchDir, _ = os.MkdirTemp("", "tracesync-store-bench-")
	})
	f, _ := fixtures.LoadOrStore(name, &fixture{})
	fx := f.(*fixture)
	fx.once.Do(func() {
		fx.path = filepath.Join(benchDir, name+".db")
		start := time.Now()
		s, err := Open(fx.path, WithNoSync(), WithLogger(quietLogger()))
		if err != nil {
			fx.err = err
			return
		}
		fx.err = build(s)
		if err := s.Close(); fx.err == nil {
			fx.err = err
		}
		b.Logf("fixture %s built in %v", name, time.Since(start).Round(time.Millisecond))
	})
	if fx.err != nil {
		b.Fatal(fx.err)
	}
	return fx.path
}

func removeBenchDir() {
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
}

// BenchmarkDue asks for the jobs ready to send with 100k pending over 3
// licenses, in batches of 10 (a Metrc request) and 100.
func BenchmarkDue(b *testing.B) {
	path := benchFixture(b, "pending100k", func(s *Store) error {
		_, err := s.Enqueue(benchJobs(100_000, 3)...)
		return err
	})
	s, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, limit := range []int{10, 100} {
		b.Run(fmt.Sprint("limit", limit), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				js, err := s.Due(benchLicenses[i%3], now, limit)
				if err != nil || len(js) != limit {
					b.Fatalf("due %d %v", len(js), err)
				}
			}
		})
	}
	// During an outage: nothing is due yet (the backoff pushed them all
	// later), asked at the moment before.
	b.Run("none-due", func(b *testing.B) {
		early := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < b.N; i++ {
			if js, err := s.Due(benchLicenses[i%3], early, 10); err != nil || len(js) != 0 {
				b.Fatalf("due %d %v", len(js), err)
			}
		}
	})
	b.Run("stats", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.Stats(""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("list-page", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := s.ListJobs(app.JobFilter{License: benchLicenses[i%3], States: []app.JobState{app.StatePending}, NewestFirst: true, After: 50_000})
			if err != nil || len(p.Jobs) != 100 {
				b.Fatalf("list %d %v", len(p.Jobs), err)
			}
		}
	})
}

// BenchmarkOpen1M opens (and closes) a file holding 1M jobs, as after
// months of use: 990k finished, 10k pending.
func BenchmarkOpen1M(b *testing.B) {
	path := benchFixture(b, "jobs1m", func(s *Store) error {
		for batch := range 10 {
			jobs := benchJobs(100_000, uint64(100+batch))
			err := s.db.Update(func(tx *bbolt.Tx) error {
				// Written finished directly (through the same put as
				// Enqueue and Apply) rather than moved 2M times.
				t := s.newJobTx(tx)
				keys := tx.Bucket(bucketJobKeys)
				for i := range jobs {
					j := &jobs[i]
					j.ID, _ = t.jobs.NextSequence()
					if j.Key == "" {
						j.Key = fmt.Sprint(app.UniqueKeyPrefix, j.ID)
					}
					j.State = app.StateDone
					if batch == 9 && i >= 90_000 {
						j.State = app.StatePending
					}
					if err := keys.Put([]byte(j.Key), itob(j.ID)); err != nil {
						return err
					}
					if err := t.put(nil, j); err != nil {
						return err
					}
				}
				return t.flush()
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(path, WithLogger(quietLogger()))
		if err != nil {
			b.Fatal(err)
		}
		if st, err := s.Stats(""); err != nil || st.ByState[app.StateDone] != 990_000 {
			b.Fatalf("stats %+v %v", st.ByState, err)
		}
		s.Close()
	}
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}
