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
// export and "send by email now".
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
	report  app.Report
	loaded  bool
}

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
	top := container.NewVBox(container.NewHBox(s.dates, exportCSV, exportHTML, send), s.status)
	body := container.NewVBox(s.summary, widget.NewLabelWithStyle("Repairs (local records changed to match Metrc)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.repairs)
	s.loadDates()
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(body))
}

func (s *reportsScreen) loadDates() {
	async(func() {
		ds, err := s.rec.ReportDates()
		do(func() {
			if err != nil {
				s.status.SetText(errorLine("Reports could not be read", err))
				return
			}
			rev := make([]string, len(ds))
			for i, d := range ds {
				rev[len(ds)-1-i] = d
			}
			s.dates.Options = rev
			if len(rev) == 0 {
				s.status.SetText("No report yet: the first one is made tonight.")
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
				s.status.SetText(errorLine("The report could not be read", err))
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
			s.status.SetText("Repair undone.")
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
		s.status.SetText("Exporting…")
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
				s.status.SetText("Exported to " + w.URI().Path())
			})
		})
	}, s.win())
	d.SetFileName("tracesync-report-" + rep.Date + "." + format)
	d.Show()
}

func (s *reportsScreen) onSend() {
	if !s.loaded || s.tools.Send == nil {
		return
	}
	date := s.report.Date
	s.status.SetText("Sending…")
	async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := s.tools.Send(ctx, date)
		do(func() {
			if err != nil {
				s.status.SetText("Not sent yet; it stays in the outbox and is retried.")
				showError(s.win(), "Send report", err)
				return
			}
			s.status.SetText("Report of " + date + " sent.")
		})
	})
}
