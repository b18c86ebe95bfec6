package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// auditScreen is the inventory-audit feed: differences reconciliation did
// not repair, with accept Metrc / re-queue local / resolve with a note.
type auditScreen struct {
	rec   ReconcileAPI
	clock app.Clock
	zone  func(string) *time.Location
	win   func() fyne.Window

	list     *widget.List
	showAll  *widget.Check
	search   *widget.Entry
	license  *widget.Select
	status   *widget.Label
	detail   *fyne.Container
	all      []app.AuditItem // as read, before the search and license filter
	items    []app.AuditItem // shown
	onChange func()

	// check runs reconciliation on demand ("Check now"); nil hides the
	// button. licenses lists the licenses to check; ctx ends the checks.
	check    AuditChecker
	licenses func() ([]string, error)
	ctx      context.Context
	checkBtn *widget.Button
	checkMsg *widget.Label
}

func newAuditScreen(rec ReconcileAPI, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *auditScreen {
	return &auditScreen{rec: rec, clock: clock, zone: zone, win: win}
}

func (s *auditScreen) build() fyne.CanvasObject {
	if s.rec == nil {
		return widget.NewLabel("The inventory audit is not running in this window.")
	}
	s.status = widget.NewLabel("")
	s.showAll = widget.NewCheck("Show closed and resolved items too", func(bool) { s.load() })
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder("Search label, item or reason")
	s.search.OnChanged = func(string) { s.filter() }
	s.license = widget.NewSelect([]string{allLicenses}, func(string) { s.filter() })
	s.license.SetSelected(allLicenses)
	s.list = widget.NewList(func() int { return len(s.items) },
		func() fyne.CanvasObject { return truncLabel() },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(auditLine(s.items[i])) })
	s.list.OnSelected = func(i widget.ListItemID) { s.showDetail(s.items[i]) }
	s.detail = container.NewVBox(widget.NewLabel("Select an item to see both sides and what you can do."))
	split := container.NewHSplit(s.list, container.NewVScroll(s.detail))
	split.Offset = 0.5
	s.load()
	top := container.NewVBox(container.NewBorder(nil, nil, s.license, s.showAll, s.search), s.status)
	if s.check != nil && s.licenses != nil {
		s.checkBtn = widget.NewButton("Check now", s.onCheckNow)
		s.checkMsg = widget.NewLabel("Compares every license with Metrc now (it also runs every 10 minutes).")
		s.checkMsg.Wrapping = fyne.TextWrapWord
		top.Add(container.NewBorder(nil, nil, s.checkBtn, nil, s.checkMsg))
	}
	return container.NewBorder(top, nil, nil, nil, split)
}

// reload re-reads the feed when the screen is built (new items appeared,
// or the screen is shown again).
func (s *auditScreen) reload() {
	if s.list == nil {
		return
	}
	s.load()
}

// onCheckNow reconciles every license off the UI goroutine and says what
// it found.
func (s *auditScreen) onCheckNow() {
	s.checkBtn.Disable()
	s.checkMsg.SetText("Checking every license with Metrc…")
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	async(func() {
		repairs, opened := 0, 0
		var problems []string
		lics, err := s.licenses()
		if err != nil {
			problems = append(problems, errorLine("The licenses could not be read", err))
		}
		for _, l := range lics {
			r, o, err := s.check.CheckNow(ctx, l)
			repairs, opened = repairs+r, opened+o
			if err != nil {
				problems = append(problems, errorLine(l+" could not be checked", err))
			}
		}
		msg := "Checked: " + plural(repairs, "repair", "repairs") + ", " + plural(opened, "new item", "new items") + "."
		if len(problems) > 0 {
			msg += " " + strings.Join(problems, " ")
		}
		do(func() {
			s.checkBtn.Enable()
			s.checkMsg.SetText(msg)
			if s.onChange != nil {
				s.onChange()
			}
			s.load()
		})
	})
}

func auditLine(it app.AuditItem) string {
	return fmt.Sprintf("%s · %s · %s — %s", it.License, it.Label, auditKindWords(it.Kind), it.Status)
}

func auditKindWords(k app.AuditKind) string {
	switch k {
	case app.AuditMislabel:
		return "item or unit differs"
	case app.AuditLost:
		return "here but not in Metrc"
	case app.AuditConflict:
		return "a queued change conflicts with Metrc"
	case app.AuditEnteredTwice:
		return "entered twice with differences"
	case app.AuditPinned:
		return "a value you restored differs again"
	case app.AuditFinishedHere:
		return "finished here, active in Metrc"
	}
	return string(k)
}

func (s *auditScreen) load() {
	if s.showAll == nil {
		return
	}
	open := !s.showAll.Checked
	async(func() {
		items, err := s.rec.AuditItems(open)
		do(func() {
			if err != nil {
				s.status.SetText(errorLine("The audit feed could not be read", err))
				return
			}
			s.all = items
			s.filter()
		})
	})
}

// filter shows the items of the chosen license that match the search
// (label, item, reason, kind; any case), on the UI goroutine.
func (s *auditScreen) filter() {
	if s.list == nil {
		return
	}
	lics := map[string]bool{}
	var opts []string
	for _, it := range s.all {
		if !lics[it.License] {
			lics[it.License] = true
			opts = append(opts, it.License)
		}
	}
	sort.Strings(opts)
	s.license.Options = append([]string{allLicenses}, opts...)
	lic, q := s.license.Selected, strings.ToLower(strings.TrimSpace(s.search.Text))
	s.items = s.items[:0]
	for _, it := range s.all {
		if lic != allLicenses && lic != "" && it.License != lic {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(auditSearchText(it)), q) {
			continue
		}
		s.items = append(s.items, it)
	}
	switch {
	case len(s.all) == 0:
		s.status.SetText("No differences to look at. Nothing to do.")
	case len(s.items) == len(s.all):
		s.status.SetText(plural(len(s.items), "item", "items"))
	default:
		s.status.SetText(fmt.Sprintf("%s of %d", plural(len(s.items), "item", "items"), len(s.all)))
	}
	s.list.UnselectAll()
	s.list.Refresh()
}

// auditSearchText is what the search box looks in.
func auditSearchText(it app.AuditItem) string {
	t := it.License + " " + it.Label + " " + auditKindWords(it.Kind) + " " + it.Why
	for _, p := range []*app.PackageState{it.Local, it.Metrc} {
		if p != nil {
			t += " " + p.Item + " " + p.Location
		}
	}
	return t
}

func sideText(p *app.PackageState) string {
	if p == nil {
		return "absent"
	}
	var flags []string
	if p.OnHold {
		flags = append(flags, "on hold")
	}
	if p.Finished {
		flags = append(flags, "finished")
	}
	t := fmt.Sprintf("%s, %s %s at %s", p.Item, qty(p.Quantity), p.Unit, p.Location)
	if len(flags) > 0 {
		t += " (" + strings.Join(flags, ", ") + ")"
	}
	return t
}

func (s *auditScreen) showDetail(it app.AuditItem) {
	now, loc := s.clock.Now(), s.zone(it.License)
	why := widget.NewLabel(it.Why)
	why.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{
		widget.NewLabelWithStyle(it.Label+" — "+auditKindWords(it.Kind), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		why,
		widget.NewLabel("Here: " + sideText(it.Local)),
		widget.NewLabel("In Metrc: " + sideText(it.Metrc)),
	}
	if it.Expected != nil {
		objs = append(objs, widget.NewLabel("Metrc after queued changes: "+sideText(it.Expected)))
	}
	if it.JobID != 0 {
		objs = append(objs, widget.NewLabel(fmt.Sprintf("Queued record involved: #%d", it.JobID)))
	}
	objs = append(objs, widget.NewLabel("First seen "+agoAndAt(it.FirstSeen, now, loc, "")))
	if it.Status == app.AuditOpen {
		objs = append(objs, container.NewHBox(
			widget.NewButton("Accept Metrc's values", func() { s.onAccept(it) }),
			widget.NewButton("Send ours to Metrc", func() { s.onRequeue(it) }),
			widget.NewButton("Resolve with a note…", func() { s.onResolve(it) }),
		))
	}
	for _, h := range it.History {
		line := clockTime(h.At, now, loc) + " " + h.Action
		if h.Note != "" {
			line += ": " + h.Note
		}
		objs = append(objs, widget.NewLabel(line))
	}
	s.detail.Objects = objs
	s.detail.Refresh()
}

func (s *auditScreen) act(what string, f func() (string, error)) {
	async(func() {
		msg, err := f()
		do(func() {
			if err != nil {
				showError(s.win(), what, err)
				return
			}
			s.status.SetText(msg)
			s.detail.Objects = nil
			s.detail.Refresh()
			if s.onChange != nil {
				s.onChange()
			}
		})
		s.load()
	})
}

func (s *auditScreen) onAccept(it app.AuditItem) {
	s.act("Accept Metrc", func() (string, error) {
		return "Metrc's values were taken for " + it.Label + ".", s.rec.AcceptMetrc(it.ID)
	})
}

func (s *auditScreen) onRequeue(it app.AuditItem) {
	s.act("Send ours to Metrc", func() (string, error) {
		id, err := s.rec.RequeueLocal(it.ID)
		return fmt.Sprintf("Queued as #%d: our value will be sent to Metrc.", id), err
	})
}

func (s *auditScreen) onResolve(it app.AuditItem) {
	note := widget.NewEntry()
	note.SetPlaceHolder("What you did (required)")
	showForm(s.win(), "Resolve "+it.Label, "Resolve", []*widget.FormItem{widget.NewFormItem("Note", note)}, func() {
		n := strings.TrimSpace(note.Text)
		if n == "" {
			showError(s.win(), "Resolve", fmt.Errorf("a note is required"))
			return
		}
		s.act("Resolve", func() (string, error) { return "Resolved.", s.rec.Resolve(it.ID, n) })
	})
}
