package engine

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

// BenchmarkDrainAfterOutage queues 20,000 receipts over 2 licenses while
// Metrc is down (503), brings it back, and measures the drain over
// loopback with the client's write pace set to N objects/s in all
// (TRACESYNC_BENCH_PACE, default 400: each license N/2, batches of 10).
// Reported: achieved objects/s and its share of N (goal ≥ 90%), 429s
// answered (goal 0), duplicates in the simulator (must be 0), peak heap in
// use. Run with -benchtime=1x: one iteration is the whole scenario.
func BenchmarkDrainAfterOutage(b *testing.B) {
	pace := 400.0
	if v, err := strconv.ParseFloat(os.Getenv("TRACESYNC_BENCH_PACE"), 64); err == nil && v > 0 {
		pace = v
	}
	total := 20000
	if v, err := strconv.Atoi(os.Getenv("TRACESYNC_BENCH_JOBS")); err == nil && v > 0 {
		total = v
	}
	const licenses = 2
	gap := time.Duration(float64(time.Second) * 10 / (pace / licenses))
	for range b.N {
		b.StopTimer()
		r := newRig(b, rigOptions{licenses: licenses, timeout: 10 * time.Second, writeGap: gap, getRate: 5,
			params: func(p *Params) {
				p.PullInterval = 30 * time.Second
				p.ProbeInterval = 500 * time.Millisecond
				p.BackoffBase, p.BackoffCap = 100*time.Millisecond, 2*time.Second
				p.HealthInterval = time.Second
			}})
		r.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.Outage503, GetRateLimit: 5})
		per := total / licenses
		for _, l := range r.lics {
			for start := 0; start < per; start += 1000 {
				jobs := make([]app.Job, 0, 1000)
				for i := start; i < min(start+1000, per); i++ {
					jobs = append(jobs, r.receipt(b, l.Number, fmt.Sprintf("%s-%06d", l.Number, i), 0.001))
				}
				r.enqueue(b, jobs...)
			}
		}
		runtime.GC()
		var peak atomic.Uint64
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stopSampling:
					return
				case <-t.C:
				}
			}
		}()
		stop := r.run(b)
		time.Sleep(3 * time.Second) // the outage: probes, nothing sent
		if n := r.count("LIC-A", app.StateDone) + r.count("LIC-B", app.StateDone); n != 0 {
			b.Fatalf("%d delivered during the outage", n)
		}
		b.StartTimer()
		back := time.Now()
		r.sim.SetFaults(metrcsim.Faults{GetRateLimit: 5})
		var first time.Time
		deadline := time.Now().Add(time.Duration(float64(total)/pace*3)*time.Second + time.Minute)
		for {
			done := r.count("LIC-A", app.StateDone) + r.count("LIC-B", app.StateDone)
			if done > 0 && first.IsZero() {
				first = time.Now()
			}
			if done == total {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d delivered", done, total)
			}
			time.Sleep(50 * time.Millisecond)
		}
		end := time.Now()
		elapsed := end.Sub(back)
		b.StopTimer()
		stop()
		close(stopSampling)
		<-sampled
		dups := 0
		for _, l := range r.lics {
			for i := range per {
				if n := r.sim.CountReceipts(l.Number, fmt.Sprintf("%s-%06d", l.Number, i)); n != 1 {
					dups++
				}
			}
		}
		st := r.sim.Stats()
		var posts, postDur, gapSum time.Duration
		var nPost, nGap int
		lastStart := map[string]time.Time{}
		for _, c := range r.calls.all() {
			if !strings.HasPrefix(c.Endpoint, "POST") || c.Start.Before(back) {
				continue
			}
			nPost++
			postDur += c.Duration
			posts = max(posts, c.Duration)
			if l, ok := lastStart[c.License]; ok {
				gapSum += c.Start.Sub(l)
				nGap++
			}
			lastStart[c.License] = c.Start
		}
		if nPost > 0 && nGap > 0 {
			b.Logf("%d write requests: mean %v, max %v; mean start-to-start per license %v (pace %v)",
				nPost, postDur/time.Duration(nPost), posts, gapSum/time.Duration(nGap), gap)
		}
		rate := float64(total) / elapsed.Seconds()
		steady := float64(total) / end.Sub(first).Seconds()
		b.ReportMetric(rate, "objects/s")
		b.ReportMetric(100*rate/pace, "%ofpace")
		b.ReportMetric(100*steady/pace, "%ofpace_after_first")
		b.ReportMetric(float64(st.RateLimited), "429s")
		b.ReportMetric(float64(dups), "duplicates")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peakHeapMiB")
		b.Logf("pace %.0f objects/s (write gap %v per license): %d receipts drained in %v from recovery (first delivery after %v): %.1f objects/s = %.1f%% of pace (%.1f%% counted from the first delivery); 429s %d; receipts not held exactly once %d; peak HeapInuse %.1f MiB; sim %v",
			pace, gap, total, elapsed.Round(time.Millisecond), first.Sub(back).Round(time.Millisecond), rate, 100*rate/pace, 100*steady/pace,
			st.RateLimited, dups, float64(peak.Load())/(1<<20), st.Requests)
		if dups != 0 {
			b.Errorf("%d receipts not held exactly once", dups)
		}
	}
}
