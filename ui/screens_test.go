package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

type fakeImporter struct {
	sum  ImportSummary
	err  error
	read int
}

func (f *fakeImporter) Import(_ context.Context, kind string, r io.Reader, progress func(int)) (ImportSummary, error) {
	b, _ := io.ReadAll(r)
	f.read = len(b)
	progress(strings.Count(string(b), "\n"))
	return f.sum, f.err
}

func TestImportListsEveryBadLine(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	imp := &fakeImporter{sum: ImportSummary{Rows: 3, Problems: []ImportProblem{{Line: 2, Msg: "Quantity \"x\" is not a number"}, {Line: 3, Msg: "unknown license"}}},
		err: errors.New("2 bad lines")}
	s := newImportScreen(imp, func() fyne.Window { return nil })
	test.NewTempWindow(t, s.build())
	s.run("receipts", io.NopCloser(strings.NewReader("h\na\nb\n")), 6)
	if len(s.lines) != 2 || s.lines[0] != "Line 2: Quantity \"x\" is not a number" {
		t.Errorf("lines %q", s.lines)
	}
	if !strings.HasPrefix(s.status.Text, "Nothing was queued: 2 lines to correct") {
		t.Errorf("status %q", s.status.Text)
	}

	// a record queued before with other content concerns no line
	imp.sum = ImportSummary{Rows: 3, Problems: []ImportProblem{{Msg: "S-1 is already queued with different content"}},
		Warnings: []ImportProblem{{Line: 3, Msg: "only 2 in stock"}}}
	s.run("receipts", io.NopCloser(strings.NewReader("h\na\nb\n")), 6)
	if strings.Join(s.lines, "|") != "S-1 is already queued with different content|Line 3 (warning): only 2 in stock" {
		t.Errorf("lines %q", s.lines)
	}

	imp.sum, imp.err = ImportSummary{Rows: 20, Queued: 8, Skipped: 12}, nil
	s.run("receipts", io.NopCloser(strings.NewReader("h\n")), 2)
	if s.status.Text != "8 records queued, 12 already queued. They will be sent when Metrc answers." {
		t.Errorf("status %q", s.status.Text)
	}
}

// fakeReconciler records audit and report actions.
type fakeReconciler struct {
	mu      sync.Mutex
	items   []app.AuditItem
	actions []string
	rep     app.Report
}

func (r *fakeReconciler) AuditItems(open bool) ([]app.AuditItem, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []app.AuditItem
	for _, it := range r.items {
		if !open || it.Status == app.AuditOpen {
			out = append(out, it)
		}
	}
	return out, nil
}
func (r *fakeReconciler) do(s string) {
	r.mu.Lock()
	r.actions = append(r.actions, s)
	r.mu.Unlock()
}
func (r *fakeReconciler) AcceptMetrc(id uint64) error { r.do(fmt.Sprint("accept ", id)); return nil }
func (r *fakeReconciler) RequeueLocal(id uint64) (uint64, error) {
	r.do(fmt.Sprint("requeue ", id))
	return 77, nil
}
func (r *fakeReconciler) Resolve(id uint64, note string) error {
	r.do(fmt.Sprintf("resolve %d %s", id, note))
	return nil
}
func (r *fakeReconciler) Repairs(from, to time.Time) ([]app.Repair, error) { return nil, nil }
func (r *fakeReconciler) Undo(id uint64) error                             { r.do(fmt.Sprint("undo ", id)); return nil }
func (r *fakeReconciler) Outbox() ([]app.OutboxMail, error)                { return nil, nil }
func (r *fakeReconciler) ReportDates() ([]string, error) {
	return []string{"2026-11-26", "2026-11-27"}, nil
}
func (r *fakeReconciler) Report(date string) (app.Report, error) {
	rep := r.rep
	rep.Date = date
	return rep, nil
}

func auditFixture() *fakeReconciler {
	return &fakeReconciler{
		items: []app.AuditItem{{ID: 5, License: "CML-000001", Label: "1A4000000000000000000009", Kind: app.AuditMislabel,
			Local: &app.PackageState{Item: "Blue Dream 3.5g", Quantity: 4, Unit: "Each", Location: "Vault"},
			Metrc: &app.PackageState{Item: "Blue Dream 1g", Quantity: 4, Unit: "Each", Location: "Vault"},
			Why:   "The item differs; tracesync does not guess which one is right.", Status: app.AuditOpen, FirstSeen: testNow.Add(-time.Hour)}},
		rep: app.Report{Licenses: []app.LicenseReport{{License: "CML-000001", Name: "Green Leaf Retail",
			Repairs: []app.Repair{{ID: 9, License: "CML-000001", Label: "1A4000000000000000000001", Field: "quantity", Before: "10", After: "8", At: testNow, Rule: "Metrc changed it, nothing queued here"}}}}},
	}
}

func TestAuditActions(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	rec := auditFixture()
	var w fyne.Window
	s := newAuditScreen(rec, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	w.Resize(fyne.NewSize(1000, 600))
	if len(s.items) != 1 {
		t.Fatalf("%d items", len(s.items))
	}
	s.showDetail(s.items[0])
	text := strings.Join(labels(s.detail), "\n")
	if !strings.Contains(text, "In Metrc: Blue Dream 1g, 4 Each at Vault") || !strings.Contains(text, "does not guess") {
		t.Errorf("detail:\n%s", text)
	}
	test.Tap(findButton(s.detail, "Accept Metrc's values"))
	s.showDetail(s.items[0])
	test.Tap(findButton(s.detail, "Send ours to Metrc"))
	if !strings.Contains(s.status.Text, "") {
		t.Error()
	}
	s.showDetail(s.items[0])
	test.Tap(findButton(s.detail, "Resolve with a note…"))
	dlg := topOverlay(w)
	test.Type(findEntries(dlg)[0], "counted again")
	test.Tap(findButton(dlg, "Resolve"))
	want := "accept 5|requeue 5|resolve 5 counted again"
	if got := strings.Join(rec.actions, "|"); got != want {
		t.Errorf("actions %q, want %q", got, want)
	}
}

func TestReportsUndoAndExport(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	rec := auditFixture()
	var rendered, sent string
	tools := ReportTools{
		Render: func(w io.Writer, rep app.Report, format string) error { rendered = rep.Date + " " + format; return nil },
		Send:   func(_ context.Context, date string) error { sent = date; return nil },
	}
	var w fyne.Window
	s := newReportsScreen(rec, tools, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	w.Resize(fyne.NewSize(1000, 600))
	if s.dates.Selected != "2026-11-27" {
		t.Fatalf("newest date not selected: %q", s.dates.Selected)
	}
	if !strings.Contains(s.summary.Text, "CML-000001 Green Leaf Retail: 1 repair") {
		t.Errorf("summary %q", s.summary.Text)
	}
	test.Tap(findButton(s.repairs, "Undo"))
	test.Tap(findButton(topOverlay(w), "Yes"))
	test.Tap(findButton(w.Content(), "Send by email now"))
	if got := strings.Join(rec.actions, "|"); got != "undo 9" || sent != "2026-11-27" {
		t.Errorf("actions %q, sent %q", got, sent)
	}
	_ = rendered
}

type fakeDemo struct {
	mu  sync.Mutex
	log []string
}

func (d *fakeDemo) rec(s string, on bool) {
	d.mu.Lock()
	d.log = append(d.log, fmt.Sprint(s, on))
	d.mu.Unlock()
}
func (d *fakeDemo) SetOutage(on bool)        { d.rec("outage", on) }
func (d *fakeDemo) SetSlow(on bool)          { d.rec("slow", on) }
func (d *fakeDemo) Set429(on bool)           { d.rec("429", on) }
func (d *fakeDemo) Set500(on bool)           { d.rec("500", on) }
func (d *fakeDemo) SetLostResponses(on bool) { d.rec("lost", on) }
func (d *fakeDemo) SetSales(on bool)         { d.rec("sales", on) }
func (d *fakeDemo) Reset() error             { d.rec("reset", true); return nil }

func TestUIShellDemoSectionsAndPreferences(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{jobs: makeJobs(20), lics: []app.License{{Number: "CML-000001", Name: "Green Leaf Retail", TimeZone: "America/Los_Angeles"}}}
	eng := newFakeEngine(st)
	eng.health = []app.Health{healthOf(app.Orange)}
	demo := &fakeDemo{}
	u := New(a, Params{Engine: eng, Store: st, Reconciler: auditFixture(), Demo: demo, Keyring: &mapKeyring{},
		Importer: &fakeImporter{}, Clock: fixedClock{testNow}})
	defer u.close()
	u.w.Resize(fyne.NewSize(1200, 800))

	text := strings.Join(labels(u.w.Content()), "\n")
	if !strings.Contains(text, "Demo — simulated Metrc, not your data") {
		t.Error("no demo banner")
	}
	for _, sec := range u.sections {
		u.show(sec)
		if u.current != sec || len(u.content.Objects) != 1 {
			t.Errorf("section %s not shown", sec)
		}
	}
	if u.counts[SecQueue] != 1 || u.counts[SecAudit] != 1 {
		t.Errorf("sidebar counts %v", u.counts)
	}
	test.Tap(findButton(u.built[SecDemo], "Reset demo…"))
	test.Tap(findButton(topOverlay(u.w), "Yes"))
	if got := strings.Join(demo.log, ","); got != "resettrue" {
		t.Errorf("demo %q", got)
	}
	u.show(SecQueue)
	if got := a.Preferences().String(prefSection); got != SecQueue {
		t.Errorf("section preference %q", got)
	}
	if size := a.Preferences().FloatList(prefSize); len(size) != 2 || size[0] < 1000 {
		t.Errorf("window size preference %v", size)
	}
	if u.zone("CML-000001").String() != "America/Los_Angeles" {
		t.Errorf("zone %v", u.zone("CML-000001"))
	}

	// a second window remembers the section
	u2 := New(a, Params{Engine: eng, Store: st, Clock: fixedClock{testNow}})
	defer u2.close()
	if u2.current != SecQueue {
		t.Errorf("reopened on %q", u2.current)
	}
}

func TestCloseWithoutTrayAsks(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{}
	eng := newFakeEngine(st)
	quit := 0
	u := New(a, Params{Engine: eng, Store: st, Clock: fixedClock{testNow}, OnQuit: func() { quit++ }})
	u.setupTray()
	if u.tray {
		t.Fatal("tray without a D-Bus session")
	}
	u.onClose()
	dlg := topOverlay(u.w)
	if dlg == nil || !strings.Contains(strings.Join(labels(dlg), " "), "keeps sending your records") {
		t.Fatal("closing did not ask")
	}
	test.Tap(findButton(dlg, "Keep syncing"))
	if quit != 0 {
		t.Error("quit on keep syncing")
	}
	u.onClose()
	test.Tap(findButton(topOverlay(u.w), "Quit"))
	u.quit() // twice is harmless
	if quit != 1 {
		t.Errorf("OnQuit called %d times", quit)
	}
}

// runningDemo also reports the sales switch's state.
type runningDemo struct {
	fakeDemo
	sales bool
}

func (d *runningDemo) SalesRunning() bool { return d.sales }

func TestDemoSalesSwitchShowsRunningSales(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	d := &runningDemo{sales: true}
	s := newDemoScreen(d, func() fyne.Window { return nil })
	root := s.build()
	var sales *widget.Check
	walk(root, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, "Generate sales") {
			sales = c
		}
	})
	if sales == nil || !sales.Checked {
		t.Fatal("sales switch unchecked while sales run")
	}
	if len(d.log) != 0 {
		t.Errorf("showing the state changed it: %q", d.log)
	}
}

// fakeChecker counts "Check now" runs per license.
type fakeChecker struct {
	mu   sync.Mutex
	lics []string
	err  error
}

func (c *fakeChecker) CheckNow(_ context.Context, license string) (int, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lics = append(c.lics, license)
	return 2, 1, c.err
}

func TestAuditReloadsAndChecksNow(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{lics: []app.License{{Number: "CML-000001"}, {Number: "C11-000002"}}}
	eng := newFakeEngine(st)
	rec := &fakeReconciler{}
	chk := &fakeChecker{}
	u := New(a, Params{Engine: eng, Store: st, Reconciler: rec, AuditCheck: chk, Clock: fixedClock{testNow}})
	defer u.close()
	u.show(SecAudit)
	if !strings.HasPrefix(u.audit.status.Text, "No differences") {
		t.Fatalf("status %q", u.audit.status.Text)
	}
	// an item appears: the next health update refreshes the list with the count
	rec.mu.Lock()
	rec.items = auditFixture().items
	rec.mu.Unlock()
	u.onHealth(eng.Health())
	if u.counts[SecAudit] != 1 || len(u.audit.items) != 1 || u.audit.status.Text != "1 item" {
		t.Errorf("count %d, %d items, status %q", u.counts[SecAudit], len(u.audit.items), u.audit.status.Text)
	}
	// shown again after it was hidden: read again
	rec.mu.Lock()
	rec.items = nil
	rec.mu.Unlock()
	u.show(SecStatus)
	u.show(SecAudit)
	if len(u.audit.items) != 0 {
		t.Errorf("%d items after showing the screen again", len(u.audit.items))
	}

	test.Tap(findButton(u.built[SecAudit], "Check now"))
	if got := strings.Join(chk.lics, ","); got != "CML-000001,C11-000002" {
		t.Errorf("checked %q", got)
	}
	if got := u.audit.checkMsg.Text; got != "Checked: 4 repairs, 2 new items." {
		t.Errorf("check message %q", got)
	}
	if u.audit.checkBtn.Disabled() {
		t.Error("button left disabled")
	}
	chk.err = errors.New("connection refused")
	test.Tap(u.audit.checkBtn)
	if got := u.audit.checkMsg.Text; !strings.Contains(got, "CML-000001 could not be checked") {
		t.Errorf("error not reported: %q", got)
	}
}

// The audit feed narrows by license and by a search over label, item and
// reason.
func TestAuditSearchAndLicenseFilter(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	rec := auditFixture()
	rec.items = append(rec.items,
		app.AuditItem{ID: 6, License: "C11-000002", Label: "1A4000000000000000000077", Kind: app.AuditLost,
			Local: &app.PackageState{Item: "Gelato 3.5g", Quantity: 2, Unit: "Each", Location: "Vault"}, Status: app.AuditOpen},
		app.AuditItem{ID: 7, License: "CML-000001", Label: "1A4000000000000000000078", Kind: app.AuditConflict, Status: app.AuditOpen})
	s := newAuditScreen(rec, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	test.NewTempWindow(t, s.build())
	if len(s.items) != 3 || s.status.Text != "3 items" {
		t.Fatalf("%d items, %q", len(s.items), s.status.Text)
	}
	if got := strings.Join(s.license.Options, ","); got != allLicenses+",C11-000002,CML-000001" {
		t.Errorf("license options %q", got)
	}
	test.Type(s.search, "gelato")
	if len(s.items) != 1 || s.items[0].ID != 6 || s.status.Text != "1 item of 3" {
		t.Errorf("search: %d items, %q", len(s.items), s.status.Text)
	}
	s.search.SetText("")
	s.license.SetSelected("CML-000001")
	if len(s.items) != 2 || s.status.Text != "2 items of 3" {
		t.Errorf("license: %d items, %q", len(s.items), s.status.Text)
	}
	test.Type(s.search, "CONFLICTS")
	if len(s.items) != 1 || s.items[0].ID != 7 {
		t.Errorf("license and search: %+v", s.items)
	}
}
