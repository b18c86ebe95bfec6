package ui

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// latencyPoint is one step of a response-time series.
type latencyPoint struct {
	At        time.Time
	Count     int
	ErrorRate float64 // 0..1
	P50, P95  time.Duration
}

// outageSpan is a stretch to shade on the chart.
type outageSpan struct{ From, To time.Time }

// latencyChart draws p50 and p95 response times and the error rate as
// lines from canvas.Line, with outage windows shaded behind them.
type latencyChart struct {
	widget.BaseWidget
	from, to time.Time
	points   []latencyPoint
	outages  []outageSpan
}

func newLatencyChart() *latencyChart {
	c := &latencyChart{}
	c.ExtendBaseWidget(c)
	return c
}

// setData replaces what is drawn (UI goroutine).
func (c *latencyChart) setData(from, to time.Time, pts []latencyPoint, outs []outageSpan) {
	c.from, c.to, c.points, c.outages = from, to, pts, outs
	c.Refresh()
}

func (c *latencyChart) MinSize() fyne.Size { return fyne.NewSize(400, 220) }

func (c *latencyChart) CreateRenderer() fyne.WidgetRenderer {
	r := &chartRenderer{c: c, bg: canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		top:   canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		left:  canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		right: canvas.NewText("", theme.Color(theme.ColorNameForeground))}
	r.top.TextSize, r.left.TextSize, r.right.TextSize = 11, 11, 11
	return r
}

type chartRenderer struct {
	c                *latencyChart
	bg               *canvas.Rectangle
	top, left, right *canvas.Text
	objs             []fyne.CanvasObject
	size             fyne.Size
}

func (r *chartRenderer) Destroy()                     {}
func (r *chartRenderer) MinSize() fyne.Size           { return r.c.MinSize() }
func (r *chartRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *chartRenderer) Refresh()                     { r.Layout(r.size) }

// Layout rebuilds the shapes for the size: cheap (a few hundred lines).
func (r *chartRenderer) Layout(size fyne.Size) {
	r.size = size
	c := r.c
	r.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.bg.Resize(size)
	objs := []fyne.CanvasObject{r.bg}
	span := c.to.Sub(c.from)
	if span <= 0 || size.Width <= 0 {
		r.objs = objs
		return
	}
	const pad = 18
	w, h := size.Width, size.Height-2*pad
	x := func(t time.Time) float32 {
		f := float32(t.Sub(c.from)) / float32(span)
		if f < 0 {
			f = 0
		}
		if f > 1 {
			f = 1
		}
		return f * w
	}
	shade := theme.Color(theme.ColorNameError)
	rr, gg, bb, _ := shade.RGBA()
	for _, o := range c.outages {
		end := o.To
		if end.IsZero() {
			end = c.to
		}
		rect := canvas.NewRectangle(color.NRGBA{uint8(rr >> 8), uint8(gg >> 8), uint8(bb >> 8), 60})
		rect.Move(fyne.NewPos(x(o.From), pad))
		rect.Resize(fyne.NewSize(x(end)-x(o.From)+1, h))
		objs = append(objs, rect)
	}
	var max time.Duration
	for _, p := range c.points {
		if p.P95 > max {
			max = p.P95
		}
	}
	max = axisTop(max)
	y := func(d time.Duration) float32 { return pad + h - float32(d)/float32(max)*h }
	yr := func(f float64) float32 { return pad + h - float32(f)*h }
	line := func(col color.Color, val func(p latencyPoint) float32, width float32) {
		var prev *latencyPoint
		for i := range c.points {
			p := &c.points[i]
			if p.Count == 0 {
				prev = nil
				continue
			}
			isolated := prev == nil && (i+1 == len(c.points) || c.points[i+1].Count == 0)
			if isolated { // a lone step: a dot, so it is not invisible
				d := canvas.NewCircle(col)
				d.Resize(fyne.NewSize(2*width+2, 2*width+2))
				d.Move(fyne.NewPos(x(p.At)-width-1, val(*p)-width-1))
				objs = append(objs, d)
			}
			if prev != nil {
				l := canvas.NewLine(col)
				l.StrokeWidth = width
				l.Position1 = fyne.NewPos(x(prev.At), val(*prev))
				l.Position2 = fyne.NewPos(x(p.At), val(*p))
				objs = append(objs, l)
			}
			prev = p
		}
	}
	line(theme.Color(theme.ColorNameError), func(p latencyPoint) float32 { return yr(p.ErrorRate) }, 1)
	line(theme.Color(theme.ColorNameWarning), func(p latencyPoint) float32 { return y(p.P95) }, 2)
	line(theme.Color(theme.ColorNamePrimary), func(p latencyPoint) float32 { return y(p.P50) }, 2)

	fg := theme.Color(theme.ColorNameForeground)
	r.top.Color, r.left.Color, r.right.Color = fg, fg, fg
	r.top.Text = "top: " + max.Round(10*time.Millisecond).String()
	r.top.Move(fyne.NewPos(4, 0))
	// legend: a short line of each colour with its words (colour never alone)
	lx := r.top.MinSize().Width + 24
	for _, lg := range []struct {
		col  fyne.ThemeColorName
		text string
	}{{theme.ColorNamePrimary, "p50"}, {theme.ColorNameWarning, "p95"}, {theme.ColorNameError, "failed calls (top = 100%)"}} {
		l := canvas.NewLine(theme.Color(lg.col))
		l.StrokeWidth = 2
		l.Position1, l.Position2 = fyne.NewPos(lx, pad/2), fyne.NewPos(lx+16, pad/2)
		t := canvas.NewText(lg.text, fg)
		t.TextSize = 11
		t.Move(fyne.NewPos(lx+20, 0))
		objs = append(objs, l, t)
		lx += 20 + t.MinSize().Width + 16
	}
	r.left.Text = c.from.Format("Jan 2 15:04")
	r.left.Move(fyne.NewPos(4, size.Height-pad+2))
	r.right.Text = c.to.Format("Jan 2 15:04")
	r.right.Move(fyne.NewPos(w-r.right.MinSize().Width-4, size.Height-pad+2))
	objs = append(objs, r.top, r.left, r.right)
	r.objs = objs
}

// axisTop is the y axis' top for the largest p95: the smallest round value
// (1, 2, 3 or 5 times a power of ten) at or above it, at least 100 ms.
func axisTop(d time.Duration) time.Duration {
	for unit := 100 * time.Millisecond; ; unit *= 10 {
		for _, m := range []time.Duration{1, 2, 3, 5} {
			if top := m * unit; top >= d || unit > time.Hour {
				return top
			}
		}
	}
}
