package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/store"
)

// benchInput is n packages with both sides, 1% of them different (a mix of
// quantity, location, finish, hold and item), and 1,000 pending sales.
func benchInput(n int) Input {
	in := Input{License: "L1", Packages: make([]app.Package, n), PulledAt: t0}
	for i := range in.Packages {
		label := fmt.Sprintf("1A4FF0100000022%09d", i)
		local := app.PackageState{Item: "Flower", Quantity: 100, Unit: "Grams", Location: "Vault"}
		metrc := local
		if i%100 == 0 {
			switch (i / 100) % 5 {
			case 0:
				metrc.Quantity = 90
			case 1:
				metrc.Location = "Shelf"
			case 2:
				metrc.Finished = true
			case 3:
				metrc.OnHold = true
			case 4:
				metrc.Item = "Shake"
			}
		}
		in.Packages[i] = app.Package{License: "L1", Label: label, Local: &local, Metrc: &metrc, PulledAt: t0}
	}
	for i := 0; i < 1000; i++ {
		j := sale(uint64(i+1), in.Packages[i*37+1].Label, 1)
		in.Jobs = append(in.Jobs, j)
		in.Packages[i*37+1].Local.Quantity = 99
	}
	return in
}

// BenchmarkCompare100k: 100,000 local vs 100,000 Metrc packages, 1%
// different. Goal: under 500 ms and 200 MB.
func BenchmarkCompare100k(b *testing.B) {
	in := benchInput(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	var plan Plan
	cpu0 := cpuTime()
	for b.Loop() {
		plan = Compare(in)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpuMs/op")
	b.StopTimer()
	if plan.Compared != 100_000 || len(plan.Repairs)+len(plan.Findings) < 990 {
		b.Fatalf("compared %d repairs %d findings %d", plan.Compared, len(plan.Repairs), len(plan.Findings))
	}
}

// BenchmarkRunNow100k is the whole run: read 100,000 packages and the jobs
// from bbolt, compare, write 1,000 repairs and audit items. Reports the
// heap in use at the end of a run (peakMB) besides allocations.
func BenchmarkRunNow100k(b *testing.B) {
	s, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.WithLogger(quiet()), store.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := benchInput(100_000)
	for i := 0; i < len(in.Packages); i += 10_000 {
		if err := s.PutPackages(in.Packages[i : i+10_000]...); err != nil {
			b.Fatal(err)
		}
	}
	clk := &fakeClock{t: t0.Add(time.Hour)}
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}})
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	first := true
	cpu0 := cpuTime()
	for b.Loop() {
		start := time.Now()
		res, err := r.RunNow(context.Background(), "L1")
		if err != nil {
			b.Fatal(err)
		}
		if first { // the run that repairs: later runs find nothing left to do
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "firstRunMs")
			if len(res.Repairs) < 790 {
				b.Fatalf("repairs %d", len(res.Repairs))
			}
			first = false
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		if res.Compared != 100_000 {
			b.Fatalf("compared %d", res.Compared)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpuMs/op")
	b.ReportMetric(float64(peak)/(1<<20), "heapMB")
}

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it says more about a run's cost than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
