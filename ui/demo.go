package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// demoScreen acts on the simulator the engine really talks to in demo mode.
type demoScreen struct {
	demo DemoAPI
	win  func() fyne.Window
}

func newDemoScreen(d DemoAPI, win func() fyne.Window) *demoScreen {
	return &demoScreen{demo: d, win: win}
}

func (s *demoScreen) build() fyne.CanvasObject {
	toggle := func(label string, set func(bool)) *widget.Check {
		return widget.NewCheck(label, func(on bool) { async(func() { set(on) }) })
	}
	intro := widget.NewLabel("Demo — simulated Metrc, not your data. These switches act on the simulator tracesync is talking to, so colours and the queue change for real.")
	intro.Wrapping = fyne.TextWrapWord
	reset := widget.NewButton("Reset demo…", func() {
		dialog.ShowConfirm("Reset the demo?", "The simulated Metrc and the demo data (queue, inventory, reports) start over; tracesync restarts.", func(ok bool) {
			if !ok {
				return
			}
			async(func() {
				if err := s.demo.Reset(); err != nil {
					do(func() { showError(s.win(), "Reset demo", err) })
				}
			})
		}, s.win())
	})
	sales := widget.NewCheck("Generate sales every few seconds", nil)
	if st, ok := s.demo.(interface{ SalesRunning() bool }); ok {
		sales.SetChecked(st.SalesRunning())
	}
	sales.OnChanged = func(on bool) { async(func() { s.demo.SetSales(on) }) }
	return container.NewVBox(intro,
		toggle("Metrc is down (outage)", s.demo.SetOutage),
		toggle("Metrc is slow", s.demo.SetSlow),
		toggle("Metrc says \"too many requests\" (429)", s.demo.Set429),
		toggle("Metrc fails with errors (500)", s.demo.Set500),
		toggle("Answers get lost after Metrc saved the record", s.demo.SetLostResponses),
		sales,
		reset)
}
