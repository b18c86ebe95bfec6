package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// KeySMTPPassword is the keyring entry of the SMTP password (app/mail reads it).
const KeySMTPPassword = app.KeyringSMTPPassword

// settingsScreen edits app.Settings (in the store), the keys (in the
// keyring, never in preferences or the store), licenses and autostart.
type settingsScreen struct {
	st         SettingsAPI
	keys       Keyring
	auto       Autostart
	facilities func(ctx context.Context) ([]app.Facility, error)
	win        func() fyne.Window

	url, state, tz, pull                   *widget.Entry
	stale, failure, slow, oldest, warn     *widget.Entry
	smtpHost, smtpPort, smtpUser, smtpFrom *widget.Entry
	smtpPass, admins, reportTime           *widget.Entry
	vendor, user                           *widget.Entry
	keyStatus, saved                       *widget.Label
	licenses                               *fyne.Container
	autostart, startTLS                    *widget.Check
	current                                app.Settings
	note                                   string // why a demo runs (Params.SetupNote)
	restart                                func() // nil: no "Restart now"
}

func newSettingsScreen(st SettingsAPI, keys Keyring, auto Autostart, facilities func(context.Context) ([]app.Facility, error), win func() fyne.Window) *settingsScreen {
	return &settingsScreen{st: st, keys: keys, auto: auto, facilities: facilities, win: win}
}

func minutesEntry() *widget.Entry {
	e := widget.NewEntry()
	e.SetPlaceHolder("default")
	return e
}

func (s *settingsScreen) build() fyne.CanvasObject {
	s.url, s.state, s.tz, s.pull = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), minutesEntry()
	s.url.SetPlaceHolder("https://api-ca.metrc.com (or leave empty and give the state)")
	s.state.SetPlaceHolder("ca")
	s.tz.SetPlaceHolder("from the Metrc address, e.g. America/Los_Angeles")
	s.stale, s.failure, s.slow, s.oldest, s.warn = minutesEntry(), minutesEntry(), minutesEntry(), minutesEntry(), minutesEntry()
	s.smtpHost, s.smtpPort, s.smtpUser, s.smtpFrom = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	s.smtpPass, s.admins, s.reportTime = widget.NewPasswordEntry(), widget.NewEntry(), widget.NewEntry()
	s.startTLS = widget.NewCheck("Use STARTTLS (port 587 always does)", nil)
	s.admins.SetPlaceHolder("a@example.com, b@example.com")
	s.reportTime.SetPlaceHolder("02:00")
	s.vendor, s.user = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	s.vendor.SetPlaceHolder("leave empty to keep the saved key")
	s.user.SetPlaceHolder("leave empty to keep the saved key")
	s.keyStatus = widget.NewLabel("")
	s.keyStatus.Wrapping = fyne.TextWrapWord
	s.saved = widget.NewLabel("")
	s.licenses = container.NewVBox()
	s.autostart = widget.NewCheck("Start tracesync when I log in", nil)
	if s.auto == nil {
		s.autostart.Disable()
	}

	metrc := widget.NewForm(
		widget.NewFormItem("Metrc address", s.url),
		widget.NewFormItem("or state", s.state),
		widget.NewFormItem("Vendor key", s.vendor),
		widget.NewFormItem("User key", s.user),
	)
	buttons := container.NewHBox(widget.NewButton("Save keys in the keyring", s.onSaveKeys))
	if s.restart != nil {
		buttons.Add(widget.NewButton("Restart now", s.onRestart))
	}
	keys := container.NewVBox(metrc, s.keyStatus, buttons)
	if s.note != "" {
		n := widget.NewLabel(s.note + " The address, licenses and other settings saved here are your real setup, kept apart from the demo's data; the keys go to the OS keyring.")
		n.Wrapping = fyne.TextWrapWord
		n.Importance = widget.WarningImportance
		keys = container.NewVBox(n, keys)
	}
	sync := widget.NewForm(
		widget.NewFormItem("Time zone", s.tz),
		widget.NewFormItem("Pull every (min)", s.pull),
		widget.NewFormItem("Red when no pull for (min)", s.stale),
		widget.NewFormItem("Orange after a failure within (min)", s.failure),
		widget.NewFormItem("Orange when p95 over (s)", s.slow),
		widget.NewFormItem("Orange when oldest waiting over (min)", s.oldest),
		widget.NewFormItem("Red this long before the 24 h deadline (min)", s.warn),
	)
	mail := widget.NewForm(
		widget.NewFormItem("SMTP server", s.smtpHost), widget.NewFormItem("Port", s.smtpPort),
		widget.NewFormItem("", s.startTLS),
		widget.NewFormItem("User", s.smtpUser), widget.NewFormItem("Password", s.smtpPass),
		widget.NewFormItem("From", s.smtpFrom), widget.NewFormItem("Admin emails", s.admins),
		widget.NewFormItem("Report time", s.reportTime),
	)
	lic := container.NewVBox(s.licenses, container.NewHBox(
		widget.NewButton("Add license…", s.onAddLicense),
		widget.NewButton("Get licenses from Metrc", s.onFetchLicenses)))
	body := container.NewVBox(
		widget.NewCard("Metrc", "", keys),
		widget.NewCard("Licenses", "", lic),
		widget.NewCard("Sync and colours", "Changes apply the next time tracesync starts.", sync),
		widget.NewCard("Nightly report by email", "", mail),
		s.autostart,
		container.NewHBox(widget.NewButton("Save settings", s.onSave), s.saved),
	)
	s.load()
	return container.NewVScroll(body)
}

// load reads settings, licenses and key presence off the UI goroutine.
func (s *settingsScreen) load() {
	async(func() {
		var cfg app.Settings
		err := s.st.Setting(app.SettingsKey, &cfg)
		if errors.Is(err, app.ErrNotFound) {
			err = nil
		}
		ls, lerr := s.st.Licenses()
		status := s.keyWords()
		auto := s.auto != nil && s.auto.Enabled()
		do(func() {
			s.autostart.SetChecked(auto)
			s.autostart.OnChanged = s.onAutostart
			if err != nil {
				s.saved.SetText(errorLine("Settings could not be read", err))
			}
			s.show(cfg)
			s.showLicenses(ls, lerr)
			s.keyStatus.SetText(status)
		})
	})
}

// keyWords says whether the keys are in the keyring, in plain words.
func (s *settingsScreen) keyWords() string {
	if s.keys == nil {
		return "No keyring on this computer: set TRACESYNC_VENDOR_KEY and TRACESYNC_USER_KEY in the environment."
	}
	var missing []string
	for _, k := range []struct{ name, words string }{{KeyVendor, "vendor key"}, {KeyUser, "user key"}} {
		_, err := s.keys.Get(k.name)
		switch {
		case errors.Is(err, ErrNoKey):
			missing = append(missing, k.words)
		case err != nil:
			slog.Info("keyring unavailable", "err", err)
			return "This computer has no system keyring tracesync can use. Set TRACESYNC_VENDOR_KEY and TRACESYNC_USER_KEY in the environment instead; keys are never written in plain text."
		}
	}
	if len(missing) > 0 {
		return "No " + strings.Join(missing, " and no ") + " saved: tracesync runs in demo mode until both are set here or in TRACESYNC_VENDOR_KEY / TRACESYNC_USER_KEY."
	}
	return "Both keys are saved in the system keyring."
}

func durText(d, unit time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(d)/float64(unit), 'f', -1, 64)
}

func (s *settingsScreen) show(c app.Settings) {
	s.current = c
	s.url.SetText(c.MetrcURL)
	s.state.SetText(c.State)
	s.tz.SetText(c.TimeZone)
	s.pull.SetText(durText(c.PullInterval, time.Minute))
	s.stale.SetText(durText(c.PullStale, time.Minute))
	s.failure.SetText(durText(c.RecentFailure, time.Minute))
	s.slow.SetText(durText(c.SlowP95, time.Second))
	s.oldest.SetText(durText(c.OldestPending, time.Minute))
	s.warn.SetText(durText(c.DeadlineWarn, time.Minute))
	s.smtpHost.SetText(c.SMTPHost)
	if c.SMTPPort != 0 {
		s.smtpPort.SetText(strconv.Itoa(c.SMTPPort))
	}
	s.smtpUser.SetText(c.SMTPUser)
	s.startTLS.SetChecked(c.SMTPStartTLS)
	s.smtpFrom.SetText(c.SMTPFrom)
	s.admins.SetText(strings.Join(c.AdminEmails, ", "))
	s.reportTime.SetText(c.ReportTime)
}

func parseDur(text string, unit time.Duration, what string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%s: %q is not a number", what, text)
	}
	return time.Duration(f * float64(unit)), nil
}

// collect reads the form into Settings.
func (s *settingsScreen) collect() (app.Settings, error) {
	c := app.Settings{
		MetrcURL: strings.TrimSpace(s.url.Text), State: strings.ToLower(strings.TrimSpace(s.state.Text)),
		TimeZone: strings.TrimSpace(s.tz.Text), SMTPHost: strings.TrimSpace(s.smtpHost.Text),
		SMTPUser: strings.TrimSpace(s.smtpUser.Text), SMTPFrom: strings.TrimSpace(s.smtpFrom.Text),
		ReportTime: strings.TrimSpace(s.reportTime.Text),
	}
	if c.MetrcURL != "" && !strings.HasPrefix(c.MetrcURL, "https://") &&
		!strings.HasPrefix(c.MetrcURL, "http://127.0.0.1") && !strings.HasPrefix(c.MetrcURL, "http://localhost") {
		return c, fmt.Errorf("the Metrc address must start with https://")
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			return c, fmt.Errorf("time zone %q: %w", c.TimeZone, err)
		}
	}
	if c.ReportTime != "" {
		if _, err := time.Parse("15:04", c.ReportTime); err != nil {
			return c, fmt.Errorf("report time %q is not like 02:00", c.ReportTime)
		}
	}
	var err error
	for _, f := range []struct {
		dst  *time.Duration
		e    *widget.Entry
		unit time.Duration
		what string
	}{
		{&c.PullInterval, s.pull, time.Minute, "pull interval"}, {&c.PullStale, s.stale, time.Minute, "no pull for"},
		{&c.RecentFailure, s.failure, time.Minute, "failure within"}, {&c.SlowP95, s.slow, time.Second, "p95"},
		{&c.OldestPending, s.oldest, time.Minute, "oldest waiting"}, {&c.DeadlineWarn, s.warn, time.Minute, "deadline warning"},
	} {
		if *f.dst, err = parseDur(f.e.Text, f.unit, f.what); err != nil {
			return c, err
		}
	}
	c.SMTPStartTLS = s.startTLS.Checked
	if p := strings.TrimSpace(s.smtpPort.Text); p != "" {
		if c.SMTPPort, err = strconv.Atoi(p); err != nil {
			return c, fmt.Errorf("SMTP port %q is not a number", p)
		}
	}
	for _, a := range strings.Split(s.admins.Text, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if !strings.Contains(a, "@") {
				return c, fmt.Errorf("%q is not an email address", a)
			}
			c.AdminEmails = append(c.AdminEmails, a)
		}
	}
	if c.SMTPHost != "" && (strings.TrimSpace(c.SMTPFrom) == "" || len(c.AdminEmails) == 0) {
		return c, errors.New("to mail the nightly report, give the sender (From) and at least one admin email as well as the SMTP server")
	}
	return c, nil
}

func (s *settingsScreen) onSave() {
	c, err := s.collect()
	if err != nil {
		showError(s.win(), "Settings", err)
		return
	}
	pass := s.smtpPass.Text
	async(func() {
		err := s.st.PutSetting(app.SettingsKey, c)
		if err == nil && pass != "" && s.keys != nil {
			err = s.keys.Set(KeySMTPPassword, pass)
		}
		do(func() {
			if err != nil {
				showError(s.win(), "Settings", err)
				return
			}
			s.current = c
			s.smtpPass.SetText("")
			s.saved.SetText("Saved. Sync settings apply the next time tracesync starts.")
		})
	})
}

// onRestart asks, then quits and starts tracesync again.
func (s *settingsScreen) onRestart() {
	dialog.ShowConfirm("Restart tracesync?", "tracesync quits and starts again with the saved keys and settings. Nothing queued is lost.", func(ok bool) {
		if ok {
			s.restart()
		}
	}, s.win())
}

// onSaveKeys puts the typed keys in the keyring, then forgets them.
func (s *settingsScreen) onSaveKeys() {
	vendor, user := strings.TrimSpace(s.vendor.Text), strings.TrimSpace(s.user.Text)
	if vendor == "" && user == "" {
		async(func() { // the keyring is a D-Bus call: never on the UI goroutine
			status := s.keyWords()
			do(func() { s.keyStatus.SetText(status) })
		})
		return
	}
	if s.keys == nil {
		showError(s.win(), "Keys", ErrNoKeyring)
		return
	}
	async(func() {
		var err error
		if vendor != "" {
			err = s.keys.Set(KeyVendor, vendor)
		}
		if err == nil && user != "" {
			err = s.keys.Set(KeyUser, user)
		}
		status := s.keyWords()
		do(func() {
			s.vendor.SetText("")
			s.user.SetText("")
			if err != nil {
				showError(s.win(), "Keys", err)
			}
			s.keyStatus.SetText(status + " Restart tracesync to use new keys.")
		})
	})
}

func (s *settingsScreen) onAutostart(on bool) {
	if s.auto == nil {
		return
	}
	async(func() { // the entry is a file: never read on the UI goroutine
		if on == s.auto.Enabled() {
			return
		}
		var err error
		if on {
			err = s.auto.Enable()
		} else {
			err = s.auto.Disable()
		}
		if err != nil {
			do(func() {
				showError(s.win(), "Start at login", err)
				s.autostart.SetChecked(!on)
			})
		}
	})
}

func (s *settingsScreen) showLicenses(ls []app.License, err error) {
	var objs []fyne.CanvasObject
	if err != nil {
		objs = append(objs, widget.NewLabel(errorLine("Licenses could not be read", err)))
	}
	if len(ls) == 0 && err == nil {
		objs = append(objs, widget.NewLabel("No licenses yet."))
	}
	for _, l := range ls {
		tz := l.TimeZone
		if tz == "" {
			tz = "time zone from the Metrc address"
		}
		objs = append(objs, widget.NewLabel(fmt.Sprintf("%s — %s (%s)", l.Number, l.Name, tz)))
	}
	s.licenses.Objects = objs
	s.licenses.Refresh()
}

func (s *settingsScreen) onAddLicense() {
	num, name, tz := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	tz.SetPlaceHolder("America/Los_Angeles")
	items := []*widget.FormItem{widget.NewFormItem("License number", num), widget.NewFormItem("Name", name), widget.NewFormItem("Time zone", tz)}
	showForm(s.win(), "Add a license", "Add", items, func() {
		l := app.License{Number: strings.TrimSpace(num.Text), Name: strings.TrimSpace(name.Text), TimeZone: strings.TrimSpace(tz.Text)}
		if l.Number == "" {
			showError(s.win(), "Add a license", fmt.Errorf("the license number is required"))
			return
		}
		if l.TimeZone != "" {
			if _, err := time.LoadLocation(l.TimeZone); err != nil {
				showError(s.win(), "Add a license", fmt.Errorf("time zone %q: %w", l.TimeZone, err))
				return
			}
		}
		s.putLicenses([]app.License{l})
	})
}

func (s *settingsScreen) putLicenses(ls []app.License) {
	async(func() {
		var err error
		for _, l := range ls {
			if err = s.st.PutLicense(l); err != nil {
				break
			}
		}
		all, lerr := s.st.Licenses()
		do(func() {
			if err != nil {
				showError(s.win(), "Licenses", err)
			}
			s.showLicenses(all, lerr)
			s.saved.SetText("Licenses saved. They are synced from the next start.")
		})
	})
}

// onFetchLicenses adds the user's facilities from Metrc.
func (s *settingsScreen) onFetchLicenses() {
	if s.facilities == nil {
		showError(s.win(), "Licenses", fmt.Errorf("metrc is not configured yet: %w", ErrNoKey))
		return
	}
	async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		fs, err := s.facilities(ctx)
		if err != nil {
			do(func() { showError(s.win(), "Get licenses from Metrc", err) })
			return
		}
		have, _ := s.st.Licenses()
		known := map[string]bool{}
		for _, l := range have {
			known[l.Number] = true
		}
		var add []app.License
		for _, f := range fs {
			if !known[f.License] {
				name := f.DisplayName
				if name == "" {
					name = f.Name
				}
				add = append(add, app.License{Number: f.License, Name: name})
			}
		}
		s.putLicenses(add)
	})
}
