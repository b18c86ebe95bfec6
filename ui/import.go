package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// importScreen queues receipts or assemblies from a CSV file: the whole
// file is checked first; any bad line means nothing is queued.
type importScreen struct {
	imp ImportAPI
	win func() fyne.Window

	kind     *widget.RadioGroup
	progress *widget.ProgressBar
	status   *widget.Label
	problems *widget.List
	lines    []string
	choose   *widget.Button
}

func newImportScreen(imp ImportAPI, win func() fyne.Window) *importScreen {
	return &importScreen{imp: imp, win: win}
}

func (s *importScreen) build() fyne.CanvasObject {
	if s.imp == nil {
		return widget.NewLabel("Import is not available in this window.")
	}
	s.kind = widget.NewRadioGroup([]string{"receipts", "assemblies"}, nil)
	s.kind.Horizontal = true
	s.kind.SetSelected("receipts")
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.status = widget.NewLabel("Choose a CSV file with Metrc's column names (see the README for the formats).")
	s.status.Wrapping = fyne.TextWrapWord
	s.problems = widget.NewList(func() int { return len(s.lines) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(s.lines[i]) })
	s.choose = widget.NewButton("Choose a CSV file…", s.onChoose)
	top := container.NewVBox(container.NewHBox(widget.NewLabel("What the file holds:"), s.kind, s.choose), s.progress, s.status)
	return container.NewBorder(top, nil, nil, nil, s.problems)
}

func (s *importScreen) onChoose() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			showError(s.win(), "Import", err)
			return
		}
		if r == nil {
			return
		}
		var size int64
		if fi, err := os.Stat(r.URI().Path()); err == nil {
			size = fi.Size()
		}
		s.run(s.kind.Selected, r, size)
	}, s.win())
	d.SetFilter(storage.NewExtensionFileFilter([]string{".csv", ".CSV", ".txt"}))
	d.Show()
}

// countingReader counts bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// run imports off the UI goroutine, showing progress by bytes read.
func (s *importScreen) run(kind string, r io.ReadCloser, size int64) {
	s.choose.Disable()
	s.lines = nil
	s.problems.Refresh()
	s.progress.SetValue(0)
	s.progress.Show()
	s.status.SetText("Checking the file…")
	cr := &countingReader{r: r}
	async(func() {
		defer r.Close()
		sum, err := s.imp.Import(context.Background(), kind, cr, func(rows int) {
			read := cr.n.Load()
			do(func() {
				if size > 0 {
					s.progress.SetValue(float64(read) / float64(size))
				}
				s.status.SetText(fmt.Sprintf("Checking the file… %s lines", app.Thousands(rows)))
			})
		})
		do(func() { s.done(sum, err) })
	})
}

func (s *importScreen) done(sum ImportSummary, err error) {
	s.choose.Enable()
	s.progress.Hide()
	s.lines = nil
	for _, p := range sum.Problems {
		s.lines = append(s.lines, problemLine(p, ""))
	}
	for _, p := range sum.Warnings {
		s.lines = append(s.lines, problemLine(p, " (warning)"))
	}
	s.problems.Refresh()
	switch {
	case err != nil && len(sum.Problems) == 0:
		s.status.SetText(errorLine("The file was not imported", err))
	case len(sum.Problems) > 0:
		s.status.SetText(fmt.Sprintf("Nothing was queued: %s to correct (listed below). Fix the file and import it again.",
			plural(len(sum.Problems), "line", "lines")))
	default:
		parts := []string{plural(sum.Queued, "record", "records") + " queued"}
		if sum.Skipped > 0 {
			parts = append(parts, app.Thousands(sum.Skipped)+" already queued")
		}
		s.status.SetText(strings.Join(parts, ", ") + ". They will be sent when Metrc answers.")
	}
}

// problemLine is one problem of a file: "Line N: …", or the message alone
// when it concerns no line (a record already queued differently, a count).
func problemLine(p ImportProblem, tag string) string {
	if p.Line <= 0 {
		if tag != "" {
			return "Warning: " + p.Msg
		}
		return p.Msg
	}
	return fmt.Sprintf("Line %d%s: %s", p.Line, tag, p.Msg)
}
