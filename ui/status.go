package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// statusScreen is the home screen: a card per license and the global
// "Metrc API is down" banner.
type statusScreen struct {
	eng   statusEngine
	clock app.Clock
	zone  func(license string) *time.Location
	win   func() fyne.Window

	banner     *fyne.Container
	bannerText *widget.Label
	note       *widget.Label // what the last action did
	grid       *fyne.Container
	empty      *widget.Label
	cards      map[string]*statusCard
	paused     map[string]bool
	last       []app.Health
}

func newStatusScreen(eng statusEngine, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *statusScreen {
	return &statusScreen{eng: eng, clock: clock, zone: zone, win: win,
		cards: map[string]*statusCard{}, paused: map[string]bool{}}
}

func (s *statusScreen) build() fyne.CanvasObject {
	s.bannerText = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.bannerText.Wrapping = fyne.TextWrapWord
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameError))
	bg.CornerRadius = theme.InputRadiusSize()
	s.banner = container.NewStack(bg, container.NewPadded(s.bannerText))
	s.banner.Hide()
	s.empty = widget.NewLabel("No licenses yet. Add them in Settings.")
	s.grid = container.NewGridWrap(fyne.NewSize(320, 300))
	s.note = widget.NewLabel("")
	s.note.Hide()
	top := container.NewVBox(s.banner, s.note)
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(container.NewVBox(s.empty, s.grid)))
}

// show applies a health snapshot (UI goroutine). down/since are APIDown.
func (s *statusScreen) show(hs []app.Health, down bool, since time.Time) {
	now := s.clock.Now()
	s.last = hs
	s.empty.Hidden = len(hs) > 0
	seen := map[string]bool{}
	changed := false
	for _, h := range hs {
		seen[h.License] = true
		c, ok := s.cards[h.License]
		if !ok {
			c = newStatusCard(s.onPush, s.onPause)
			s.cards[h.License] = c
			changed = true
		}
		c.update(h, s.paused[h.License], now, s.zone(h.License))
	}
	for lic := range s.cards {
		if !seen[lic] {
			delete(s.cards, lic)
			changed = true
		}
	}
	if changed || len(s.grid.Objects) != len(hs) {
		objs := make([]fyne.CanvasObject, 0, len(hs))
		for _, h := range hs {
			objs = append(objs, s.cards[h.License])
		}
		s.grid.Objects = objs
		s.grid.Refresh()
	}
	if down {
		pending, attention := 0, 0
		for _, h := range hs {
			pending += h.Pending
			attention += h.NeedsAttention
		}
		zone := time.Local
		if len(hs) > 0 {
			zone = s.zone(hs[0].License)
		}
		s.bannerText.SetText(apiDownText(since, now, zone, pending, attention))
		s.banner.Show()
	} else {
		s.banner.Hide()
	}
	s.empty.Refresh()
}

// apiDownText is the banner: "The Metrc API is down since 09:12 (2 h 05 min)
// — 1,284 records queued. They are saved here and will be sent when Metrc is back."
func apiDownText(since, now time.Time, loc *time.Location, pending, attention int) string {
	t := "The Metrc API is down"
	if !since.IsZero() {
		t += fmt.Sprintf(" since %s (%s)", clockTime(since, now, loc), app.Span(now.Sub(since)))
	}
	t += " — " + plural(pending, "record", "records") + " queued. They are saved here and will be sent when Metrc is back."
	if attention > 0 {
		return t + " " + plural(attention, "record needs", "records need") + " a person: see the Queue."
	}
	return t + " Nothing to do."
}

func (s *statusScreen) onPush(license string) {
	async(func() {
		n, err := s.eng.PushNow(app.DueSelector{License: license})
		do(func() {
			if err != nil {
				showError(s.win(), "Push now", err)
				return
			}
			s.setNote(license + ": " + plural(n, "record", "records") + " will be sent now.")
		})
	})
}

func (s *statusScreen) onPause(license string, paused bool) {
	async(func() {
		err := s.eng.SetPaused(license, paused)
		do(func() {
			if err != nil {
				showError(s.win(), "Pause", err)
				return
			}
			s.paused[license] = paused
			if paused {
				s.setNote(license + " is paused: nothing is sent or fetched until you resume it.")
			} else {
				s.setNote(license + " resumed.")
			}
			if c := s.cards[license]; c != nil {
				c.update(c.health, paused, s.clock.Now(), s.zone(license))
			}
		})
	})
}

// setPaused records the pause state read from the store (UI goroutine).
func (s *statusScreen) setPaused(m map[string]bool) {
	s.paused = m
}

// setNote says what the last action did (UI goroutine).
func (s *statusScreen) setNote(text string) {
	s.note.SetText(text)
	s.note.Show()
}
