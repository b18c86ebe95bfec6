package ui

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"tracesync/app"
	"tracesync/app/mail"
	"tracesync/app/mail/mailtest"
	"tracesync/app/reconcile"
	"tracesync/store"
)

// TestReportsSendFailureAndOutbox drives the Reports screen against the
// real reconciler, a bbolt store and an SMTP server on 127.0.0.1 that
// refuses the first mail: the screen says the report was not sent, the
// server's answer is one click away, the waiting mail is listed with its
// attempts, error and next try until it goes, and the stored report is
// sent as it was.
func TestReportsSendFailureAndOutbox(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "tracesync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sender, err := mail.New(mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "t@shop.example", To: []string{"admin@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	lic := app.License{Number: "CML-000001", Name: "Green Leaf Retail", TimeZone: "America/Los_Angeles"}
	rec := reconcile.New(reconcile.Params{Store: st, Clock: fixedClock{testNow}, Logger: slog.New(slog.DiscardHandler), Licenses: []app.License{lic}, Mailer: sender})
	const date = "2026-11-27"
	stored, err := rec.Report(date) // over in Los Angeles at testNow: stored
	if err != nil {
		t.Fatal(err)
	}
	tools := ReportTools{
		Render: func(w io.Writer, rep app.Report, format string) error { return nil },
		Send:   rec.SendNow, // the wiring of cmd/tracesync reportTools
	}
	var w fyne.Window
	s := newReportsScreen(rec, tools, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return w })
	w = test.NewTempWindow(t, s.build())
	t.Cleanup(s.stopReload)
	w.Resize(fyne.NewSize(1000, 700))
	if s.dates.Selected != date {
		t.Fatalf("selected %q", s.dates.Selected)
	}
	if text := strings.Join(labels(s.outbox), "\n"); !strings.Contains(text, "No report mail waiting.") {
		t.Errorf("outbox before sending:\n%s", text)
	}

	srv.FailNext(1)
	test.Tap(findButton(w.Content(), "Send by email now"))
	if !strings.Contains(s.status.Text, "The report of 2026-11-27 was not sent.") ||
		!strings.Contains(s.status.Text, "busy and asked to try again later") {
		t.Errorf("status after a refused send: %q", s.status.Text)
	}
	if !s.details.Visible() {
		t.Fatal("no way to the mail server's answer")
	}
	test.Tap(s.details)
	if text := strings.Join(labels(topOverlay(w)), "\n"); !strings.Contains(text, `451 "try again later"`) {
		t.Errorf("details:\n%s", text)
	}
	test.Tap(findButton(topOverlay(w), "Close"))

	row := strings.Join(labels(s.outbox), "\n")
	for _, want := range []string{"Report of 2026-11-27: not sent yet.", "Tried 1 time, the last at 11:17.",
		"busy and asked to try again later", "Next try at 11:18 (in 1 min), by itself."} {
		if !strings.Contains(row, want) {
			t.Errorf("outbox row lacks %q:\n%s", want, row)
		}
	}
	if s.reload == nil {
		t.Error("the outbox is not read again after the next try")
	}
	test.Tap(findButton(s.outbox, "Show error"))
	if text := strings.Join(labels(topOverlay(w)), "\n"); !strings.Contains(text, `451 "try again later"`) {
		t.Errorf("outbox error:\n%s", text)
	}
	test.Tap(findButton(topOverlay(w), "Close"))

	test.Tap(findButton(s.outbox, "Try again now"))
	if s.status.Text != "Report of 2026-11-27 sent." || s.details.Visible() {
		t.Errorf("status after sending: %q", s.status.Text)
	}
	text := strings.Join(labels(s.outbox), "\n")
	if !strings.Contains(text, "No report mail waiting. The last one sent was the report of 2026-11-27, at 11:17.") || s.reload != nil {
		t.Errorf("outbox after sending:\n%s", text)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Data, "tracesync report 2026-11-27") {
		t.Errorf("%d mails", len(msgs))
	}
	if again, _ := st.Report(date); !again.Generated.Equal(stored.Generated) {
		t.Error("sending rebuilt the stored report")
	}
}

// TestReportsOutboxWithoutSMTP: with no mail server set and nothing
// in the outbox, the screen says how to get reports by email.
func TestReportsOutboxWithoutSMTP(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "tracesync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := reconcile.New(reconcile.Params{Store: st, Clock: fixedClock{testNow}, Logger: slog.New(slog.DiscardHandler)})
	s := newReportsScreen(rec, ReportTools{}, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	w := test.NewTempWindow(t, s.build())
	t.Cleanup(s.stopReload)
	_ = w
	if text := strings.Join(labels(s.outbox), "\n"); !strings.Contains(text, "set up the mail server (SMTP) in Settings") {
		t.Errorf("outbox:\n%s", text)
	}
	if b := findButton(w.Content(), "Send by email now"); b == nil || !b.Disabled() {
		t.Error("send is enabled without SMTP")
	}
}

func TestMailWords(t *testing.T) {
	for _, tc := range []struct{ err, want string }{
		{"mail report 2026-11-27: send mail via 127.0.0.1:2525: dial failed: dial tcp 127.0.0.1:2525: connect: connection refused", "could not be reached"},
		{"mail report 2026-11-27: send mail via smtp.example:587: 535 5.7.8 Authentication credentials invalid", "user name or password"},
		{"mail report 2026-11-27: send mail via 127.0.0.1:2525: 451 try again later", "try again later"},
		{"mail report 2026-11-27: smtp password for ops: read the SMTP password from the OS keyring: secret not found", "keyring"},
		{"mail report 2026-11-27: send mail via smtp.example:587: 550 5.1.1 recipient rejected", "refused the mail or an address"},
		{"mail report 2026-11-27: SMTP is not set up (host, sender and at least one address are needed)", "not set up"},
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", "STARTTLS"},
		{"report 2026-11-27: the day is not over yet", ""},
		// Digits of a port or a message id are not reply codes.
		{"mail report 2026-11-27: send mail via 127.0.0.1:35350: send failed: closing SMTP DATA writer: 451 \"try again later\", affected message ID: <a535b@vm>", "try again later"},
		{"mail report 2026-11-27: send mail via 10.0.5.50:5535: read: EOF", "did not accept it"},
	} {
		if got := mailWords(tc.err); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.err, got, tc.want)
		}
	}
}
