package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/store"
)

// fakeMetrc is a small in-memory Metrc for the engine's own logic tests;
// the proof tests use the simulator and the real client.
type fakeMetrc struct {
	mu       sync.Mutex
	down     error // returned by every call while set
	receipts map[string][]app.SalesReceipt
	calls    []string
	writes   int
	// onWrite, when set, decides the errors of a receipt write (after the
	// receipts were applied when apply is true).
	onWrite func(r []app.SalesReceipt) (errs []error, apply bool)
}

func newFakeMetrc() *fakeMetrc { return &fakeMetrc{receipts: map[string][]app.SalesReceipt{}} }

func (f *fakeMetrc) setDown(err error) { f.mu.Lock(); f.down = err; f.mu.Unlock() }

func (f *fakeMetrc) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.down
}

func (f *fakeMetrc) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakeMetrc) Facilities(ctx context.Context) ([]app.Facility, error) {
	return nil, f.call("facilities")
}
func (f *fakeMetrc) Units(ctx context.Context) ([]app.Unit, error) {
	return []app.Unit{{Name: "Each"}}, f.call("units")
}
func (f *fakeMetrc) Items(ctx context.Context, l string) ([]app.Item, error) {
	return nil, f.call("items")
}
func (f *fakeMetrc) Locations(ctx context.Context, l string) ([]app.Location, error) {
	return nil, f.call("locations")
}
func (f *fakeMetrc) Packages(ctx context.Context, l string, active bool, from, to time.Time) ([]app.MetrcPackage, error) {
	return nil, f.call("packages")
}
func (f *fakeMetrc) PackageByLabel(ctx context.Context, l, label string) (app.MetrcPackage, error) {
	if err := f.call("package"); err != nil {
		return app.MetrcPackage{}, err
	}
	return app.MetrcPackage{}, app.ErrNotFound
}
func (f *fakeMetrc) Adjustments(ctx context.Context, l, label string) ([]app.Adjustment, error) {
	return nil, f.call("adjustments")
}
func (f *fakeMetrc) IncomingTransfers(ctx context.Context, l string, from, to time.Time) ([]app.Transfer, error) {
	return nil, f.call("transfers")
}
func (f *fakeMetrc) ReceiptByExternalNumber(ctx context.Context, l, n string) (app.Receipt, error) {
	if err := f.call("receipt"); err != nil {
		return app.Receipt{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.receipts[l] {
		if r.ExternalReceiptNumber == n {
			return app.Receipt{ExternalReceiptNumber: n, Transactions: r.Transactions}, nil
		}
	}
	return app.Receipt{}, app.ErrNotFound
}
func (f *fakeMetrc) CreatePackages(ctx context.Context, l string, p []app.PackageCreate) []error {
	return f.allErr(len(p), f.call("create"))
}
func (f *fakeMetrc) AdjustPackages(ctx context.Context, l string, a []app.PackageAdjust) []error {
	return f.allErr(len(a), f.call("adjust"))
}
func (f *fakeMetrc) ChangeLocations(ctx context.Context, l string, c []app.LocationChange) []error {
	return f.allErr(len(c), f.call("move"))
}
func (f *fakeMetrc) FinishPackages(ctx context.Context, l string, p []app.PackageFinish) []error {
	return f.allErr(len(p), f.call("finish"))
}
func (f *fakeMetrc) CreateReceipts(ctx context.Context, l string, r []app.SalesReceipt) []error {
	if err := f.call("receipts"); err != nil {
		return f.allErr(len(r), err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	errs, apply := make([]error, len(r)), true
	if f.onWrite != nil {
		errs, apply = f.onWrite(r)
	}
	if apply {
		f.receipts[l] = append(f.receipts[l], r...)
	}
	return errs
}

func (f *fakeMetrc) allErr(n int, err error) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func (f *fakeMetrc) receiptCount(l, ext string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.receipts[l] {
		if r.ExternalReceiptNumber == ext {
			n++
		}
	}
	return n
}

var errRefused = &app.MetrcError{Class: app.ClassNotSent, Err: fmt.Errorf("connection refused")}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// receiptJob builds a one-line receipt job.
func receiptJob(t testing.TB, license, ext, label string, qty float64, now time.Time) app.Job {
	t.Helper()
	j, err := app.NewReceiptJob(license, time.UTC, app.SalesReceipt{
		SalesCustomerType: "Consumer", ExternalReceiptNumber: ext,
		Transactions: []app.SalesTransaction{{PackageLabel: label, Quantity: qty, UnitOfMeasure: "Each", TotalAmount: 10 * qty}},
	}, now, now)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitFor polls cond (sim-time inside bubbles) until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
