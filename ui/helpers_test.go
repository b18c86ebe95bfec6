package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// walk visits o and everything it renders.
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	visit(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, visit)
		}
	}
}

// findButton returns the first visible button with that text.
func findButton(root fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	walk(root, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && found == nil && b.Text == text && b.Visible() {
			found = b
		}
	})
	return found
}

// findEntries returns the entries under root, in order.
func findEntries(root fyne.CanvasObject) []*widget.Entry {
	var es []*widget.Entry
	walk(root, func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok {
			es = append(es, e)
		}
	})
	return es
}

// findLabelText reports whether a label under root contains s.
func labels(root fyne.CanvasObject) []string {
	var out []string
	walk(root, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	})
	return out
}

// topOverlay returns the top overlay of the window (a dialog).
func topOverlay(w fyne.Window) fyne.CanvasObject { return w.Canvas().Overlays().Top() }
