package ui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

func newTestInventory(t *testing.T) (*inventoryScreen, *fakeEngine, fyne.Window) {
	test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{ref: app.RefData{Locations: []app.Location{{Name: "Vault"}, {Name: "Sales Floor"}}}}
	for _, l := range []string{"1A4000000000000000000001", "1A4000000000000000000002", "1A4000000000000000000003"} {
		s := &app.PackageState{Item: "Blue Dream 3.5g", Quantity: 10, Unit: "Each", Location: "Vault"}
		st.pkgs = append(st.pkgs, app.Package{License: "CML-000001", Label: l, Local: s, Metrc: s, PulledAt: testNow})
	}
	st.pkgs[2].Metrc = &app.PackageState{Item: "Blue Dream 3.5g", Quantity: 10, Unit: "Each", Location: "Vault", OnHold: true}
	eng := newFakeEngine(st)
	var w fyne.Window
	la, _ := time.LoadLocation("America/Los_Angeles")
	s := newInventoryScreen(eng, st, fixedClock{testNow}, func(string) *time.Location { return la }, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	w.Resize(fyne.NewSize(1100, 600))
	s.setLicenses([]string{"CML-000001"})
	return s, eng, w
}

func TestInventoryListAndSearch(t *testing.T) {
	s, _, _ := newTestInventory(t)
	if n := s.rowCount(); n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
	s.search.SetText("0002")
	if n := s.rowCount(); n != 1 {
		t.Fatalf("search: %d rows, want 1", n)
	}
	p, _ := s.row(0)
	if got := s.cellText(p, 2) + " | " + s.cellText(p, 3); got != "10 Each | 10 Each" {
		t.Errorf("cells %q", got)
	}
}

func TestInventoryActionsQueueJobs(t *testing.T) {
	s, eng, w := newTestInventory(t)
	s.table.Select(widget.TableCellID{Row: 0, Col: 0})

	// adjust: -2.5 with a Metrc reason and a note
	test.Tap(findButton(w.Content(), "Adjust quantity…"))
	dlg := topOverlay(w)
	es := findEntries(dlg)
	test.Type(es[0], "-2.5")
	test.Type(es[1], "dropped jar")
	var sel *widget.Select
	walk(dlg, func(o fyne.CanvasObject) {
		if x, ok := o.(*widget.Select); ok {
			sel = x
		}
	})
	sel.SetSelected("Damage")
	test.Tap(findButton(dlg, "Queue adjustment"))

	// move to the sales floor
	test.Tap(findButton(w.Content(), "Move…"))
	dlg = topOverlay(w)
	var se *widget.SelectEntry
	walk(dlg, func(o fyne.CanvasObject) {
		if x, ok := o.(*widget.SelectEntry); ok {
			se = x
		}
	})
	se.SetText("Sales Floor")
	test.Tap(findButton(dlg, "Queue move"))

	// finish, confirmed
	test.Tap(findButton(w.Content(), "Finish…"))
	test.Tap(findButton(topOverlay(w), "Yes"))

	if len(eng.enqueued) != 3 {
		t.Fatalf("%d jobs queued, want 3", len(eng.enqueued))
	}
	adj, mv, fin := eng.enqueued[0], eng.enqueued[1], eng.enqueued[2]
	var a app.PackageAdjust
	_ = json.Unmarshal(adj.Body, &a)
	if adj.Kind != app.KindAdjust || a.Label != "1A4000000000000000000001" || a.Quantity != -2.5 || a.UnitOfMeasure != "Each" ||
		a.AdjustmentReason != "Damage" || a.ReasonNote != "dropped jar" || a.AdjustmentDate != "2026-11-28" {
		t.Errorf("adjust job %s %s", adj.Kind, adj.Body)
	}
	var m app.LocationChange
	_ = json.Unmarshal(mv.Body, &m)
	if mv.Kind != app.KindChangeLocation || m.Location != "Sales Floor" || m.Label != a.Label {
		t.Errorf("move job %s %s", mv.Kind, mv.Body)
	}
	var f app.PackageFinish
	_ = json.Unmarshal(fin.Body, &f)
	// 11:17 UTC is 03:17 in Los Angeles: same date; the business time is now
	if fin.Kind != app.KindFinish || f.Label != a.Label || f.ActualDate != "2026-11-28" || !fin.BusinessTime.Equal(testNow) {
		t.Errorf("finish job %s %s %v", fin.Kind, fin.Body, fin.BusinessTime)
	}
	for _, j := range eng.enqueued {
		if j.State != app.StatePending || j.License != "CML-000001" || len(j.Reads) != 1 || j.Reads[0] != a.Label {
			t.Errorf("job %+v", j)
		}
	}
	if !strings.Contains(s.status.Text, "queued as #3") {
		t.Errorf("status %q", s.status.Text)
	}
}

func TestInventoryRefusesPackageOnHold(t *testing.T) {
	s, eng, w := newTestInventory(t)
	s.table.Select(widget.TableCellID{Row: 2, Col: 0})
	test.Tap(findButton(w.Content(), "Finish…"))
	text := strings.Join(labels(topOverlay(w)), "\n")
	if !strings.Contains(text, "Metrc holds this package") {
		t.Errorf("no hold message:\n%s", text)
	}
	if len(eng.enqueued) != 0 {
		t.Errorf("queued %d jobs on a held package", len(eng.enqueued))
	}
}

func TestInventoryColumnsFitAndTruncate(t *testing.T) {
	s, _, _ := newTestInventory(t)
	total := float32(0)
	for i, c := range inventoryColumns {
		h := s.table.CreateHeader().(*widget.Label)
		if h.Truncation != fyne.TextTruncateEllipsis {
			t.Errorf("header %q is clipped, not ellipsized", c.title)
		}
		s.table.UpdateHeader(widget.TableCellID{Row: -1, Col: i}, h)
		h.Truncation = fyne.TextTruncateOff // its full width
		if w := h.MinSize().Width; w > c.width {
			t.Errorf("header %q needs %.0f, column is %.0f", c.title, w, c.width)
		}
		total += c.width + theme.Padding()
	}
	// the whole row fits the inventory pane of a 1280 px window (docs/inventory.png)
	if total > 1040 {
		t.Errorf("columns take %.0f px", total)
	}
	l := widget.NewLabel("1A4FF0200000011000000001")
	if w := l.MinSize().Width; w > inventoryColumns[0].width {
		t.Errorf("a package label needs %.0f px", w)
	}
}

func TestAuditRowsEllipsize(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	s := newAuditScreen(auditFixture(), fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	w := test.NewTempWindow(t, s.build())
	w.Resize(fyne.NewSize(600, 400))
	var row *widget.Label
	walk(s.list, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && strings.HasPrefix(l.Text, "CML-000001") {
			row = l
		}
	})
	if row == nil || row.Truncation != fyne.TextTruncateEllipsis {
		t.Fatalf("audit row %+v does not end in an ellipsis", row)
	}
}
