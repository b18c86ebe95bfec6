package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// reportsScreen shows nightly reports by date, the repair log with undo,
// export, "send by email now" and the report mails still waiting to go.
type reportsScreen struct {
	rec   ReconcileAPI
	tools ReportTools
	clock app.Clock
	zone  func(string) *time.Location
	win   func() fyne.Window

	dates   *widget.Select
	summary *widget.Label
	repairs *fyne.Container
	status  *widget.Label
	details *widget.Button // the last send's error, verbatim
	sendErr error
	outbox  *fyne.Container
	top     *fyne.Container
	body    *fyne.Container
	scroll  *container.Scroll
	report  app.Report
	loaded  bool
	reload  *time.Timer // re-reads the outbox after the next retry
}

// After a waiting mail's next try the outbox is read again, this much
// later (the try itself takes a moment), and never sooner than
// outboxMinWait from now.
const (
	outboxGrace   = 5 * time.Second
	outboxMinWait = 30 * time.Second
)

func newReportsScreen(rec ReconcileAPI, tools ReportTools, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *reportsScreen {
	return &reportsScreen{rec: rec, tools: tools, clock: clock, zone: zone, win: win}
}

func (s *reportsScreen) build() fyne.CanvasObject {
	if s.rec == nil {
		return widget.NewLabel("Reports are not available in this window.")
	}
	s.dates = widget.NewSelect(nil, s.onDate)
	s.dates.PlaceHolder = "Choose a date"
	s.summary = widget.NewLabel("")
	s.summary.Wrapping = fyne.TextWrapWord
	s.repairs = container.NewVBox()
	s.status = widget.NewLabel("")
	s.status.Wrapping = fyne.TextWrapWord
	s.details = widget.NewButton("Show details", func() {
		if s.sendErr != nil {
			showMailError(s.win(), "Report mail not sent", s.sendErr.Error())
		}
	})
	s.details.Hide()
	s.outbox = container.NewVBox()
	exportCSV := widget.NewButton("Export CSV…", func() { s.onExport("csv") })
	exportHTML := widget.NewButton("Export HTML…", func() { s.onExport("html") })
	send := widget.NewButton("Send by email now", s.onSend)
	if s.tools.Render == nil {
		exportCSV.Disable()
		exportHTML.Disable()
	}
	if s.tools.Send == nil {
		send.Disable()
	}
	top := container.NewVBox(container.NewHBox(s.dates, exportCSV, exportHTML, send),
		s.status, container.NewHBox(s.details))
	s.top = top
	body := container.NewVBox(s.summary, widget.NewLabelWithStyle("Repairs (local records changed to match Metrc)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.repairs)
	body.Objects = append([]fyne.CanvasObject{
		widget.NewLabelWithStyle("Report mails", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.outbox,
		widget.NewSeparator()}, body.Objects...)
	s.loadDates()
	s.loadOutbox()
	s.body, s.scroll = body, container.NewVScroll(body)
	return container.NewBorder(top, nil, nil, nil, s.scroll)
}

func (s *reportsScreen) loadDates() {
	async(func() {
		ds, err := s.rec.ReportDates()
		do(func() {
			if err != nil {
				s.setStatus(errorLine("Reports could not be read", err), nil)
				return
			}
			rev := make([]string, len(ds))
			for i, d := range ds {
				rev[len(ds)-1-i] = d
			}
			s.dates.Options = rev
			if len(rev) == 0 {
				s.setStatus("No report yet: the first one is made tonight.", nil)
			} else if s.dates.Selected == "" {
				s.dates.SetSelected(rev[0])
			}
			s.dates.Refresh()
		})
	})
}

func (s *reportsScreen) onDate(date string) {
	async(func() {
		rep, err := s.rec.Report(date)
		do(func() {
			if err != nil {
				s.setStatus(errorLine("The report could not be read", err), nil)
				return
			}
			s.report, s.loaded = rep, true
			s.show(rep)
		})
	})
}

func (s *reportsScreen) show(rep app.Report) {
	var b strings.Builder
	fmt.Fprintf(&b, "Report of %s", rep.Date)
	for _, l := range rep.Licenses {
		fmt.Fprintf(&b, "\n\n%s %s: %s, %s matched, %s open in the audit, %s need attention, %s not yet in Metrc, %s",
			l.License, l.Name, plural(len(l.Repairs), "repair", "repairs"), app.Thousands(len(l.Matches)),
			app.Thousands(len(l.OpenAudit)), app.Thousands(len(l.NeedsAttention)), app.Thousands(l.Unfinished), plural(len(l.Outages), "outage", "outages"))
	}
	s.summary.SetText(b.String())
	var objs []fyne.CanvasObject
	for _, l := range rep.Licenses {
		for _, r := range l.Repairs {
			objs = append(objs, s.repairRow(r))
		}
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No repairs that day."))
	}
	s.repairs.Objects = objs
	s.repairs.Refresh()
	s.relayout()
}

func (s *reportsScreen) repairRow(r app.Repair) fyne.CanvasObject {
	text := fmt.Sprintf("%s %s %s: %s → %s (%s)", clockTime(r.At, s.clock.Now(), s.zone(r.License)), r.Label, r.Field, r.Before, r.After, r.Rule)
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	if r.Undone {
		return container.NewBorder(nil, nil, nil, widget.NewLabel("undone"), l)
	}
	undo := widget.NewButton("Undo", func() {
		dialog.ShowConfirm("Undo this repair?", "The local value before the repair comes back, and tracesync will not change it again by itself.", func(ok bool) {
			if ok {
				s.onUndo(r.ID)
			}
		}, s.win())
	})
	return container.NewBorder(nil, nil, nil, undo, l)
}

func (s *reportsScreen) onUndo(id uint64) {
	async(func() {
		err := s.rec.Undo(id)
		do(func() {
			if err != nil {
				showError(s.win(), "Undo", err)
				return
			}
			s.setStatus("Repair undone.", nil)
			if s.dates.Selected != "" {
				s.onDate(s.dates.Selected)
			}
		})
	})
}

func (s *reportsScreen) onExport(format string) {
	if !s.loaded || s.tools.Render == nil {
		return
	}
	rep := s.report
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		s.setStatus("Exporting…", nil)
		async(func() {
			err := s.tools.Render(w, rep, format)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			do(func() {
				if err != nil {
					showError(s.win(), "Export", err)
					return
				}
				s.setStatus("Exported to "+w.URI().Path(), nil)
			})
		})
	}, s.win())
	d.SetFileName("tracesync-report-" + rep.Date + "." + format)
	d.Show()
}

func (s *reportsScreen) onSend() {
	if !s.loaded {
		return
	}
	s.send(s.report.Date)
}

// send mails the report of date now (the stored one, as it is) and says
// whether it went; a failure is said in plain words, the mail server's
// answer one click away, and the mail stays listed in the outbox.
func (s *reportsScreen) send(date string) {
	if s.tools.Send == nil {
		return
	}
	s.setStatus("Sending the report of "+date+"…", nil)
	async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := s.tools.Send(ctx, date)
		box, berr := s.rec.Outbox()
		do(func() {
			s.showOutbox(box, berr)
			if err != nil {
				text := fmt.Sprintf("The report of %s was not sent. %s", date, plainError(err))
				if what := mailWords(err.Error()); what != "" {
					text = fmt.Sprintf("The report of %s was not sent. %s It waits in the outbox and tracesync tries again by itself.", date, what)
				}
				s.setStatus(text, err)
				return
			}
			s.setStatus("Report of "+date+" sent.", nil)
		})
	})
}

// relayout lays the body out again after rows changed: a wrapped label
// knows its height only once it has its width, so the rows below it move
// only when the body is laid out anew. UI goroutine.
func (s *reportsScreen) relayout() {
	if s.body == nil {
		return
	}
	s.body.Refresh()
	s.scroll.Refresh()
}

// setStatus shows a status line; with an error, the button beside it shows
// the error verbatim. UI goroutine.
func (s *reportsScreen) setStatus(text string, err error) {
	s.status.SetText(text)
	s.sendErr = err
	if err != nil {
		s.details.Show()
	} else {
		s.details.Hide()
	}
	if s.top != nil {
		s.top.Refresh() // the button's row appears or goes
	}
}

// loadOutbox reads the outbox and shows it.
func (s *reportsScreen) loadOutbox() {
	async(func() {
		box, err := s.rec.Outbox()
		do(func() { s.showOutbox(box, err) })
	})
}

// showOutbox lists the mails waiting to be sent, each with its attempts,
// last error and next try, or says that none waits and which report went
// last. UI goroutine.
func (s *reportsScreen) showOutbox(box []app.OutboxMail, err error) {
	if err != nil {
		s.outbox.Objects = []fyne.CanvasObject{widget.NewLabel(errorLine("The mail outbox could not be read", err))}
		s.outbox.Refresh()
		s.relayout()
		return
	}
	now, loc := s.clock.Now(), s.mailZone()
	var objs []fyne.CanvasObject
	var last *app.OutboxMail
	for i, m := range box {
		if !m.SentAt.IsZero() {
			if last == nil || m.SentAt.After(last.SentAt) {
				last = &box[i]
			}
			continue
		}
		objs = append(objs, s.outboxRow(m, now, loc))
	}
	if len(objs) == 0 {
		text := "No report mail waiting."
		switch {
		case s.tools.Send == nil && last == nil:
			text = "Reports are not mailed: set up the mail server (SMTP) in Settings to get the nightly report by email."
		case last != nil:
			text += fmt.Sprintf(" The last one sent was the report of %s, at %s.", last.Date, clockTime(last.SentAt, now, loc))
		}
		objs = append(objs, widget.NewLabel(text))
	}
	s.outbox.Objects = objs
	s.outbox.Refresh()
	s.relayout()
	s.scheduleOutbox(box)
}

// outboxRow is one waiting mail: what happened in plain words, the mail
// server's answer behind a button, and "Try again now".
func (s *reportsScreen) outboxRow(m app.OutboxMail, now time.Time, loc *time.Location) fyne.CanvasObject {
	var b strings.Builder
	fmt.Fprintf(&b, "Report of %s: not sent yet.", m.Date)
	if m.Attempts > 0 {
		fmt.Fprintf(&b, " Tried %s, the last at %s.", plural(m.Attempts, "time", "times"), clockTime(m.LastTry, now, loc))
		if m.LastError != "" {
			what := mailWords(m.LastError)
			if what == "" {
				what = "The mail server did not accept it."
			}
			b.WriteString(" " + what)
		}
	}
	switch {
	case s.tools.Send == nil:
		b.WriteString(" The mail server is not set up now: it waits until it is set up in Settings.")
	case m.NextTry.IsZero():
	case m.NextTry.After(now):
		fmt.Fprintf(&b, " Next try at %s (in %s), by itself.", clockTime(m.NextTry, now, loc), app.Span(m.NextTry.Sub(now)))
	default:
		b.WriteString(" Next try: now, by itself.")
	}
	l := widget.NewLabel(b.String())
	l.Wrapping = fyne.TextWrapWord
	var buttons []fyne.CanvasObject
	if m.LastError != "" {
		msg := m.LastError
		buttons = append(buttons, widget.NewButton("Show error", func() { showMailError(s.win(), "Report mail of "+m.Date, msg) }))
	}
	if s.tools.Send != nil {
		date := m.Date
		buttons = append(buttons, widget.NewButton("Try again now", func() { s.send(date) }))
	}
	return container.NewBorder(nil, nil, nil, container.NewHBox(buttons...), l)
}

// scheduleOutbox reads the outbox again just after the earliest waiting
// mail's next try, so the list follows the retries the nightly loop makes
// in the background. UI goroutine.
func (s *reportsScreen) scheduleOutbox(box []app.OutboxMail) {
	s.stopReload()
	var next time.Time
	waiting := false
	for _, m := range box {
		if m.SentAt.IsZero() {
			waiting = true
			if !m.NextTry.IsZero() && (next.IsZero() || m.NextTry.Before(next)) {
				next = m.NextTry
			}
		}
	}
	if !waiting {
		return
	}
	wait := outboxMinWait
	if !next.IsZero() {
		wait = max(next.Sub(s.clock.Now())+outboxGrace, outboxMinWait)
	}
	s.reload = time.AfterFunc(wait, func() {
		if !stopped.Load() {
			s.loadOutbox()
		}
	})
}

// stopReload cancels the pending outbox re-read. UI goroutine.
func (s *reportsScreen) stopReload() {
	if s.reload != nil {
		s.reload.Stop()
		s.reload = nil
	}
}

// mailZone is the zone of mail times: the licenses' own when the shown
// report's licenses share one, else this computer's.
func (s *reportsScreen) mailZone() *time.Location {
	var z *time.Location
	for _, l := range s.report.Licenses {
		lz := s.zone(l.License)
		if z != nil && lz.String() != z.String() {
			return time.Local
		}
		z = lz
	}
	if z == nil {
		return time.Local
	}
	return z
}

// showMailError shows what the mail server answered, verbatim: the plain
// words are already on the screen beside the button that opens this.
func showMailError(w fyne.Window, title, detail string) {
	if w == nil {
		return
	}
	text := widget.NewLabel(detail)
	text.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(widget.NewLabel("The mail server's answer:"), text)
	d := dialog.NewCustom(title, "Close", content, w)
	d.Resize(fyne.NewSize(520, 220))
	d.Show()
}
