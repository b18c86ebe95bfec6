package app

import (
	"time"
)

// MonitorStore keeps what the engine learns about Metrc itself: outage
// windows, response-time histograms and each license's pull state.
// store.Store implements it.
//
// Every write is one transaction. Lookups of one record return ErrNotFound
// when it is absent; lists return an empty slice and a nil error.
type MonitorStore interface {
	// RecordOutage inserts or replaces the window of w.License that starts
	// at w.Start (the engine rewrites it as calls fail and when it ends).
	RecordOutage(w OutageWindow) error
	// Outages lists the windows of a license ("" = every license) that
	// overlap [from, to), oldest first. A window with a zero End is ongoing.
	Outages(license string, from, to time.Time) ([]OutageWindow, error)

	// AddLatency merges per-minute rows (At truncated to the minute) into
	// the stored minute rows and into their hourly roll-ups, in one
	// transaction, so percentiles over hours and days stay honest.
	AddLatency(rows ...LatencyRow) error
	// LatencyMinutes returns the minute rows of a license ("" = every
	// license, including calls without one) with At in [from, to), by time.
	LatencyMinutes(license string, from, to time.Time) ([]LatencyRow, error)
	// LatencyHours is LatencyMinutes for the hourly roll-ups.
	LatencyHours(license string, from, to time.Time) ([]LatencyRow, error)
	// PruneMonitor deletes minute rows older than MinuteRetention and
	// hourly rows older than HourRetention (counted back from now), and
	// returns how many rows went.
	PruneMonitor(now time.Time) (int, error)

	// PullState returns what the engine last stored for the license, or
	// ErrNotFound before its first pull.
	PullState(license string) (PullState, error)
	// PutPullState stores the license's pull state (whole record).
	PutPullState(p PullState) error
}

// Retention of the latency rows (DESIGN/issue 4: minutes 7 days, hours 90).
const (
	MinuteRetention = 7 * 24 * time.Hour
	HourRetention   = 90 * 24 * time.Hour
)

// PullState is what the engine keeps per license between runs: where the
// incremental pulls continue, when the slower pulls last ran, the last
// failure, and whether Metrc rejected the credentials.
type PullState struct {
	License string `json:"license"`
	// LastPackages and LastTransfers are the upper ends of the last
	// successful change windows: the next pull asks from there (minus a
	// small overlap).
	LastPackages  time.Time `json:"lastPackages"`
	LastTransfers time.Time `json:"lastTransfers"`
	// LastPullOK is when packages and transfers were last both fetched.
	LastPullOK      time.Time `json:"lastPullOk"`
	LastRefData     time.Time `json:"lastRefData"`
	LastFullRefresh time.Time `json:"lastFullRefresh"`
	// LastFailure and LastFailureMsg describe the last failed call of the
	// license (pull, push or probe), in words fit for the hover text.
	LastFailure    time.Time `json:"lastFailure"`
	LastFailureMsg string    `json:"lastFailureMsg,omitempty"`
	// Paused is set when Metrc rejected the credentials (PausedReason says
	// so); a person's pause lives in License.Paused.
	Paused       bool   `json:"paused,omitempty"`
	PausedReason string `json:"pausedReason,omitempty"`
	// Packages and Transfers count what the last pull fetched.
	Packages  int `json:"packages"`
	Transfers int `json:"transfers"`
}

// LatencyBounds are the upper bounds of the fixed histogram buckets; a
// row's Buckets has one more slot for slower calls.
var LatencyBounds = []time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond,
	time.Second, 1500 * time.Millisecond, 2 * time.Second, 3 * time.Second,
	5 * time.Second, 7500 * time.Millisecond, 10 * time.Second,
	15 * time.Second, 20 * time.Second, 30 * time.Second, 45 * time.Second,
	60 * time.Second,
}

// LatencyRow is the response times of one license's calls to one endpoint
// during one minute (or one hour, for roll-ups).
type LatencyRow struct {
	License  string        `json:"license"`
	Endpoint string        `json:"endpoint"`
	At       time.Time     `json:"at"`
	Count    int           `json:"count"`
	Errors   int           `json:"errors"`
	Buckets  []int         `json:"buckets"` // len(LatencyBounds)+1
	Max      time.Duration `json:"max"`
}

// Add counts one call.
func (r *LatencyRow) Add(d time.Duration, failed bool) {
	if len(r.Buckets) != len(LatencyBounds)+1 {
		r.Buckets = make([]int, len(LatencyBounds)+1)
	}
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	r.Buckets[i]++
	r.Count++
	if failed {
		r.Errors++
	}
	if d > r.Max {
		r.Max = d
	}
}

// Merge adds o's counts to r (bucket by bucket: histograms add exactly).
func (r *LatencyRow) Merge(o LatencyRow) {
	if len(r.Buckets) != len(LatencyBounds)+1 {
		r.Buckets = make([]int, len(LatencyBounds)+1)
	}
	for i, c := range o.Buckets {
		if i < len(r.Buckets) {
			r.Buckets[i] += c
		}
	}
	r.Count += o.Count
	r.Errors += o.Errors
	if o.Max > r.Max {
		r.Max = o.Max
	}
}

// Quantile estimates the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket where it falls, never above Max; 0 for an empty row.
func (r LatencyRow) Quantile(q float64) time.Duration {
	if r.Count == 0 {
		return 0
	}
	rank := int(q*float64(r.Count) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	seen := 0
	for i, c := range r.Buckets {
		seen += c
		if seen >= rank {
			if i < len(LatencyBounds) && LatencyBounds[i] < r.Max {
				return LatencyBounds[i]
			}
			return r.Max
		}
	}
	return r.Max
}
