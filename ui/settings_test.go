package ui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"tracesync/app"
)

type fakeAutostart struct{ on bool }

func (a *fakeAutostart) Enabled() bool  { return a.on }
func (a *fakeAutostart) Enable() error  { a.on = true; return nil }
func (a *fakeAutostart) Disable() error { a.on = false; return nil }

func TestSettingsKeysOnlyInKeyring(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{}
	kr := &mapKeyring{}
	auto := &fakeAutostart{}
	var w fyne.Window
	s := newSettingsScreen(st, kr, auto, nil, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())

	if !strings.Contains(s.keyStatus.Text, "TRACESYNC_VENDOR_KEY") || !strings.Contains(s.keyStatus.Text, "No vendor key and no user key") {
		t.Errorf("without keys: %q", s.keyStatus.Text)
	}
	const vendor, user = "VENDOR-SECRET-123", "USER-SECRET-456"
	test.Type(s.vendor, vendor)
	test.Type(s.user, user)
	s.url.SetText("https://api-ca.metrc.com")
	s.pull.SetText("5")
	s.admins.SetText("boss@example.com")
	s.smtpPass.SetText("SMTP-SECRET")
	test.Tap(findButton(w.Content(), "Save keys in the keyring"))
	test.Tap(findButton(w.Content(), "Save settings"))
	test.Tap(s.autostart)

	if kr.m[KeyVendor] != vendor || kr.m[KeyUser] != user || kr.m[KeySMTPPassword] != "SMTP-SECRET" {
		t.Errorf("keyring %v", kr.m)
	}
	if s.vendor.Text != "" || s.user.Text != "" {
		t.Error("keys left in the entries")
	}
	if !strings.Contains(s.keyStatus.Text, "Both keys are saved") {
		t.Errorf("status %q", s.keyStatus.Text)
	}
	if !auto.on {
		t.Error("autostart not enabled")
	}
	// the settings record holds the rest, and no secret
	b, _ := json.Marshal(st.settings)
	for _, secret := range []string{vendor, user, "SMTP-SECRET"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("secret %q in the settings store: %s", secret, b)
		}
	}
	cfg := st.settings[app.SettingsKey].(app.Settings)
	if cfg.MetrcURL != "https://api-ca.metrc.com" || cfg.PullInterval != 5*time.Minute || cfg.AdminEmails[0] != "boss@example.com" {
		t.Errorf("settings %+v", cfg)
	}
	// and nothing secret in the preferences
	p := a.Preferences()
	for _, k := range []string{KeyVendor, KeyUser, KeySMTPPassword, "vendorKey", "userKey", prefSection} {
		for _, v := range []string{p.String(k)} {
			for _, secret := range []string{vendor, user, "SMTP-SECRET"} {
				if strings.Contains(v, secret) {
					t.Errorf("secret in preference %q", k)
				}
			}
		}
	}
}

func TestSettingsWithoutKeyringPointsToEnvironment(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	s := newSettingsScreen(&fakeStore{}, nil, nil, nil, func() fyne.Window { return nil })
	test.NewTempWindow(t, s.build())
	if !strings.Contains(s.keyStatus.Text, "TRACESYNC_VENDOR_KEY and TRACESYNC_USER_KEY") {
		t.Errorf("status %q", s.keyStatus.Text)
	}
}

func TestSettingsRejectsPlainHTTP(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{}
	var w fyne.Window
	s := newSettingsScreen(st, &mapKeyring{}, nil, nil, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	s.url.SetText("http://metrc.example.com")
	test.Tap(findButton(w.Content(), "Save settings"))
	if _, ok := st.settings[app.SettingsKey]; ok {
		t.Error("plain http URL saved")
	}
}

// In a demo started for want of keys, Settings says what it is setting up
// and offers to restart once the keys are saved.
func TestSettingsSetupNoteAndRestart(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	var w fyne.Window
	s := newSettingsScreen(&fakeStore{}, &mapKeyring{}, nil, nil, func() fyne.Window { return w })
	s.note = "No Metrc keys are saved yet: set up Metrc in Settings, then restart."
	restarted := 0
	s.restart = func() { restarted++ }
	w = test.NewTempWindow(t, s.build())
	_ = a
	if text := strings.Join(labels(w.Content()), " "); !strings.Contains(text, "No Metrc keys are saved yet") || !strings.Contains(text, "your real setup") {
		t.Errorf("setup note missing: %q", text)
	}
	test.Tap(findButton(w.Content(), "Restart now"))
	dlg := topOverlay(w)
	if dlg == nil {
		t.Fatal("restart did not ask")
	}
	test.Tap(findButton(dlg, "Yes"))
	if restarted != 1 {
		t.Errorf("restarted %d times", restarted)
	}
}

// An SMTP server without a sender or recipients would mail nothing, in
// silence: Settings refuses it.
func TestSettingsMailNeedsSenderAndRecipients(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	var w fyne.Window
	s := newSettingsScreen(&fakeStore{}, &mapKeyring{}, nil, nil, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	s.smtpHost.SetText("smtp.example.com")
	if _, err := s.collect(); err == nil || !strings.Contains(err.Error(), "sender") {
		t.Errorf("no sender, no recipients: %v", err)
	}
	s.smtpFrom.SetText("tracesync@example.com")
	s.admins.SetText("boss@example.com")
	if _, err := s.collect(); err != nil {
		t.Errorf("complete mail settings: %v", err)
	}
}
