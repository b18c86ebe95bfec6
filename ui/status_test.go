package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

func healthOf(c app.Color) app.Health {
	h := app.Health{License: "CML-000001", Name: "Green Leaf Retail", Color: c,
		LastPullOK: testNow.Add(-2 * time.Minute), Pending: 4, OldestPending: testNow.Add(-time.Minute),
		Since: testNow.Add(-10 * time.Minute)}
	switch c {
	case app.Green:
		h.Reason = "In sync"
		h.Details = []string{"Last good pull 11:15. 4 records waiting to be sent. Nothing to do."}
	case app.Orange:
		h.Reason = "3 records will be retried"
		h.NeedsAttention = 1
		h.Details = []string{"A call to Metrc failed 4 min ago (HTTP 500). tracesync retries by itself."}
	case app.Red:
		h.Reason = "The Metrc API is down (2 h 05 min)"
		h.APIDown = true
		h.Pending = 1280
		h.LastPullOK = testNow.Add(-125 * time.Minute)
		h.OldestPending = testNow.Add(-124 * time.Minute)
		h.Since = testNow.Add(-125 * time.Minute)
		h.Details = []string{"No packages or transfers fetched for 2 h 05 min (Metrc answers 503).",
			"Your 1,280 records are saved here and will be sent when Metrc is back. Nothing to do."}
	default:
		h.Reason = "Paused by a person"
		h.Pending = 0
		h.OldestPending = time.Time{}
	}
	return h
}

func TestStatusCardGolden(t *testing.T) {
	test.NewTempApp(t)
	for _, c := range []app.Color{app.Green, app.Orange, app.Red, app.Grey} {
		t.Run(c.String(), func(t *testing.T) {
			card := newStatusCard(nil, nil)
			card.update(healthOf(c), c == app.Grey, testNow, time.UTC)
			w := test.NewTempWindow(t, card)
			w.Resize(fyne.NewSize(340, 330))
			test.AssertRendersToImage(t, "status_card_"+c.String()+".png", w.Canvas())

			chip := newStatusChip(c, colorWord(c))
			cw := test.NewTempWindow(t, chip)
			cw.Resize(fyne.NewSize(200, 44))
			test.AssertRendersToImage(t, "status_chip_"+c.String()+".png", cw.Canvas())
		})
	}
}

func TestStatusCardHoverShowsDetail(t *testing.T) {
	test.NewTempApp(t)
	card := newStatusCard(nil, nil)
	card.update(healthOf(app.Red), false, testNow, time.UTC)
	w := test.NewTempWindow(t, card)
	w.Resize(fyne.NewSize(400, 400))

	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("overlay before hover")
	}
	card.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: fyne.NewPos(20, 20)}})
	pop, ok := w.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		t.Fatalf("hover shows %T, want a popup", w.Canvas().Overlays().Top())
	}
	text := pop.Content.(*widget.Label).Text
	for _, want := range []string{"Problem (red): The Metrc API is down", "Since 09:12 (2 h 05 min)",
		"No packages or transfers fetched", "will be sent when Metrc is back. Nothing to do."} {
		if !strings.Contains(strings.ReplaceAll(text, "\n", " "), want) {
			t.Errorf("hover text lacks %q:\n%s", want, text)
		}
	}
	// a status refresh while the mouse is over the card keeps the popup
	// open and updates its text in place
	card.update(healthOf(app.Green), false, testNow, time.UTC)
	if top := w.Canvas().Overlays().Top(); top != pop || !pop.Visible() {
		t.Fatalf("refresh closed the popup (top %T)", top)
	}
	if got := pop.Content.(*widget.Label).Text; strings.Contains(got, "Problem (red)") || got != wrapText(card.Detail(), 64) {
		t.Errorf("popup text not updated:\n%s", got)
	}
	card.MouseOut()
	if w.Canvas().Overlays().Top() != nil {
		t.Error("popup still shown after the mouse left")
	}
}

func TestStatusScreenBannerAndActions(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	eng := newFakeEngine(nil)
	var win fyne.Window
	s := newStatusScreen(eng, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return win })
	win = test.NewTempWindow(t, s.build())
	red := healthOf(app.Red)
	green := healthOf(app.Green)
	green.License, green.Name = "C11-000002", "Valley Distribution"
	s.show([]app.Health{red, green}, true, red.Since)

	if !s.banner.Visible() {
		t.Fatal("banner hidden while the API is down")
	}
	want := "The Metrc API is down since 09:12 (2 h 05 min) — 1,284 records queued."
	if !strings.HasPrefix(s.bannerText.Text, want) {
		t.Errorf("banner = %q, want prefix %q", s.bannerText.Text, want)
	}
	if !strings.HasSuffix(s.bannerText.Text, "Nothing to do.") {
		t.Errorf("banner = %q: nothing needs a person", s.bannerText.Text)
	}
	red.NeedsAttention = 1
	s.show([]app.Health{red, green}, true, red.Since)
	if !strings.HasSuffix(s.bannerText.Text, "1 record needs a person: see the Queue.") {
		t.Errorf("banner = %q with a record needing a person", s.bannerText.Text)
	}
	if len(s.grid.Objects) != 2 {
		t.Fatalf("%d cards, want 2", len(s.grid.Objects))
	}
	card := s.cards["C11-000002"]
	test.Tap(card.push)
	test.Tap(card.pause)
	if len(eng.pushed) != 1 || eng.pushed[0].License != "C11-000002" {
		t.Errorf("push now sent %+v", eng.pushed)
	}
	if !eng.paused["C11-000002"] || card.pause.Text != "Resume" {
		t.Errorf("pause: engine %v, button %q", eng.paused, card.pause.Text)
	}

	s.show([]app.Health{green}, false, time.Time{})
	if s.banner.Visible() {
		t.Error("banner shown while the API is up")
	}
	if len(s.grid.Objects) != 1 {
		t.Errorf("%d cards after a license went away, want 1", len(s.grid.Objects))
	}
}

func TestNotificationWhenRedAndGreenAgain(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{lics: []app.License{{Number: "CML-000001", Name: "Green Leaf Retail"}}}
	eng := newFakeEngine(st)
	green := healthOf(app.Green)
	eng.health = []app.Health{green}
	u := New(a, Params{Engine: eng, Store: st, Clock: fixedClock{testNow}})
	defer u.close()

	red := healthOf(app.Red)
	test.AssertNotificationSent(t, fyne.NewNotification("Green Leaf Retail needs attention", red.Reason), func() {
		eng.setHealth([]app.Health{red})
	})
	test.AssertNotificationSent(t, fyne.NewNotification("Green Leaf Retail is back in sync", green.Reason), func() {
		eng.setHealth([]app.Health{green})
	})
	// after an outage a license usually goes red, orange (a failed call is
	// recent), then green: "back in sync" still comes, once.
	eng.setHealth([]app.Health{red})
	test.AssertNotificationSent(t, nil, func() { eng.setHealth([]app.Health{healthOf(app.Orange)}) })
	test.AssertNotificationSent(t, fyne.NewNotification("Green Leaf Retail is back in sync", green.Reason), func() {
		eng.setHealth([]app.Health{green})
	})
	test.AssertNotificationSent(t, nil, func() { eng.setHealth([]app.Health{healthOf(app.Orange)}) })
	test.AssertNotificationSent(t, nil, func() { eng.setHealth([]app.Health{green}) })
	if u.counts[SecQueue] != 0 {
		t.Errorf("queue count %d", u.counts[SecQueue])
	}
}

func TestStatusPushNowSaysWhatHappens(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	eng := newFakeEngine(nil)
	s := newStatusScreen(eng, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	test.NewTempWindow(t, s.build())
	s.show([]app.Health{healthOf(app.Green)}, false, time.Time{})
	if s.note.Visible() {
		t.Error("note shown before any action")
	}
	test.Tap(s.cards["CML-000001"].push)
	if !s.note.Visible() || s.note.Text != "CML-000001: 3 records will be sent now." {
		t.Errorf("note %q", s.note.Text)
	}
}

// The tray icon takes the most severe colour; grey only when all are grey.
func TestTrayColourIsTheWorst(t *testing.T) {
	for _, tc := range []struct {
		in   []app.Color
		want app.Color
	}{
		{nil, app.Grey},
		{[]app.Color{app.Grey, app.Grey}, app.Grey},
		{[]app.Color{app.Grey, app.Green}, app.Green},
		{[]app.Color{app.Green, app.Orange, app.Green}, app.Orange},
		{[]app.Color{app.Orange, app.Red, app.Grey}, app.Red},
	} {
		var hs []app.Health
		for _, c := range tc.in {
			hs = append(hs, app.Health{Color: c})
		}
		if got := worst(hs); got != tc.want {
			t.Errorf("worst(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
