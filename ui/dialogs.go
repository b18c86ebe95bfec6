package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// showForm shows a form dialog and calls ok when confirmed.
func showForm(w fyne.Window, title, confirm string, items []*widget.FormItem, ok func()) {
	d := dialog.NewForm(title, confirm, "Cancel", items, func(yes bool) {
		if yes {
			ok()
		}
	}, w)
	d.Resize(fyne.NewSize(460, 120+float32(len(items))*48))
	d.Show()
}
