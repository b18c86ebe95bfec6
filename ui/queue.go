package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// state filter choices of the Queue screen.
const (
	filterUnfinished = "Not yet in Metrc"
	filterAll        = "All"
	allLicenses      = "All licenses"
)

var queueStateChoices = []struct {
	name   string
	states []app.JobState
}{
	{filterUnfinished, []app.JobState{app.StatePending, app.StateSending, app.StateRetrying, app.StateUnknown, app.StateNeedsAttention}},
	{stateWords(app.StateNeedsAttention), []app.JobState{app.StateNeedsAttention}},
	{stateWords(app.StateRetrying), []app.JobState{app.StateRetrying}},
	{stateWords(app.StateUnknown), []app.JobState{app.StateUnknown}},
	{stateWords(app.StatePending), []app.JobState{app.StatePending}},
	{stateWords(app.StateDone), []app.JobState{app.StateDone}},
	{stateWords(app.StateMatched), []app.JobState{app.StateMatched}},
	{stateWords(app.StateDiscarded), []app.JobState{app.StateDiscarded}},
	{filterAll, nil},
}

var queueColumns = []struct {
	title string
	width float32
}{
	{"#", 56}, {"License", 105}, {"What", 105}, {"Label / receipt", 200}, {"State", 125}, {"Tries", 48}, {"Last error", 200}, {"Updated", 80},
}

// queueScreen lists every job with filters, search and a detail pane.
type queueScreen struct {
	eng   queueEngine
	jobs  jobReader
	clock app.Clock
	zone  func(string) *time.Location
	win   func() fyne.Window

	pager    *jobPager
	table    *widget.Table
	license  *widget.Select
	state    *widget.Select
	search   *widget.Entry
	newest   *widget.Check
	status   *widget.Label
	detail   *fyne.Container
	selected app.Job
	hasSel   bool

	lastRefresh time.Time

	// onChange is called after an action changed jobs (sidebar counts).
	onChange func()
}

func newQueueScreen(eng queueEngine, jobs jobReader, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *queueScreen {
	q := &queueScreen{eng: eng, jobs: jobs, clock: clock, zone: zone, win: win}
	q.pager = newJobPager(jobs, func() { do(q.refreshRows) })
	return q
}

func (q *queueScreen) build() fyne.CanvasObject {
	q.license = widget.NewSelect([]string{allLicenses}, func(string) { q.onFilter() })
	q.license.SetSelected(allLicenses)
	names := make([]string, len(queueStateChoices))
	for i, c := range queueStateChoices {
		names[i] = c.name
	}
	q.state = widget.NewSelect(names, func(string) { q.onFilter() })
	q.state.SetSelected(filterUnfinished)
	q.search = widget.NewEntry()
	q.search.SetPlaceHolder("Search by label or receipt number")
	q.search.OnChanged = func(string) { q.onFilter() }
	q.newest = widget.NewCheck("Newest first", func(bool) { q.onFilter() })
	q.newest.SetChecked(true)
	pushAll := widget.NewButton("Push all waiting now", q.onPushAll)
	q.status = widget.NewLabel("")

	q.table = widget.NewTableWithHeaders(
		func() (int, int) { return q.pager.rows(), len(queueColumns) },
		func() fyne.CanvasObject { return truncLabel() },
		q.updateCell)
	q.table.ShowHeaderColumn = false
	q.table.CreateHeader = func() fyne.CanvasObject {
		b := widget.NewButton("", nil)
		b.Importance = widget.LowImportance
		return b
	}
	q.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		b := o.(*widget.Button)
		if id.Col < 0 {
			return
		}
		b.SetText(queueColumns[id.Col].title)
		b.OnTapped = nil
		if id.Col == 0 { // the store pages by id: that order can be flipped
			if q.newest.Checked {
				b.SetText("# ↓")
			} else {
				b.SetText("# ↑")
			}
			b.OnTapped = func() { q.newest.SetChecked(!q.newest.Checked) }
		}
	}
	for i, c := range queueColumns {
		q.table.SetColumnWidth(i, c.width)
	}
	q.table.OnSelected = func(id widget.TableCellID) {
		if j, ok := q.pager.row(id.Row); ok {
			q.onSelect(j.ID)
		}
	}
	q.detail = container.NewVBox(widget.NewLabel("Select a record to see its details."))

	h := q.state.MinSize().Height
	filters := container.NewHBox(container.NewGridWrap(fyne.NewSize(180, h), q.license),
		container.NewGridWrap(fyne.NewSize(210, h), q.state), q.newest, pushAll)
	top := container.NewVBox(filters, q.search, q.status)
	split := container.NewVSplit(q.table, container.NewVScroll(q.detail))
	split.Offset = 0.55
	q.onFilter()
	return container.NewBorder(top, nil, nil, nil, split)
}

// refresh re-reads the visible rows and the open detail (the engine
// changed jobs); at most every 2 s.
func (q *queueScreen) refresh() {
	if q.table == nil {
		return
	}
	now := time.Now()
	if now.Sub(q.lastRefresh) < 2*time.Second {
		return
	}
	q.lastRefresh = now
	q.pager.refresh()
	// rows may shift (newest first): drop the highlight, keep the detail
	q.table.UnselectAll()
	q.refreshRows()
	if q.hasSel {
		q.reselect(q.selected.ID)
	}
}

// reselect re-reads the selected job: its fresh state when it is still in
// the filtered list, else the detail is cleared so row and detail agree.
func (q *queueScreen) reselect(id uint64) {
	async(func() {
		j, err := q.jobs.Job(id)
		var waiting uint64
		if err == nil && !j.State.Final() {
			waiting, _ = q.jobs.WaitingOn(id)
		}
		do(func() {
			switch {
			case !q.hasSel || q.selected.ID != id:
				// another record was chosen meanwhile
			case err != nil:
				q.showDetailError(err)
			case !q.inFilter(j):
				q.clearDetail(fmt.Sprintf("#%d left this list: it is now \"%s\". Select a record to see its details.",
					j.ID, stateWords(j.State)))
			default:
				q.showDetail(j, waiting)
			}
		})
	})
}

// setLicenses fills the license filter (UI goroutine).
func (q *queueScreen) setLicenses(ls []string) {
	if q.license == nil {
		return
	}
	q.license.Options = append([]string{allLicenses}, ls...)
	q.license.Refresh()
}

func (q *queueScreen) filter() app.JobFilter {
	f := app.JobFilter{NewestFirst: q.newest.Checked, Search: strings.TrimSpace(q.search.Text)}
	if l := q.license.Selected; l != "" && l != allLicenses {
		f.License = l
	}
	for _, c := range queueStateChoices {
		if c.name == q.state.Selected {
			f.States = c.states
		}
	}
	return f
}

func (q *queueScreen) onFilter() {
	if q.table == nil || q.newest == nil || q.search == nil || q.state == nil {
		return
	}
	q.pager.setFilter(q.filter())
	q.table.UnselectAll()
	q.table.ScrollToTop()
	q.refreshRows()
	if q.hasSel && q.detail != nil {
		q.reselect(q.selected.ID)
	}
}

func (q *queueScreen) refreshRows() {
	if q.table == nil {
		return
	}
	if err := q.pager.loadErr(); err != nil {
		q.status.SetText(errorLine("The list could not be read", err))
	} else {
		q.status.SetText(plural(q.pager.rows(), "record", "records"))
	}
	q.table.Refresh()
}

func (q *queueScreen) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	j, ok := q.pager.row(id.Row)
	if !ok {
		if id.Col == 0 {
			l.SetText("…")
		} else {
			l.SetText("")
		}
		return
	}
	l.SetText(q.cellText(j, id.Col))
}

func (q *queueScreen) cellText(j app.Job, col int) string {
	switch col {
	case 0:
		return "#" + strconv.FormatUint(j.ID, 10)
	case 1:
		return j.License
	case 2:
		return kindWords(j.Kind)
	case 3:
		return jobSubject(j)
	case 4:
		return stateWords(j.State)
	case 5:
		return strconv.Itoa(len(j.Attempts))
	case 6:
		return firstLine(j.LastError(), 60)
	case 7:
		return clockTime(j.Updated, q.clock.Now(), q.zone(j.License))
	}
	return ""
}

// jobSubject is what the job is about: the receipt number or the labels.
func jobSubject(j app.Job) string {
	if j.Kind == app.KindSalesReceipt {
		if i := strings.LastIndex(j.Key, "/receipt/"); i >= 0 {
			return "Receipt " + j.Key[i+len("/receipt/"):]
		}
	}
	labels := append(append([]string(nil), j.Creates...), j.Reads...)
	if len(labels) == 0 {
		return j.Key
	}
	if len(labels) > 2 {
		return strings.Join(labels[:2], ", ") + fmt.Sprintf(" +%d", len(labels)-2)
	}
	return strings.Join(labels, ", ")
}

// truncLabel is a table cell: long text ends in "…" instead of spilling
// into the next column.
func truncLabel() fyne.CanvasObject {
	l := widget.NewLabel("")
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

func firstLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// onSelect loads the job and what it waits on, then shows the detail.
func (q *queueScreen) onSelect(id uint64) {
	async(func() {
		j, err := q.jobs.Job(id)
		var waiting uint64
		if err == nil && !j.State.Final() {
			waiting, _ = q.jobs.WaitingOn(id)
		}
		do(func() {
			if err != nil {
				q.showDetailError(err)
				return
			}
			q.showDetail(j, waiting)
		})
	})
}

func (q *queueScreen) showDetailError(err error) {
	q.hasSel = false
	q.detail.Objects = []fyne.CanvasObject{widget.NewLabel(errorLine("This record could not be read", err))}
	q.detail.Refresh()
}

// showDetail fills the detail pane: hint, Metrc's words verbatim, attempts,
// body and the actions the state allows.
func (q *queueScreen) showDetail(j app.Job, waitingOn uint64) {
	q.selected, q.hasSel = j, true
	now, loc := q.clock.Now(), q.zone(j.License)
	title := widget.NewLabelWithStyle(fmt.Sprintf("#%d %s — %s", j.ID, kindWords(j.Kind), stateWords(j.State)),
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel(jobHint(j))
	hint.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{title, widget.NewLabel(j.License + " · " + jobSubject(j)), hint}
	if waitingOn != 0 {
		objs = append(objs, widget.NewLabel(fmt.Sprintf("Waiting on #%d (it changes a package this one uses).", waitingOn)))
	}
	if a := j.LastAttempt(); a.Message != "" {
		objs = append(objs, widget.NewLabelWithStyle("Metrc's message:", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		verbatim := widget.NewLabelWithStyle(a.Message, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		verbatim.Wrapping = fyne.TextWrapWord
		objs = append(objs, verbatim)
	}
	if j.Reason != "" && !reasonRepeats(j.Reason, j.LastAttempt().Message) {
		r := widget.NewLabel("Reason: " + j.Reason)
		r.Wrapping = fyne.TextWrapWord
		objs = append(objs, r)
	}
	objs = append(objs, q.actions(j)...)
	objs = append(objs, widget.NewLabelWithStyle("Attempts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	if len(j.Attempts) == 0 {
		objs = append(objs, widget.NewLabel("Not sent yet."))
	}
	for _, a := range j.Attempts {
		line := clockTime(a.At, now, loc) + " — " + a.Outcome
		if a.HTTPStatus != 0 {
			line += fmt.Sprintf(" (HTTP %d)", a.HTTPStatus)
		}
		if a.Message != "" {
			line += ": " + a.Message
		}
		l := widget.NewLabel(line)
		l.Wrapping = fyne.TextWrapWord
		objs = append(objs, l)
	}
	if !j.NextAttempt.IsZero() && (j.State == app.StatePending || j.State == app.StateRetrying) {
		objs = append(objs, widget.NewLabel("Next try: "+clockTime(j.NextAttempt, now, loc)))
	}
	objs = append(objs, widget.NewLabel("Queued "+agoAndAt(j.Created, now, loc, "")))
	objs = append(objs, widget.NewLabelWithStyle("What is sent to Metrc", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	objs = append(objs, widget.NewLabelWithStyle(prettyJSON(j.Body), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}))
	q.detail.Objects = objs
	q.detail.Refresh()
}

// reasonRepeats reports whether a job's Reason says nothing Metrc's
// message does not already say (e.g. "Metrc rejected it: <the message>").
func reasonRepeats(reason, msg string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	m := norm(msg)
	if m == "" {
		return false
	}
	r := strings.TrimPrefix(norm(reason), "metrc rejected it:")
	r = strings.Trim(r, " .:;-—")
	return r == "" || strings.Contains(m, r)
}

// inFilter reports whether j belongs to the list the filters select (state
// and license; a search is not re-checked here).
func (q *queueScreen) inFilter(j app.Job) bool {
	f := q.filter()
	if f.License != "" && j.License != f.License {
		return false
	}
	if len(f.States) == 0 {
		return true
	}
	for _, s := range f.States {
		if j.State == s {
			return true
		}
	}
	return false
}

// clearDetail empties the detail pane, saying why when why is not empty.
func (q *queueScreen) clearDetail(why string) {
	q.hasSel = false
	if why == "" {
		why = "Select a record to see its details."
	}
	l := widget.NewLabel(why)
	l.Wrapping = fyne.TextWrapWord
	q.detail.Objects = []fyne.CanvasObject{l}
	q.detail.Refresh()
}

func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func (q *queueScreen) actions(j app.Job) []fyne.CanvasObject {
	var btns []fyne.CanvasObject
	switch j.State {
	case app.StatePending, app.StateRetrying, app.StateUnknown:
		btns = append(btns, widget.NewButton("Push now", func() { q.onPushJob(j.ID) }))
	}
	if j.State == app.StateNeedsAttention {
		btns = append(btns, widget.NewButton("Edit and resend…", func() { q.onEdit(j) }))
	}
	switch j.State {
	case app.StatePending, app.StateRetrying, app.StateNeedsAttention:
		btns = append(btns, widget.NewButton("Discard…", func() { q.onDiscard(j) }))
	}
	if len(btns) == 0 {
		return nil
	}
	return []fyne.CanvasObject{container.NewHBox(btns...)}
}

// afterAction re-reads the job, refreshes its row and the detail.
func (q *queueScreen) afterAction(id uint64, what string, err error) {
	if err != nil {
		do(func() { showError(q.win(), what, err) })
	}
	j, jerr := q.jobs.Job(id)
	do(func() {
		if jerr == nil {
			if row, ok := q.pager.replace(j); ok {
				q.table.RefreshItem(widget.TableCellID{Row: row, Col: 4})
				q.table.RefreshItem(widget.TableCellID{Row: row, Col: 5})
				q.table.RefreshItem(widget.TableCellID{Row: row, Col: 6})
			}
			if q.hasSel && q.selected.ID == id {
				q.showDetail(j, 0)
			}
		}
		if q.onChange != nil {
			q.onChange()
		}
	})
}

func (q *queueScreen) onPushJob(id uint64) {
	async(func() {
		_, err := q.eng.PushNow(app.DueSelector{IDs: []uint64{id}})
		q.afterAction(id, "Push now", err)
	})
}

func (q *queueScreen) onPushAll() {
	async(func() {
		n, err := q.eng.PushNow(app.DueSelector{All: true})
		do(func() {
			if err != nil {
				showError(q.win(), "Push all now", err)
				return
			}
			q.status.SetText(plural(n, "record", "records") + " will be sent now.")
		})
	})
}

// onDiscard asks once, with a required reason.
func (q *queueScreen) onDiscard(j app.Job) {
	reason := widget.NewEntry()
	reason.SetPlaceHolder("Why it should not be sent (required)")
	reason.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("a reason is required")
		}
		return nil
	}
	msg := widget.NewLabel(fmt.Sprintf("#%d will never be sent to Metrc. Records that use its package will need attention.", j.ID))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewForm("Discard this record?", "Discard", "Keep it",
		[]*widget.FormItem{widget.NewFormItem("", msg), widget.NewFormItem("Reason", reason)},
		func(ok bool) {
			if ok {
				q.discard(j.ID, strings.TrimSpace(reason.Text))
			}
		}, q.win())
	d.Resize(fyne.NewSize(460, 240))
	d.Show()
}

func (q *queueScreen) discard(id uint64, reason string) {
	async(func() {
		err := q.eng.Discard(id, reason)
		q.afterAction(id, "Discard", err)
	})
}

// onEdit lets a person correct a needs-attention job's fields and resend.
func (q *queueScreen) onEdit(j app.Job) {
	fields, err := editableFields(j.Body)
	if err != nil {
		showError(q.win(), "Edit", err)
		return
	}
	items := make([]*widget.FormItem, 0, len(fields))
	entries := make([]*widget.Entry, len(fields))
	for i, f := range fields {
		e := widget.NewEntry()
		e.SetText(f.value)
		entries[i] = e
		items = append(items, widget.NewFormItem(f.label, e))
	}
	d := dialog.NewForm(fmt.Sprintf("Correct #%d and resend", j.ID), "Resend", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		vals := make([]string, len(entries))
		for i, e := range entries {
			vals[i] = strings.TrimSpace(e.Text)
		}
		edit, err := applyEdit(j, fields, vals, q.zone(j.License))
		if err != nil {
			showError(q.win(), "Edit", err)
			return
		}
		q.resend(j.ID, edit)
	}, q.win())
	d.Resize(fyne.NewSize(460, 120+float32(len(fields))*48))
	d.Show()
}

func (q *queueScreen) resend(id uint64, edit app.JobEdit) {
	async(func() {
		err := q.eng.Resend(id, edit)
		q.afterAction(id, "Resend", err)
	})
}

// editField is one editable value of a job body: a top-level field, or a
// field of one line of an array (receipt transactions, ingredients).
type editField struct {
	label string
	array string // "" = top-level
	index int
	name  string
	value string
	num   bool
}

var editableNames = []struct {
	name, label string
	num         bool
}{
	{"Item", "Item", false}, {"Quantity", "Quantity", true}, {"UnitOfMeasure", "Unit", false},
	{"Location", "Location", false}, {"ActualDate", "Date", false}, {"AdjustmentDate", "Date", false},
	{"MoveDate", "Date", false}, {"SalesDateTime", "Sold at", false},
}

// editableFields lists the quantity, unit, location, date and item fields
// of a body (never the tag, label or receipt number: the key must not change).
func editableFields(body []byte) ([]editField, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("read job body: %w", err)
	}
	var out []editField
	add := func(obj map[string]any, array string, idx int, prefix string) {
		for _, n := range editableNames {
			v, ok := obj[n.name]
			if !ok {
				continue
			}
			out = append(out, editField{label: prefix + n.label, array: array, index: idx, name: n.name, value: fmt.Sprint(v), num: n.num})
		}
	}
	add(m, "", 0, "")
	for _, arr := range []string{"Transactions", "Ingredients"} {
		lines, _ := m[arr].([]any)
		for i, l := range lines {
			obj, _ := l.(map[string]any)
			name, _ := obj["PackageLabel"].(string)
			if name == "" {
				name, _ = obj["Package"].(string)
			}
			add(obj, arr, i, fmt.Sprintf("%s %s: ", strings.TrimSuffix(arr, "s"), name))
		}
	}
	return out, nil
}

// applyEdit writes the person's values into the body and recomputes the
// business time when a date changed.
func applyEdit(j app.Job, fields []editField, vals []string, loc *time.Location) (app.JobEdit, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(j.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return app.JobEdit{}, fmt.Errorf("read job body: %w", err)
	}
	business := j.BusinessTime
	for i, f := range fields {
		obj := m
		if f.array != "" {
			lines, _ := m[f.array].([]any)
			if f.index >= len(lines) {
				continue
			}
			obj, _ = lines[f.index].(map[string]any)
		}
		v := vals[i]
		if f.num {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return app.JobEdit{}, fmt.Errorf("%s %q is not a number: %w", f.label, v, err)
			}
			obj[f.name] = x
			continue
		}
		if v == "" {
			return app.JobEdit{}, fmt.Errorf("%s is empty", f.label)
		}
		switch f.name {
		case "ActualDate", "AdjustmentDate", "MoveDate":
			t, err := time.ParseInLocation(app.DateLayout, v, loc)
			if err != nil {
				return app.JobEdit{}, fmt.Errorf("%s %q is not a date like 2026-11-28: %w", f.label, v, err)
			}
			if v != fmt.Sprint(obj[f.name]) {
				business = t
			}
		case "SalesDateTime":
			t, err := time.ParseInLocation(app.SalesDateTimeLayout, v, loc)
			if err != nil {
				return app.JobEdit{}, fmt.Errorf("%s %q is not a time like 2026-11-28T14:05:00.000: %w", f.label, v, err)
			}
			if v != fmt.Sprint(obj[f.name]) {
				business = t
			}
		}
		obj[f.name] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return app.JobEdit{}, fmt.Errorf("encode job body: %w", err)
	}
	return app.JobEdit{Body: b, Reads: j.Reads, BusinessTime: business}, nil
}
