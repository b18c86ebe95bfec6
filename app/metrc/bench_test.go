package metrc

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

// BenchmarkGetRate runs b.N GETs of one facility from 10 goroutines
// against the simulator on 127.0.0.1 with the client's limiter at N/s, and
// reports the achieved rate (between the first and the last request) and
// the most requests seen in any one-second window, at the client (when
// each request left) and at the simulator (when it arrived). It fails when
// the client's rate is above N or more than 5 % below it. Run it with a fixed count,
// e.g. -bench GetRate -benchtime 100x.
func BenchmarkGetRate(b *testing.B) {
	for _, n := range []float64{5, 20, 50} {
		b.Run(fmt.Sprintf("N=%g", n), func(b *testing.B) {
			sim := metrcsim.New(metrcsim.Options{Seed: "empty", VendorKey: testVendor, UserKey: testUser})
			sim.AddLicense(licA, "A")
			sim.AddLocation(licA, "Vault")
			var mu sync.Mutex
			var arrived []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrived = append(arrived, time.Now())
				mu.Unlock()
				sim.ServeHTTP(w, r)
			}))
			defer srv.Close()
			var sent []time.Time
			c, err := New(Options{BaseURL: srv.URL, VendorKey: testVendor, UserKey: testUser, GetRate: n,
				Observer: func(x app.Call) { mu.Lock(); sent = append(sent, x.Start); mu.Unlock() }})
			if err != nil {
				b.Fatal(err)
			}
			if b.N < 2 {
				return // a rate needs two requests
			}
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			b.ResetTimer()
			var wg sync.WaitGroup
			for range DefaultMaxGets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						if _, err := c.Locations(context.Background(), licA); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			mu.Lock()
			defer mu.Unlock()
			cr, cw := rateOf(sent)
			sr, sw := rateOf(arrived)
			b.ReportMetric(cr, "GETs/s")
			b.ReportMetric(float64(cw), "max/1s-client")
			b.ReportMetric(sr, "GETs/s-sim")
			b.ReportMetric(float64(sw), "max/1s-sim")
			if cr > n || cr < 0.95*n {
				b.Errorf("achieved %.3f GETs/s with the limiter at %g/s", cr, n)
			}
			// The one-second window counts are reported, not asserted: the
			// limiter spaces requests when it lets them go, and the
			// scheduler may delay one request after that by milliseconds
			// (2 shared cores), which can put N+1 send times in a window.
		})
	}
}

// rateOf returns the rate between the first and last of ts and the most
// of them in any half-open window of one second.
func rateOf(ts []time.Time) (float64, int) {
	if len(ts) < 2 {
		return 0, len(ts)
	}
	ts = append([]time.Time(nil), ts...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	rate := float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds()
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return rate, most
}
