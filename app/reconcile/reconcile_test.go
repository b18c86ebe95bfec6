package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/store"
)

var _ Store = (*store.Store)(nil)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "tracesync.db"), store.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var lic = app.License{Number: "L1", Name: "Shop", TimeZone: "America/Los_Angeles"}

func newTest(t testing.TB) (*Reconciler, *store.Store, *fakeClock) {
	s := openStore(t)
	clk := &fakeClock{t: t0.Add(time.Hour)}
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, DataDir: t.TempDir()})
	return r, s, clk
}

func put(t testing.TB, s *store.Store, label string, local, metrc *app.PackageState) {
	t.Helper()
	p := app.Package{License: "L1", Label: label, Local: local, Metrc: metrc}
	if metrc != nil {
		p.PulledAt = t0
	}
	if err := s.PutPackages(p); err != nil {
		t.Fatal(err)
	}
}

func local(t testing.TB, s *store.Store, label string) *app.PackageState {
	t.Helper()
	p, err := s.Package("L1", label)
	if err != nil {
		t.Fatal(err)
	}
	return p.Local
}

func run(t testing.TB, r *Reconciler) Result {
	t.Helper()
	res, err := r.RunNow(context.Background(), "L1")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func openItems(t testing.TB, r *Reconciler) []app.AuditItem {
	t.Helper()
	items, err := r.AuditItems(true)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestRunRepairsAndLogs(t *testing.T) {
	r, s, _ := newTest(t)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Shelf"))
	put(t, s, "B", nil, st("Shake", 3, "Grams", "Vault"))
	put(t, s, "C", st("Flower", 1, "Grams", "Vault"), nil)
	res := run(t, r)
	if len(res.Repairs) != 3 || res.Opened != 1 || res.Open != 1 || res.Compared != 3 {
		t.Fatalf("result %+v", res)
	}
	if l := local(t, s, "A"); l.Quantity != 8 || l.Location != "Shelf" {
		t.Fatalf("A not repaired: %+v", l)
	}
	if l := local(t, s, "B"); l == nil || l.Item != "Shake" {
		t.Fatalf("B not imported: %+v", l)
	}
	reps, _ := r.Repairs(t0, t0.Add(2*time.Hour))
	if len(reps) != 3 || reps[0].Rule != RuleQuantity || reps[0].Before != "10" || reps[0].After != "8" || reps[0].License != "L1" {
		t.Fatalf("repair log %+v", reps)
	}
	// A second run finds nothing new to do.
	if res := run(t, r); len(res.Repairs) != 0 || res.Opened != 0 || res.Open != 1 {
		t.Fatalf("second run %+v", res)
	}
}

func TestAfterPullInterval(t *testing.T) {
	r, s, clk := newTest(t)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Vault"))
	r.AfterPull(context.Background(), "L1")
	if l := local(t, s, "A"); l.Quantity != 8 {
		t.Fatalf("first AfterPull did not run: %+v", l)
	}
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 7, "Grams", "Vault"))
	clk.Add(9 * time.Minute)
	r.AfterPull(context.Background(), "L1")
	if l := local(t, s, "A"); l.Quantity != 10 {
		t.Fatalf("ran before the interval: %+v", l)
	}
	clk.Add(time.Minute)
	r.AfterPull(context.Background(), "L1")
	if l := local(t, s, "A"); l.Quantity != 7 {
		t.Fatalf("did not run after the interval: %+v", l)
	}
}

func TestAuditItemClosesByItself(t *testing.T) {
	r, s, clk := newTest(t)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Shake", 10, "Grams", "Vault"))
	run(t, r)
	items := openItems(t, r)
	if len(items) != 1 || items[0].Kind != app.AuditMislabel || items[0].Local.Item != "Flower" || items[0].Metrc.Item != "Shake" {
		t.Fatalf("items %+v", items)
	}
	first := items[0]
	clk.Add(time.Minute)
	run(t, r)
	items = openItems(t, r)
	if len(items) != 1 || items[0].ID != first.ID || !items[0].LastSeen.After(first.LastSeen) || !items[0].FirstSeen.Equal(first.FirstSeen) {
		t.Fatalf("not the same item seen again: %+v", items)
	}
	// Someone fixes the label in Metrc: the item closes by itself.
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 10, "Grams", "Vault"))
	clk.Add(time.Minute)
	if res := run(t, r); res.Closed != 1 || res.Open != 0 {
		t.Fatalf("result %+v", res)
	}
	all, _ := r.AuditItems(false)
	if len(all) != 1 || all[0].Status != app.AuditClosed || all[0].History[len(all[0].History)-1].Action != "closed" {
		t.Fatalf("closed item %+v", all)
	}
	// The difference comes back: a new item.
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Shake", 10, "Grams", "Vault"))
	run(t, r)
	if items := openItems(t, r); len(items) != 1 || items[0].ID == first.ID {
		t.Fatalf("reopened %+v", items)
	}
}

func TestStaleLabelKeepsItsItem(t *testing.T) {
	r, s, _ := newTest(t)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Shake", 10, "Grams", "Vault"))
	run(t, r)
	p, _ := s.Package("L1", "A")
	p.Metrc = st("Flower", 10, "Grams", "Vault")
	p.LastJobFinished = p.PulledAt.Add(time.Second) // a job finished after the pull
	s.PutPackages(p)
	if res := run(t, r); res.Stale != 1 || res.Closed != 0 || res.Open != 1 {
		t.Fatalf("stale run %+v", res)
	}
}

func TestUndoPinsAndAudits(t *testing.T) {
	r, s, clk := newTest(t)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Vault"))
	res := run(t, r)
	if err := r.Undo(res.Repairs[0].ID); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Package("L1", "A")
	if p.Local.Quantity != 10 || !slices.Equal(p.Pinned, []string{app.FieldQuantity}) {
		t.Fatalf("after undo %+v pinned %v", p.Local, p.Pinned)
	}
	if err := r.Undo(res.Repairs[0].ID); !errors.Is(err, ErrUndone) {
		t.Fatalf("second undo: %v", err)
	}
	clk.Add(time.Minute)
	res = run(t, r)
	items := openItems(t, r)
	if len(res.Repairs) != 0 || len(items) != 1 || items[0].Kind != app.AuditPinned || items[0].Field != app.FieldQuantity {
		t.Fatalf("after undo, run %+v items %+v", res, items)
	}
	if l := local(t, s, "A"); l.Quantity != 10 {
		t.Fatalf("repaired again: %+v", l)
	}
	reps, _ := r.Repairs(t0, t0.Add(3*time.Hour))
	if !reps[0].Undone {
		t.Fatalf("repair not marked undone: %+v", reps[0])
	}
	// Accepting Metrc lifts the pin and logs the change.
	if err := r.AcceptMetrc(items[0].ID); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Package("L1", "A")
	if p.Local.Quantity != 8 || len(p.Pinned) != 0 {
		t.Fatalf("after accept %+v pinned %v", p.Local, p.Pinned)
	}
	if res := run(t, r); len(res.Repairs) != 0 || res.Open != 0 {
		t.Fatalf("after accept %+v", res)
	}
}

func TestUndoImportAndChangedSince(t *testing.T) {
	r, s, _ := newTest(t)
	put(t, s, "B", nil, st("Shake", 3, "Grams", "Vault"))
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Vault"))
	res := run(t, r)
	var imp, qty app.Repair
	for _, x := range res.Repairs {
		if x.Label == "B" {
			imp = x
		} else {
			qty = x
		}
	}
	if err := r.Undo(imp.ID); err != nil {
		t.Fatal(err)
	}
	if l := local(t, s, "B"); l != nil {
		t.Fatalf("import not undone: %+v", l)
	}
	run(t, r)
	if items := openItems(t, r); len(items) != 1 || items[0].Field != app.FieldRecord {
		t.Fatalf("items %+v", items)
	}
	// New work changed A since the repair: undo refuses to overwrite it.
	p, _ := s.Package("L1", "A")
	p.Local.Quantity = 5
	s.PutPackages(p)
	if err := r.Undo(qty.ID); !errors.Is(err, ErrChanged) {
		t.Fatalf("undo over newer work: %v", err)
	}
}

func TestRequeueLocalAndResolve(t *testing.T) {
	r, s, clk := newTest(t)
	// A pending adjustment of -2, and Metrc changed too: a conflict.
	put(t, s, "A", st("Flower", 8, "Grams", "Vault"), st("Flower", 9, "Grams", "Vault"))
	adj, _ := app.NewAdjustJob("L1", time.UTC, app.PackageAdjust{Label: "A", Quantity: -2, UnitOfMeasure: "Grams", AdjustmentReason: "Drying"}, t0, t0)
	if _, err := s.Enqueue(adj); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	items := openItems(t, r)
	if len(items) != 1 || items[0].Kind != app.AuditConflict || items[0].Expected == nil || items[0].Expected.Quantity != 7 {
		t.Fatalf("items %+v", items)
	}
	id, err := r.RequeueLocal(items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Job(id)
	if err != nil || j.Kind != app.KindAdjust || j.State != app.StatePending {
		t.Fatalf("job %+v %v", j, err)
	}
	var body app.PackageAdjust
	decode(t, j.Body, &body)
	if body.Quantity != 1 || body.Label != "A" || body.AdjustmentReason != AdjustReason {
		t.Fatalf("re-queued body %+v", body)
	}
	// Metrc plus both pending jobs now equals the local value.
	clk.Add(time.Minute)
	if res := run(t, r); res.Open != 0 || res.Opened != 0 {
		t.Fatalf("after re-queue %+v", res)
	}
	all, _ := r.AuditItems(false)
	h := all[0].History
	if all[0].Status != app.AuditResolved || h[len(h)-1].Action != "requeued" || h[len(h)-1].JobID != id {
		t.Fatalf("history %+v", all[0])
	}

	// Item and unit cannot be re-queued; resolve with a note instead.
	put(t, s, "M", st("Flower", 1, "Grams", "Vault"), st("Shake", 1, "Grams", "Vault"))
	run(t, r)
	items = openItems(t, r)
	if _, err := r.RequeueLocal(items[0].ID); !errors.Is(err, ErrCannotRequeue) {
		t.Fatalf("re-queue mislabel: %v", err)
	}
	if err := r.Resolve(items[0].ID, ""); !errors.Is(err, ErrNoteRequired) {
		t.Fatalf("resolve without note: %v", err)
	}
	if err := r.Resolve(items[0].ID, "relabelled in Metrc tomorrow"); err != nil {
		t.Fatal(err)
	}
	// The same difference stays resolved; it does not reopen.
	clk.Add(time.Minute)
	if res := run(t, r); res.Open != 0 || res.Opened != 0 {
		t.Fatalf("resolved item reopened: %+v", res)
	}
	if err := r.Resolve(items[0].ID, "again"); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("resolve twice: %v", err)
	}
}

func TestMatchAndEnteredTwice(t *testing.T) {
	r, s, _ := newTest(t)
	loc := time.UTC
	same, _ := app.NewAssemblyJob("L1", loc, app.PackageCreate{Tag: "P1", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams", Location: "Vault"}, t0, t0)
	diff, _ := app.NewAssemblyJob("L1", loc, app.PackageCreate{Tag: "P2", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams", Location: "Vault"}, t0, t0)
	res, err := s.Enqueue(same, diff)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "P1", st("Pre-roll", 4, "Grams", "Vault"), st("Pre-roll", 4, "Grams", "Vault"))
	put(t, s, "P2", st("Pre-roll", 4, "Grams", "Vault"), st("Pre-roll", 6, "Grams", "Vault"))
	out := run(t, r)
	if !slices.Equal(out.Matched, []uint64{res[0].ID}) {
		t.Fatalf("matched %v", out.Matched)
	}
	if j, _ := s.Job(res[0].ID); j.State != app.StateMatched {
		t.Fatalf("job %+v", j)
	}
	items := openItems(t, r)
	if len(items) != 1 || items[0].Kind != app.AuditEnteredTwice || items[0].JobID != res[1].ID || items[0].Why != WhyEnteredTwice {
		t.Fatalf("items %+v", items)
	}
	// Accepting Metrc's version discards the queued one.
	if err := r.AcceptMetrc(items[0].ID); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Job(res[1].ID); j.State != app.StateDiscarded {
		t.Fatalf("job %+v", j)
	}
	if l := local(t, s, "P2"); l.Quantity != 6 {
		t.Fatalf("local %+v", l)
	}
}

func TestMatchSkipsJobBeingSent(t *testing.T) {
	r, s, _ := newTest(t)
	j, _ := app.NewAssemblyJob("L1", time.UTC, app.PackageCreate{Tag: "P1", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams"}, t0, t0)
	res, _ := s.Enqueue(j)
	if _, err := s.Apply(app.Transition{ID: res[0].ID, To: app.StateSending, At: t0}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "P1", st("Pre-roll", 4, "Grams", ""), st("Pre-roll", 4, "Grams", ""))
	if out := run(t, r); len(out.Matched) != 0 {
		t.Fatalf("matched a job being sent: %+v", out)
	}
	if j, _ := s.Job(res[0].ID); j.State != app.StateSending {
		t.Fatalf("job %+v", j)
	}
}

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestActionsOnMissingItem(t *testing.T) {
	r, _, _ := newTest(t)
	if err := r.AcceptMetrc(42); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("accept: %v", err)
	}
	if _, err := r.RequeueLocal(42); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("requeue: %v", err)
	}
	if err := r.Resolve(42, "n"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("resolve: %v", err)
	}
	if err := r.Undo(42); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("undo: %v", err)
	}
}

func TestAcceptLostAndRequeueFinish(t *testing.T) {
	r, s, clk := newTest(t)
	put(t, s, "LOST", st("Flower", 2, "Grams", "Vault"), nil)
	put(t, s, "FIN", with(st("Flower", 0, "Grams", "Vault"), func(p *app.PackageState) { p.Finished = true }), st("Flower", 0, "Grams", "Vault"))
	run(t, r)
	items := openItems(t, r)
	byKind := map[app.AuditKind]app.AuditItem{}
	for _, it := range items {
		byKind[it.Kind] = it
	}
	lost, fin := byKind[app.AuditLost], byKind[app.AuditFinishedHere]
	if lost.ID == 0 || fin.ID == 0 {
		t.Fatalf("items %+v", items)
	}
	// Accepting Metrc's view of a lost package: it leaves the local
	// inventory, logged, and undoable.
	if err := r.AcceptMetrc(lost.ID); err != nil {
		t.Fatal(err)
	}
	if l := local(t, s, "LOST"); l != nil {
		t.Fatalf("still local: %+v", l)
	}
	reps, _ := r.Repairs(t0, t0.Add(3*time.Hour))
	if len(reps) != 1 || reps[0].Label != "LOST" || reps[0].BeforeState == nil {
		t.Fatalf("repairs %+v", reps)
	}
	if err := r.Undo(reps[0].ID); err != nil {
		t.Fatal(err)
	}
	if l := local(t, s, "LOST"); l == nil || l.Quantity != 2 {
		t.Fatalf("undo: %+v", l)
	}
	// Re-queueing a local finish queues a finish job.
	id, err := r.RequeueLocal(fin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Job(id); j.Kind != app.KindFinish {
		t.Fatalf("job %+v", j)
	}
	clk.Add(time.Minute)
	if res := run(t, r); res.Opened != 1 { // LOST is listed again; FIN is explained by the pending finish
		all, _ := r.AuditItems(true)
		t.Fatalf("after: %+v %+v", res, all)
	}
}
