package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

func newTestQueue(t *testing.T, n int) (*queueScreen, *fakeEngine, *fakeStore, fyne.Window) {
	test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{jobs: makeJobs(n)}
	eng := newFakeEngine(st)
	var w fyne.Window
	q := newQueueScreen(eng, st, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return w })
	w = test.NewTempWindow(t, q.build())
	w.Resize(fyne.NewSize(1200, 700))
	q.setLicenses([]string{"C11-000002", "CML-000001"})
	return q, eng, st, w
}

func unfinished(jobs []app.Job, pred func(app.Job) bool) int {
	n := 0
	for _, j := range jobs {
		if !j.State.Final() && j.State != app.StateSending && pred(j) {
			n++
		}
	}
	return n
}

func TestQueueFilters(t *testing.T) {
	q, _, st, _ := newTestQueue(t, 1000)
	all := func(app.Job) bool { return true }
	if got, want := q.pager.rows(), unfinished(st.jobs, all); got != want {
		t.Fatalf("default filter: %d rows, want %d unfinished", got, want)
	}
	j, ok := q.pager.row(0)
	if !ok || j.ID != 1000-1 && j.ID != 1000 && j.ID != 999 && j.State.Final() {
		t.Fatalf("first row %+v %v", j.ID, ok)
	}
	if j.State.Final() {
		t.Errorf("default filter shows a finished job: %s", j.State)
	}

	q.license.SetSelected("C11-000002")
	if got, want := q.pager.rows(), unfinished(st.jobs, func(j app.Job) bool { return j.License == "C11-000002" }); got != want {
		t.Errorf("license filter: %d rows, want %d", got, want)
	}
	q.state.SetSelected(stateWords(app.StateNeedsAttention))
	want := 0
	for _, j := range st.jobs {
		if j.License == "C11-000002" && j.State == app.StateNeedsAttention {
			want++
		}
	}
	if got := q.pager.rows(); got != want {
		t.Errorf("license+state filter: %d rows, want %d", got, want)
	}
	for r := 0; r < q.pager.rows(); r++ {
		j, ok := q.pager.row(r)
		if !ok || j.State != app.StateNeedsAttention || j.License != "C11-000002" {
			t.Fatalf("row %d: %+v (loaded %v)", r, j, ok)
		}
	}

	q.license.SetSelected(allLicenses)
	q.state.SetSelected(filterAll)
	q.search.SetText("R00123")
	if got := q.pager.rows(); got != 1 {
		t.Fatalf("search by receipt: %d rows, want 1", got)
	}
	j, _ = q.pager.row(0)
	if got := q.cellText(j, 3); got != "Receipt R00123" {
		t.Errorf("subject cell %q", got)
	}
	if got := q.cellText(j, 4); got != stateWords(j.State) {
		t.Errorf("state cell %q", got)
	}
}

func TestQueueDetailShowsMetrcVerbatimUnderHint(t *testing.T) {
	q, _, st, _ := newTestQueue(t, 10)
	msg := "Package 1A4000000000000000000001 does not have enough quantity (requested 5, available 2)."
	st.jobs[2].Attempts = []app.Attempt{{At: testNow.Add(-time.Minute), Outcome: "rejected", HTTPStatus: 400, Message: msg}}
	q.onSelect(st.jobs[2].ID)
	text := strings.Join(labels(q.detail), "\n")
	hint := "Metrc says the quantity does not fit what it has for this package."
	hi, mi := strings.Index(text, hint), strings.Index(text, msg)
	if hi < 0 || mi < 0 || hi > mi {
		t.Fatalf("want the hint above Metrc's verbatim message:\n%s", text)
	}
	if !strings.Contains(text, "11:16 — rejected (HTTP 400)") {
		t.Errorf("attempt line missing:\n%s", text)
	}
}

func TestQueueActionsReachEngine(t *testing.T) {
	q, eng, st, w := newTestQueue(t, 10)

	// push all waiting now
	test.Tap(findButton(w.Content(), "Push all waiting now"))
	if len(eng.pushed) != 1 || !eng.pushed[0].All {
		t.Fatalf("push all: %+v", eng.pushed)
	}

	// push one retrying job
	retrying := st.jobs[1]
	q.onSelect(retrying.ID)
	test.Tap(findButton(q.detail, "Push now"))
	if got := eng.pushed[len(eng.pushed)-1]; len(got.IDs) != 1 || got.IDs[0] != retrying.ID {
		t.Errorf("push now: %+v", got)
	}

	// discard needs a confirm and a reason
	na := st.jobs[2]
	q.onSelect(na.ID)
	test.Tap(findButton(q.detail, "Discard…"))
	dlg := topOverlay(w)
	if dlg == nil {
		t.Fatal("no confirm dialog")
	}
	ok := findButton(dlg, "Discard")
	if ok == nil {
		t.Fatal("no Discard button in the dialog")
	}
	if !ok.Disabled() {
		t.Error("discard allowed without a reason")
	}
	test.Type(findEntries(dlg)[0], "duplicate of receipt R00001")
	if ok.Disabled() {
		t.Fatal("discard still disabled with a reason")
	}
	test.Tap(ok)
	if got := eng.discards[na.ID]; got != "duplicate of receipt R00001" {
		t.Errorf("discard reason %q", got)
	}
	if r, _ := st.Job(na.ID); r.State != app.StateDiscarded {
		t.Errorf("state %s", r.State)
	}
	if !strings.Contains(strings.Join(labels(q.detail), "\n"), "Discarded") {
		t.Error("detail not refreshed after discard")
	}
}

func TestQueueEditAndResend(t *testing.T) {
	q, eng, st, w := newTestQueue(t, 10)
	na := st.jobs[7] // needs-attention
	if na.State != app.StateNeedsAttention {
		t.Fatalf("fixture state %s", na.State)
	}
	q.onSelect(na.ID)
	test.Tap(findButton(q.detail, "Edit and resend…"))
	dlg := topOverlay(w)
	es := findEntries(dlg)
	// fields: SalesDateTime, then the transaction's Quantity and UnitOfMeasure
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3 (date, quantity, unit)", len(es))
	}
	es[0].SetText("2026-11-28T09:30:00.000")
	es[1].SetText("2")
	es[2].SetText("Grams")
	test.Tap(findButton(dlg, "Resend"))
	edit, ok := eng.resends[na.ID]
	if !ok {
		t.Fatal("resend not called")
	}
	var r app.SalesReceipt
	if err := json.Unmarshal(edit.Body, &r); err != nil {
		t.Fatal(err)
	}
	if r.SalesDateTime != "2026-11-28T09:30:00.000" || r.Transactions[0].Quantity != 2 || r.Transactions[0].UnitOfMeasure != "Grams" {
		t.Errorf("edited body %s", edit.Body)
	}
	if r.ExternalReceiptNumber != "R00007" {
		t.Errorf("the key field changed: %q", r.ExternalReceiptNumber)
	}
	if want := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC); !edit.BusinessTime.Equal(want) {
		t.Errorf("business time %v, want %v", edit.BusinessTime, want)
	}
}

func TestApplyEditRejectsBadValues(t *testing.T) {
	j := app.Job{Body: []byte(`{"Label":"A","Quantity":1,"UnitOfMeasure":"Grams","AdjustmentReason":"Drying","AdjustmentDate":"2026-11-28"}`)}
	fs, err := editableFields(j.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
	}
	if got := strings.Join(names, ","); got != "Quantity,UnitOfMeasure,AdjustmentDate" {
		t.Fatalf("fields %s", got)
	}
	for _, bad := range [][]string{{"x", "Grams", "2026-11-28"}, {"1", "", "2026-11-28"}, {"1", "Grams", "28/11/2026"}} {
		if _, err := applyEdit(j, fs, bad, time.UTC); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestPager100kRows(t *testing.T) {
	syncAsync(t)
	st := &fakeStore{jobs: makeJobs(100_000)}
	p := newJobPager(st, nil)
	p.setFilter(app.JobFilter{})
	if got := p.rows(); got != 100_000 {
		t.Fatalf("rows %d", got)
	}
	if _, ok := p.row(99_999); !ok {
		// the walk to the last page ran inline; a second look finds it cached
		if _, ok := p.row(99_999); !ok {
			t.Fatal("last row never loaded")
		}
	}
	j, _ := p.row(99_999)
	if j.ID != 100_000 {
		t.Errorf("last row id %d", j.ID)
	}
	p.mu.Lock()
	cached := len(p.pages)
	p.mu.Unlock()
	if cached > p.maxPages {
		t.Errorf("%d pages cached, limit %d", cached, p.maxPages)
	}
	// jumping back re-reads one page, from the remembered cursor
	before := st.lists
	p.row(50_000)
	if d := st.lists - before; d != 1 {
		t.Errorf("jump back read %d pages, want 1", d)
	}
}

func BenchmarkQueueScroll100k(b *testing.B) {
	old := async
	async = func(f func()) { f() }
	defer func() { async = old }()
	st := &fakeStore{jobs: makeJobs(100_000)}
	p := newJobPager(st, nil)
	p.setFilter(app.JobFilter{NewestFirst: true})
	p.row(99_999)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := (i * 37) % 100_000
		if _, ok := p.row(r); !ok {
			p.row(r)
		}
	}
}

var _ = fmt.Sprint
var _ = widget.NewLabel

func TestQueueRefreshShowsEngineChanges(t *testing.T) {
	q, _, st, _ := newTestQueue(t, 10)
	q.state.SetSelected(filterAll)
	q.newest.SetChecked(false)
	j, _ := q.pager.row(0)
	if j.State != app.StatePending {
		t.Fatalf("fixture %s", j.State)
	}
	st.setState(j.ID, app.StateDone)
	q.refresh()
	if j, _ = q.pager.row(0); j.State != app.StateDone {
		t.Errorf("after refresh: %s", j.State)
	}
}

func TestQueueDetailHidesReasonRepeatingMetrc(t *testing.T) {
	q, _, st, _ := newTestQueue(t, 10)
	msg := "Package 1A4000000000000000000001 does not have enough quantity."
	st.jobs[2].State = app.StateNeedsAttention
	st.jobs[2].Attempts = []app.Attempt{{At: testNow.Add(-time.Minute), Outcome: "rejected", HTTPStatus: 400, Message: msg}}
	st.jobs[2].Reason = "Metrc rejected it: " + msg
	q.onSelect(st.jobs[2].ID)
	if text := strings.Join(labels(q.detail), "\n"); strings.Contains(text, "Reason:") {
		t.Errorf("Reason repeats Metrc's message:\n%s", text)
	}
	st.jobs[2].Reason = "entered twice with differences: quantity 5 vs 4"
	q.onSelect(st.jobs[2].ID)
	if text := strings.Join(labels(q.detail), "\n"); !strings.Contains(text, "Reason: entered twice") {
		t.Errorf("Reason that adds something is missing:\n%s", text)
	}
}

func TestQueueDetailClearedWhenJobLeavesList(t *testing.T) {
	q, _, st, _ := newTestQueue(t, 10)
	q.newest.SetChecked(false)
	j, ok := q.pager.row(0)
	if !ok || j.State.Final() {
		t.Fatalf("fixture %+v", j)
	}
	q.onSelect(j.ID)
	if !q.hasSel {
		t.Fatal("no detail")
	}
	st.setState(j.ID, app.StateDone)
	q.lastRefresh = time.Time{}
	q.refresh()
	text := strings.Join(labels(q.detail), "\n")
	if q.hasSel || strings.Contains(text, "What is sent to Metrc") || !strings.Contains(text, "left this list") {
		t.Errorf("detail still shows a job no longer listed:\n%s", text)
	}
	// a job still listed keeps its (fresh) detail
	k, _ := q.pager.row(0)
	q.onSelect(k.ID)
	q.lastRefresh = time.Time{}
	q.refresh()
	if !q.hasSel || q.selected.ID != k.ID {
		t.Errorf("detail of a listed job dropped")
	}
}
