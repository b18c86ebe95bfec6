// Package ui is tracesync's desktop window (Fyne): license status, the
// queue, inventory, the audit feed, reports, Metrc's response times,
// settings, the demo panel and the tray icon.
//
// Each screen is a small struct with newX, build and onY handlers, and
// declares the few engine or store methods it needs (api.go). Engine and
// store calls run off the UI goroutine; their results come back through
// fyne.Do. Errors become plain words in words.go.
package ui

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/godbus/dbus/v5"

	"tracesync/app"
	"tracesync/assets"
)

// Params is what the window needs. Engine, Store and Clock are required;
// the others may be nil (the screens that need them say so).
type Params struct {
	Engine     EngineAPI
	Store      StoreAPI // lists the engine does not page (*store.Store)
	Reconciler ReconcileAPI
	AuditCheck AuditChecker // "Check now" on the audit screen; nil hides it
	Reports    ReportTools
	Demo       DemoAPI // nil when not in demo mode
	Keyring    Keyring
	Autostart  Autostart
	Settings   SettingsAPI // nil: Store is used when it implements SettingsAPI
	Importer   ImportAPI
	Clock      app.Clock
	Minimized  bool
	DataDir    string
	// Facilities lists the user's licenses in Metrc (Settings); may be nil.
	Facilities func(ctx context.Context) ([]app.Facility, error)
	// SetupNote, when a demo runs because Metrc is not set up yet, says so
	// (the banner and Settings show it).
	SetupNote string
	// Restart quits and starts tracesync again, so new keys and settings
	// take effect; nil hides "Restart now".
	Restart func()
	// OnQuit, when set, ends the program once the UI has stopped: it is
	// called once, off the UI goroutine, and Fyne's loop is never ended
	// (Fyne 2.7.1 can race and panic, "send on closed channel", while that
	// loop shuts down: fyne-io/fyne#5748). Without it the app quits Fyne.
	OnQuit func()
}

// Preference keys (non-secret UI state only).
const (
	prefSize       = "window.size" // [width, height]: one write, so one save
	prefSection    = "window.section"
	prefTrayToldAt = "tray.told"
)

// Section names of the sidebar.
const (
	SecStatus    = "Status"
	SecQueue     = "Queue"
	SecInventory = "Inventory"
	SecAudit     = "Inventory audit"
	SecReports   = "Reports"
	SecLatency   = "Metrc response times"
	SecImport    = "Import"
	SecSettings  = "Settings"
	SecDemo      = "Demo"
)

// UI is the tracesync window.
type UI struct {
	a   fyne.App
	w   fyne.Window
	p   Params
	ctx context.Context
	end context.CancelFunc

	sections []string
	counts   map[string]int
	side     *widget.List
	content  *fyne.Container
	built    map[string]fyne.CanvasObject
	current  string

	status    *statusScreen
	queue     *queueScreen
	inventory *inventoryScreen
	audit     *auditScreen
	reports   *reportsScreen
	latency   *latencyScreen
	imp       *importScreen
	settings  *settingsScreen
	demo      *demoScreen

	zmu    sync.Mutex
	zones  map[string]*time.Location
	colors map[string]app.Color // last colour per license, for notifications
	wasRed map[string]bool      // red since it was last green: "back in sync" is due

	trayMenu  *fyne.Menu
	trayPause *fyne.MenuItem
	allPaused bool // every license paused (UI goroutine)
	tray      bool
	quitted   sync.Once
	closed    sync.Once
	seq       atomic.Uint64 // health snapshots, in arrival order
	applied   uint64        // the newest applied (UI goroutine)
	cancel    func()
}

// New builds the window (not shown yet).
func New(a fyne.App, p Params) *UI {
	if p.Clock == nil {
		p.Clock = app.SystemClock{}
	}
	if p.Settings == nil {
		if s, ok := p.Store.(SettingsAPI); ok {
			p.Settings = s
		}
	}
	u := &UI{a: a, p: p, counts: map[string]int{}, built: map[string]fyne.CanvasObject{},
		zones: map[string]*time.Location{}, colors: map[string]app.Color{}, wasRed: map[string]bool{}}
	u.ctx, u.end = context.WithCancel(context.Background())
	stopped.Store(false)
	u.w = a.NewWindow("tracesync")
	u.w.SetIcon(assets.Icon)
	a.SetIcon(assets.Icon)

	win := func() fyne.Window { return u.w }
	u.status = newStatusScreen(p.Engine, p.Clock, u.zone, win)
	u.queue = newQueueScreen(p.Engine, p.Store, p.Clock, u.zone, win)
	u.queue.onChange = u.refreshCounts
	u.inventory = newInventoryScreen(p.Engine, p.Store, p.Clock, u.zone, win)
	u.inventory.onQueued = u.refreshCounts // the queue's count at once
	u.audit = newAuditScreen(p.Reconciler, p.Clock, u.zone, win)
	u.audit.onChange = u.refreshCounts
	if p.AuditCheck != nil && p.Store != nil {
		u.audit.check, u.audit.ctx = p.AuditCheck, u.ctx
		u.audit.licenses = u.licenseNumbers
	}
	u.reports = newReportsScreen(p.Reconciler, p.Reports, p.Clock, u.zone, win)
	u.latency = newLatencyScreen(p.Store, p.Clock, u.zone, win)
	u.imp = newImportScreen(p.Importer, win)
	u.settings = newSettingsScreen(p.Settings, p.Keyring, p.Autostart, p.Facilities, win)
	u.settings.note, u.settings.restart = p.SetupNote, p.Restart
	if p.Demo != nil {
		u.demo = newDemoScreen(p.Demo, win)
	}

	u.sections = []string{SecStatus, SecQueue, SecInventory, SecAudit, SecReports, SecLatency, SecImport, SecSettings}
	if p.Demo != nil {
		u.sections = append(u.sections, SecDemo)
	}
	u.w.SetContent(u.build())
	u.built[SecStatus] = u.status.build() // always: health updates land there
	prefs := a.Preferences()
	size := prefs.FloatListWithFallback(prefSize, []float64{1100, 720})
	if len(size) != 2 {
		size = []float64{1100, 720}
	}
	u.w.Resize(fyne.NewSize(float32(size[0]), float32(size[1])))
	u.show(prefs.StringWithFallback(prefSection, SecStatus))
	u.start()
	return u
}

// Window returns the main window.
func (u *UI) Window() fyne.Window { return u.w }

func (u *UI) build() fyne.CanvasObject {
	u.side = widget.NewList(
		func() int { return len(u.sections) },
		func() fyne.CanvasObject { return widget.NewLabel("Inventory audit 000") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			name := u.sections[i]
			text := name
			if n := u.counts[name]; n > 0 {
				text = fmt.Sprintf("%s  (%s)", name, app.Thousands(n))
			}
			o.(*widget.Label).SetText(text)
		})
	u.side.OnSelected = func(i widget.ListItemID) { u.show(u.sections[i]) }
	u.content = container.NewStack()
	var top fyne.CanvasObject
	if u.p.Demo != nil {
		bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
		text := "Demo — simulated Metrc, not your data"
		if u.p.SetupNote != "" {
			text += "\n" + u.p.SetupNote
		}
		l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		top = container.NewStack(bg, l)
	}
	split := container.NewHSplit(u.side, u.content)
	split.Offset = 0.17
	return container.NewBorder(top, nil, nil, nil, split)
}

// show switches the section (built on first use) and remembers it.
func (u *UI) show(name string) {
	obj, ok := u.built[name]
	if !ok {
		obj = u.buildSection(name)
		if obj == nil {
			name, obj = SecStatus, u.built[SecStatus]
			if obj == nil {
				obj = u.buildSection(SecStatus)
			}
		}
		u.built[name] = obj
	} else if name != u.current {
		switch name { // what changed while it was hidden
		case SecAudit:
			u.audit.reload()
		case SecQueue:
			u.queue.refresh()
		}
	}
	u.current = name
	u.latency.setVisible(u.ctx, name == SecLatency)
	u.content.Objects = []fyne.CanvasObject{obj}
	u.content.Refresh()
	for i, s := range u.sections {
		if s == name {
			u.side.Select(i)
		}
	}
	u.a.Preferences().SetString(prefSection, name)
	u.saveSize()
}

func (u *UI) buildSection(name string) fyne.CanvasObject {
	switch name {
	case SecStatus:
		return u.status.build()
	case SecQueue:
		o := u.queue.build()
		async(func() { u.loadLicenses() })
		return o
	case SecInventory:
		o := u.inventory.build()
		async(func() { u.loadLicenses() })
		return o
	case SecAudit:
		return u.audit.build()
	case SecReports:
		return u.reports.build()
	case SecLatency:
		o := u.latency.build()
		async(func() { u.loadLicenses() })
		return o
	case SecImport:
		return u.imp.build()
	case SecSettings:
		return u.settings.build()
	case SecDemo:
		if u.demo != nil {
			return u.demo.build()
		}
	}
	return nil
}

// zone returns a license's time zone (UTC until the licenses are read).
func (u *UI) zone(license string) *time.Location {
	u.zmu.Lock()
	defer u.zmu.Unlock()
	if z, ok := u.zones[license]; ok {
		return z
	}
	return time.Local
}

// licenseNumbers lists the license numbers (off the UI goroutine).
func (u *UI) licenseNumbers() ([]string, error) {
	ls, err := u.p.Store.Licenses()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Number
	}
	return out, nil
}

// loadLicenses reads the licenses (zones, pause state, filter choices).
func (u *UI) loadLicenses() {
	if u.p.Store == nil {
		return
	}
	ls, err := u.p.Store.Licenses()
	if err != nil {
		return
	}
	names := make([]string, 0, len(ls))
	paused := map[string]bool{}
	u.zmu.Lock()
	for _, l := range ls {
		u.zones[l.Number] = l.Location()
		names = append(names, l.Number)
		paused[l.Number] = l.Paused
	}
	u.zmu.Unlock()
	do(func() {
		u.allPaused = len(paused) > 0
		for _, p := range paused {
			u.allPaused = u.allPaused && p
		}
		u.showAllPaused()
		u.status.setPaused(paused)
		u.queue.setLicenses(names)
		u.inventory.setLicenses(names)
		u.latency.setLicenses(names)
	})
}

// start subscribes to health and refreshes relative times periodically.
func (u *UI) start() {
	async(func() { u.loadLicenses() })
	// the engine calls back on its own goroutine and wants it back quickly:
	// the reads onHealth does (audit count) run elsewhere.
	u.cancel = u.p.Engine.Subscribe(func(hs []app.Health) {
		seq := u.seq.Add(1)
		async(func() { u.applyHealth(seq, hs) })
	})
	async(func() { u.onHealth(u.p.Engine.Health()) })
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-t.C:
				u.onHealth(u.p.Engine.Health())
			}
		}
	}()
}

// onHealth applies a snapshot read now.
func (u *UI) onHealth(hs []app.Health) { u.applyHealth(u.seq.Add(1), hs) }

// applyHealth runs off the UI goroutine: it reads what the screens need,
// then applies it on the UI goroutine unless a newer snapshot was applied.
func (u *UI) applyHealth(seq uint64, hs []app.Health) {
	down, since := u.p.Engine.APIDown()
	attention := 0
	for _, h := range hs {
		attention += h.NeedsAttention
	}
	audit := -1
	if u.p.Reconciler != nil {
		if items, err := u.p.Reconciler.AuditItems(true); err == nil {
			audit = len(items)
		}
	}
	do(func() {
		if seq < u.applied {
			return // an older snapshot arriving late
		}
		u.applied = seq
		u.status.show(hs, down, since)
		if u.current == SecQueue {
			u.queue.refresh()
		}
		u.counts[SecQueue] = attention
		if audit >= 0 {
			if audit != u.counts[SecAudit] {
				u.audit.reload() // the open items changed: the list too
			}
			u.counts[SecAudit] = audit
		}
		u.side.Refresh()
		u.notify(hs)
		u.setTrayIcon(hs)
	})
}

// refreshCounts re-reads the counts after an action.
func (u *UI) refreshCounts() {
	async(func() { u.onHealth(u.p.Engine.Health()) })
}

// notify sends a desktop notification when a license turns red, and when
// it is green again after red (usually through orange: a failed call keeps
// it orange for a while after an outage).
func (u *UI) notify(hs []app.Health) {
	for _, h := range hs {
		prev, seen := u.colors[h.License]
		u.colors[h.License] = h.Color
		wasRed := u.wasRed[h.License]
		switch h.Color {
		case app.Red:
			u.wasRed[h.License] = true
		case app.Green:
			delete(u.wasRed, h.License)
		}
		if !seen {
			if h.Color == app.Red {
				u.a.SendNotification(fyne.NewNotification(h.Name+" needs attention", h.Reason))
			}
			continue
		}
		switch {
		case h.Color == app.Red && prev != app.Red:
			u.a.SendNotification(fyne.NewNotification(h.Name+" needs attention", h.Reason))
		case h.Color == app.Green && wasRed:
			u.a.SendNotification(fyne.NewNotification(h.Name+" is back in sync", h.Reason))
		}
	}
}

// worst is the most severe colour (Grey only when all are grey).
func worst(hs []app.Health) app.Color {
	w := app.Grey
	for _, h := range hs {
		if h.Color > w {
			w = h.Color
		}
	}
	return w
}

func (u *UI) setTrayIcon(hs []app.Health) {
	if !u.tray {
		return
	}
	if d, ok := u.a.(desktop.App); ok {
		d.SetSystemTrayIcon(assets.Tray(worst(hs).String()))
	}
}

func (u *UI) saveSize() {
	s := u.w.Canvas().Size()
	if s.Width > 200 && s.Height > 200 {
		// Fyne saves a change at once, but a second within 100 ms only
		// later: both numbers go in one write so a quit cannot lose one.
		u.a.Preferences().SetFloatList(prefSize, []float64{float64(s.Width), float64(s.Height)})
	}
}

// hasTray says whether a tray can be used. On Linux that needs a D-Bus
// session (quitting with a tray and no session bus panics: fyne #6403) and
// a tray host on it (else the icon never appears and a window closed "to
// the tray" could not be opened again).
func hasTray(a fyne.App) bool {
	if _, ok := a.(desktop.App); !ok {
		return false
	}
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true
	}
	return os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" && trayHostRuns()
}

// trayHostRuns asks the session bus whether a StatusNotifier host (the
// tray of KDE, GNOME with the AppIndicator extension, XFCE, ...) is there.
func trayHostRuns() bool {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}

// setupTray installs the tray menu and the close behaviour.
func (u *UI) setupTray() {
	u.tray = hasTray(u.a)
	if u.tray {
		d := u.a.(desktop.App)
		pause := fyne.NewMenuItem("Pause sync", nil)
		pause.Action = func() { u.pauseAll(!u.allPaused) }
		u.trayPause = pause
		menu := fyne.NewMenu("tracesync",
			fyne.NewMenuItem("Open", func() { u.w.Show(); u.w.RequestFocus() }),
			fyne.NewMenuItem("Push all now", func() {
				async(func() { _, _ = u.p.Engine.PushNow(app.DueSelector{All: true}) })
			}),
			pause,
			fyne.NewMenuItemSeparator(),
			fyne.NewMenuItem("Quit", u.quit))
		u.trayMenu = menu
		d.SetSystemTrayMenu(menu)
		d.SetSystemTrayIcon(assets.Tray(worst(u.p.Engine.Health()).String()))
		u.showAllPaused()
	}
	u.w.SetCloseIntercept(u.onClose)
}

// onClose keeps syncing: into the tray where there is one (said once),
// else it asks whether to quit.
func (u *UI) onClose() {
	u.saveSize()
	if u.tray {
		u.w.Hide()
		if !u.a.Preferences().Bool(prefTrayToldAt) {
			u.a.Preferences().SetBool(prefTrayToldAt, true)
			u.a.SendNotification(fyne.NewNotification("tracesync keeps syncing",
				"The window is closed but tracesync keeps sending your records. Open it again from the tray icon."))
		}
		return
	}
	d := dialog.NewCustomConfirm("Close tracesync?",
		"Quit", "Keep syncing",
		widget.NewLabel("While tracesync runs, it keeps sending your records to Metrc.\nQuit now, or keep it running?"),
		func(quit bool) {
			if quit {
				u.quit()
			}
		}, u.w)
	d.Show()
}

// showAllPaused words the tray's pause item after the licenses' real
// state (paused from the cards too), on the UI goroutine.
func (u *UI) showAllPaused() {
	if u.trayPause == nil {
		return
	}
	u.trayPause.Label = "Pause sync"
	if u.allPaused {
		u.trayPause.Label = "Resume sync"
	}
	u.trayMenu.Refresh()
}

func (u *UI) pauseAll(paused bool) {
	async(func() {
		for _, h := range u.p.Engine.Health() {
			_ = u.p.Engine.SetPaused(h.License, paused)
		}
		u.loadLicenses()
	})
}

// Quit stops the UI and quits the app, as the Quit menu does; safe from
// any goroutine (a signal handler, the demo's reset).
func (u *UI) Quit() { fyne.Do(u.quit) }

// quit stops everything once, then quits the app, or has OnQuit end the
// program. It runs on the UI goroutine, so no UI update is half-done when
// stopped is set.
func (u *UI) quit() {
	u.quitted.Do(func() {
		guarded(func() { // not when the driver already stopped
			u.saveSize()
			if u.p.OnQuit != nil {
				u.w.Hide() // gone at once while the engine stops
			}
		})
		stopped.Store(true)
		u.close()
		if u.p.OnQuit == nil {
			u.a.Quit()
			return
		}
		async(u.p.OnQuit)
	})
}

// close stops the UI's goroutines and the health subscription, once: quit
// and the end of ShowAndRun may both call it, on different goroutines when
// Fyne stopped the driver first.
func (u *UI) close() {
	u.closed.Do(func() {
		u.end()
		u.latency.setVisible(u.ctx, false)
		if u.cancel != nil {
			u.cancel()
		}
	})
}

// ShowAndRun shows the window (or only the tray with Minimized), runs the
// app until Quit, then stops the UI's goroutines. With OnQuit set it
// returns only if Fyne ended its loop itself (a signal it caught first).
func (u *UI) ShowAndRun() {
	u.setupTray()
	if !u.p.Minimized || !u.tray {
		u.w.Show()
	}
	u.a.Run()
	stop()
	u.close()
}
