package ui

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// AdjustReasons are Metrc's package adjustment reasons offered in the
// adjust dialog (Metrc lists them per facility; these are the common ones).
var AdjustReasons = []string{"Drying", "Entry Error", "Inventory Audit", "Scale Variance", "Spoilage", "Theft", "Waste", "Damage", "Mandatory State Destruction"}

var inventoryColumns = []struct {
	title string
	width float32
}{
	{"Label", 220}, {"Item", 170}, {"Here", 110}, {"In Metrc", 110}, {"Location", 140}, {"Notes", 130}, {"Metrc seen", 130},
}

// inventoryScreen lists local packages beside their Metrc snapshot and
// queues adjust, move and finish jobs (works offline: they are queued).
type inventoryScreen struct {
	eng   inventoryEngine
	pkgs  packageReader
	clock app.Clock
	zone  func(string) *time.Location
	win   func() fyne.Window

	license *widget.Select
	search  *widget.Entry
	table   *widget.Table
	status  *widget.Label
	buttons *fyne.Container

	mu    sync.Mutex
	gen   int
	rows  []app.Package
	more  bool
	busy  bool
	query [2]string

	selected    app.Package
	hasSelected bool
	onQueued    func()
}

const inventoryPage = 300

func newInventoryScreen(eng inventoryEngine, pkgs packageReader, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *inventoryScreen {
	return &inventoryScreen{eng: eng, pkgs: pkgs, clock: clock, zone: zone, win: win}
}

func (s *inventoryScreen) build() fyne.CanvasObject {
	s.license = widget.NewSelect(nil, func(string) { s.onFilter() })
	s.license.PlaceHolder = "Choose a license"
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder("Search label, item or location")
	s.search.OnChanged = func(string) { s.onFilter() }
	s.status = widget.NewLabel("")
	s.table = widget.NewTableWithHeaders(
		func() (int, int) { return s.rowCount(), len(inventoryColumns) },
		func() fyne.CanvasObject { return truncLabel() },
		s.updateCell)
	s.table.ShowHeaderColumn = false
	s.table.CreateHeader = func() fyne.CanvasObject {
		l := widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(inventoryColumns[id.Col].title)
		}
	}
	for i, c := range inventoryColumns {
		s.table.SetColumnWidth(i, c.width)
	}
	s.table.OnSelected = func(id widget.TableCellID) {
		if p, ok := s.row(id.Row); ok {
			s.selected, s.hasSelected = p, true
			s.buttons.Show()
			s.status.SetText("Selected " + p.Label)
		}
	}
	s.buttons = container.NewHBox(
		widget.NewButton("Adjust quantity…", func() { s.onAdjust(s.selected) }),
		widget.NewButton("Move…", func() { s.onMove(s.selected) }),
		widget.NewButton("Finish…", func() { s.onFinish(s.selected) }),
	)
	s.buttons.Hide()
	top := container.NewVBox(container.NewBorder(nil, nil, s.license, nil, s.search), s.buttons, s.status)
	return container.NewBorder(top, nil, nil, nil, s.table)
}

// setLicenses fills the license choice (UI goroutine).
func (s *inventoryScreen) setLicenses(ls []string) {
	if s.license == nil {
		return
	}
	s.license.Options = ls
	if s.license.Selected == "" && len(ls) > 0 {
		s.license.SetSelected(ls[0])
		return
	}
	s.license.Refresh()
}

func (s *inventoryScreen) onFilter() {
	if s.table == nil || s.search == nil {
		return
	}
	s.mu.Lock()
	s.gen++
	s.rows, s.more, s.busy = nil, true, false
	s.query = [2]string{s.license.Selected, strings.TrimSpace(s.search.Text)}
	s.mu.Unlock()
	s.hasSelected = false
	s.buttons.Hide()
	s.table.UnselectAll()
	s.loadMore()
	s.table.Refresh()
}

func (s *inventoryScreen) rowCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rows)
	if s.more {
		n++ // a "loading" row that asks for the next page
	}
	return n
}

func (s *inventoryScreen) row(r int) (app.Package, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r < len(s.rows) {
		return s.rows[r], true
	}
	return app.Package{}, false
}

// loadMore reads the next page of packages off the UI goroutine.
func (s *inventoryScreen) loadMore() {
	s.mu.Lock()
	if s.busy || !s.more || s.query[0] == "" {
		s.mu.Unlock()
		return
	}
	s.busy = true
	gen, q := s.gen, s.query
	after := ""
	if n := len(s.rows); n > 0 {
		after = s.rows[n-1].Label
	}
	s.mu.Unlock()
	async(func() {
		ps, err := s.pkgs.Packages(q[0], q[1], after, inventoryPage)
		s.mu.Lock()
		if gen != s.gen {
			s.mu.Unlock()
			return
		}
		s.busy = false
		if err == nil {
			s.rows = append(s.rows, ps...)
			s.more = len(ps) == inventoryPage
		} else {
			s.more = false
		}
		n := len(s.rows)
		s.mu.Unlock()
		do(func() {
			if err != nil {
				s.status.SetText(errorLine("The inventory could not be read", err))
			} else if !s.hasSelected {
				s.status.SetText(plural(n, "package", "packages"))
			}
			s.table.Refresh()
		})
	})
}

func (s *inventoryScreen) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	p, ok := s.row(id.Row)
	if !ok {
		l.SetText("")
		if id.Col == 0 {
			l.SetText("…")
			s.loadMore()
		}
		return
	}
	l.SetText(s.cellText(p, id.Col))
}

func (s *inventoryScreen) cellText(p app.Package, col int) string {
	side := func(st *app.PackageState) string {
		if st == nil {
			return "—"
		}
		return qty(st.Quantity) + " " + st.Unit
	}
	cur := p.Local
	if cur == nil {
		cur = p.Metrc
	}
	switch col {
	case 0:
		return p.Label
	case 1:
		if cur != nil {
			return cur.Item
		}
	case 2:
		return side(p.Local)
	case 3:
		return side(p.Metrc)
	case 4:
		if cur != nil {
			return cur.Location
		}
	case 5:
		var n []string
		if cur != nil && cur.OnHold {
			n = append(n, "on hold")
		}
		if cur != nil && cur.Finished {
			n = append(n, "finished")
		}
		if p.Metrc == nil {
			n = append(n, "not in Metrc yet")
		} else if p.Local != nil && (p.Local.Quantity != p.Metrc.Quantity || p.Local.Location != p.Metrc.Location) {
			n = append(n, "differs")
		}
		return strings.Join(n, ", ")
	case 6:
		if p.PulledAt.IsZero() {
			return "never"
		}
		return clockTime(p.PulledAt, s.clock.Now(), s.zone(p.License))
	}
	return ""
}

// current is the package's present state (local first, else Metrc's).
func current(p app.Package) app.PackageState {
	if p.Local != nil {
		return *p.Local
	}
	if p.Metrc != nil {
		return *p.Metrc
	}
	return app.PackageState{}
}

// onAdjust asks for a signed quantity, one of Metrc's reasons and a note.
func (s *inventoryScreen) onAdjust(p app.Package) {
	if err := app.CheckWritable(p); err != nil {
		showError(s.win(), "Adjust", err)
		return
	}
	cur := current(p)
	amount := widget.NewEntry()
	amount.SetPlaceHolder("e.g. -2.5 or 10")
	reason := widget.NewSelect(AdjustReasons, nil)
	note := widget.NewEntry()
	note.SetPlaceHolder("Why (kept in Metrc)")
	d := dialog.NewForm("Adjust "+p.Label, "Queue adjustment", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Now", widget.NewLabel(qty(cur.Quantity)+" "+cur.Unit)),
		widget.NewFormItem("Change by ("+cur.Unit+")", amount),
		widget.NewFormItem("Reason", reason),
		widget.NewFormItem("Note", note),
	}, func(ok bool) {
		if !ok {
			return
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(amount.Text), 64)
		if err != nil || q == 0 {
			showError(s.win(), "Adjust", fmt.Errorf("the change %q is not a number other than 0", amount.Text))
			return
		}
		if reason.Selected == "" {
			showError(s.win(), "Adjust", fmt.Errorf("choose one of Metrc's adjustment reasons"))
			return
		}
		s.adjust(p, q, reason.Selected, strings.TrimSpace(note.Text))
	}, s.win())
	d.Resize(fyne.NewSize(460, 300))
	d.Show()
}

func (s *inventoryScreen) adjust(p app.Package, q float64, reason, note string) {
	now := s.clock.Now()
	j, err := app.NewAdjustJob(p.License, s.zone(p.License), app.PackageAdjust{
		Label: p.Label, Quantity: q, UnitOfMeasure: current(p).Unit, AdjustmentReason: reason, ReasonNote: note,
	}, now, now)
	s.enqueue("Adjust", j, err)
}

// onMove asks for a location (Metrc's list when pulled, else free text).
func (s *inventoryScreen) onMove(p app.Package) {
	if err := app.CheckWritable(p); err != nil {
		showError(s.win(), "Move", err)
		return
	}
	async(func() {
		ref, _ := s.pkgs.RefData(p.License)
		do(func() {
			names := make([]string, 0, len(ref.Locations))
			for _, l := range ref.Locations {
				names = append(names, l.Name)
			}
			loc := widget.NewSelectEntry(names)
			loc.SetPlaceHolder("Location")
			d := dialog.NewForm("Move "+p.Label, "Queue move", "Cancel", []*widget.FormItem{
				widget.NewFormItem("Now at", widget.NewLabel(current(p).Location)),
				widget.NewFormItem("Move to", loc),
			}, func(ok bool) {
				to := strings.TrimSpace(loc.Text)
				if !ok || to == "" {
					return
				}
				s.move(p, to)
			}, s.win())
			d.Resize(fyne.NewSize(420, 220))
			d.Show()
		})
	})
}

func (s *inventoryScreen) move(p app.Package, to string) {
	now := s.clock.Now()
	j, err := app.NewMoveJob(p.License, s.zone(p.License), app.LocationChange{Label: p.Label, Location: to}, now, now)
	s.enqueue("Move", j, err)
}

func (s *inventoryScreen) onFinish(p app.Package) {
	if err := app.CheckWritable(p); err != nil {
		showError(s.win(), "Finish", err)
		return
	}
	dialog.ShowConfirm("Finish "+p.Label+"?",
		"The package will be marked finished in Metrc (sent as soon as Metrc answers).",
		func(ok bool) {
			if ok {
				s.finish(p)
			}
		}, s.win())
}

func (s *inventoryScreen) finish(p app.Package) {
	now := s.clock.Now()
	j, err := app.NewFinishJob(p.License, s.zone(p.License), app.PackageFinish{Label: p.Label}, now, now)
	s.enqueue("Finish", j, err)
}

// enqueue stores the job off the UI goroutine and says what happened.
func (s *inventoryScreen) enqueue(what string, j app.Job, err error) {
	if err != nil {
		showError(s.win(), what, err)
		return
	}
	async(func() {
		res, err := s.eng.Enqueue(j)
		do(func() {
			if err != nil {
				showError(s.win(), what, err)
				return
			}
			msg := what + " queued"
			if len(res) > 0 {
				msg = fmt.Sprintf("%s queued as #%d — it is saved here and will be sent when Metrc answers.", what, res[0].ID)
			}
			s.status.SetText(msg)
			if s.onQueued != nil {
				s.onQueued()
			}
		})
	})
}
