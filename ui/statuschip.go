package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// colorName is the theme colour of a health colour: the theme's success,
// warning and error colours, readable in light and dark themes.
func colorName(c app.Color) fyne.ThemeColorName {
	switch c {
	case app.Green:
		return theme.ColorNameSuccess
	case app.Orange:
		return theme.ColorNameWarning
	case app.Red:
		return theme.ColorNameError
	}
	return theme.ColorNameDisabled
}

// colorWord is the word always shown beside a colour dot.
func colorWord(c app.Color) string {
	switch c {
	case app.Green:
		return "OK"
	case app.Orange:
		return "Warning"
	case app.Red:
		return "Problem"
	}
	return "Paused or connecting"
}

func themeColor(c app.Color) color.Color {
	return theme.Color(colorName(c))
}

// statusChip is a coloured dot with words beside it: colour never alone.
type statusChip struct {
	widget.BaseWidget
	dot   *canvas.Circle
	label *widget.Label
	color app.Color
}

func newStatusChip(c app.Color, words string) *statusChip {
	s := &statusChip{dot: canvas.NewCircle(themeColor(c)), label: widget.NewLabel(words), color: c}
	s.label.TextStyle.Bold = true
	s.ExtendBaseWidget(s)
	return s
}

// SetStatus changes colour and words (call on the UI goroutine).
func (s *statusChip) SetStatus(c app.Color, words string) {
	s.color = c
	s.dot.FillColor = themeColor(c)
	s.dot.Refresh()
	s.label.SetText(words)
}

func (s *statusChip) CreateRenderer() fyne.WidgetRenderer {
	d := theme.TextSize() * 0.9
	holder := container.NewGridWrap(fyne.NewSize(d, d), s.dot)
	return &chipRenderer{chip: s, WidgetRenderer: widget.NewSimpleRenderer(container.NewHBox(container.NewCenter(holder), s.label))}
}

type chipRenderer struct {
	fyne.WidgetRenderer
	chip *statusChip
}

// Refresh re-reads the theme colour (light/dark switch).
func (r *chipRenderer) Refresh() {
	r.chip.dot.FillColor = themeColor(r.chip.color)
	r.WidgetRenderer.Refresh()
}
