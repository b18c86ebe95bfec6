package ui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// statusCard shows one license's health. Hovering it shows the detail
// lines (what happened, what tracesync does, what to do).
type statusCard struct {
	widget.BaseWidget

	chip   *statusChip
	number *widget.Label
	reason *widget.Label
	pull   *widget.Label
	counts *widget.Label
	oldest *widget.Label
	push   *widget.Button
	pause  *widget.Button

	health app.Health
	detail string
	popup  *widget.PopUp
	popTxt *widget.Label // the popup's text, updated in place

	onPush  func(license string)
	onPause func(license string, paused bool)
	paused  bool
}

func newStatusCard(onPush func(string), onPause func(string, bool)) *statusCard {
	c := &statusCard{
		chip:   newStatusChip(app.Grey, colorWord(app.Grey)),
		number: widget.NewLabel(""),
		reason: widget.NewLabel(""),
		pull:   widget.NewLabel(""),
		counts: widget.NewLabel(""),
		oldest: widget.NewLabel(""),
		onPush: onPush, onPause: onPause,
	}
	c.reason.Wrapping = fyne.TextWrapWord
	c.push = widget.NewButton("Push now", func() {
		if c.onPush != nil {
			c.onPush(c.health.License)
		}
	})
	c.pause = widget.NewButton("Pause", func() {
		if c.onPause != nil {
			c.onPause(c.health.License, !c.paused)
		}
	})
	c.ExtendBaseWidget(c)
	return c
}

// update shows h as seen at now, times in loc (the license's zone).
func (c *statusCard) update(h app.Health, paused bool, now time.Time, loc *time.Location) {
	c.health, c.paused = h, paused
	name := h.Name
	if name == "" {
		name = h.License
	}
	c.chip.SetStatus(h.Color, name)
	c.number.SetText(h.License)
	c.reason.SetText(colorWord(h.Color) + ": " + h.Reason)
	c.pull.SetText("Last good pull: " + agoAndAt(h.LastPullOK, now, loc, "not yet"))
	c.counts.SetText(app.Thousands(h.Pending) + " pending · " + app.Thousands(h.NeedsAttention) + " need attention")
	if h.OldestPending.IsZero() {
		c.oldest.SetText("Nothing waiting")
	} else {
		c.oldest.SetText("Oldest waiting: " + app.Span(now.Sub(h.OldestPending)))
	}
	if paused {
		c.pause.SetText("Resume")
	} else {
		c.pause.SetText("Pause")
	}
	c.detail = cardDetail(h, now, loc)
	if c.popup != nil && c.popup.Visible() { // the mouse is still over the card
		c.popTxt.SetText(wrapText(c.detail, 64))
		c.popup.Resize(c.popup.MinSize())
	}
}

// cardDetail is the hover text: colour and reason, the detail lines, and
// since when.
func cardDetail(h app.Health, now time.Time, loc *time.Location) string {
	var b strings.Builder
	b.WriteString(colorWord(h.Color) + " (" + h.Color.String() + "): " + h.Reason)
	if !h.Since.IsZero() {
		b.WriteString("\nSince " + clockTime(h.Since, now, loc) + " (" + app.Span(now.Sub(h.Since)) + ")")
	}
	for _, d := range h.Details {
		b.WriteString("\n" + d)
	}
	return b.String()
}

// Detail returns the hover text.
func (c *statusCard) Detail() string { return c.detail }

func (c *statusCard) CreateRenderer() fyne.WidgetRenderer {
	body := container.NewVBox(
		c.chip,
		c.number, c.reason, c.pull, c.counts, c.oldest,
		container.NewHBox(c.push, c.pause),
	)
	return widget.NewSimpleRenderer(widget.NewCard("", "", body))
}

// MinSize keeps cards a readable width in the grid.
func (c *statusCard) MinSize() fyne.Size {
	m := c.BaseWidget.MinSize()
	if m.Width < 300 {
		m.Width = 300
	}
	return m
}

// MouseIn shows the detail lines beside the pointer.
func (c *statusCard) MouseIn(e *desktop.MouseEvent) {
	if c.detail == "" {
		return
	}
	cv := fyne.CurrentApp().Driver().CanvasForObject(c)
	if cv == nil {
		return
	}
	if c.popup != nil {
		c.popup.Hide()
	}
	c.popTxt = widget.NewLabel(wrapText(c.detail, 64))
	c.popup = widget.NewPopUp(c.popTxt, cv)
	pos := e.AbsolutePosition.Add(fyne.NewPos(12, 12))
	c.popup.ShowAtPosition(pos)
}

// MouseMoved keeps the popup where it is.
func (c *statusCard) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the detail.
func (c *statusCard) MouseOut() {
	if c.popup != nil {
		c.popup.Hide()
		c.popup = nil
	}
}
