package reconcile

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
	"tracesync/app/mail"
	"tracesync/app/mail/mailtest"
)

// mailLog is a Mailer that records the dates of the reports it sent.
type mailLog struct {
	mu    sync.Mutex
	dates []string
}

func (l *mailLog) Send(_ context.Context, m mail.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dates = append(l.dates, strings.Fields(m.Subject)[2][:len("2000-01-01")])
	return nil
}

func (l *mailLog) sent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.dates)
}

func exportedFiles(t *testing.T, dir, date string) bool {
	t.Helper()
	for _, ext := range []string{"csv", "html"} {
		if _, err := os.Stat(ExportPath(dir, date, ext)); err != nil {
			return false
		}
	}
	return true
}

// TestNightlyDeliversAReportStoredBeforeItWasDue: asking for yesterday's
// report after midnight (which stores it) must not cancel that night's
// export and mail.
func TestNightlyDeliversAReportStoredBeforeItWasDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openStore(t)
		dir := t.TempDir()
		ml := &mailLog{}
		utc := app.License{Number: "L1", TimeZone: "UTC"}
		// The bubble starts at 2000-01-01 00:00 UTC; the report of 12-31
		// comes due at 02:00.
		r := New(Params{Store: s, Logger: quiet(), Licenses: []app.License{utc}, Mailer: ml, DataDir: dir})
		if _, err := r.Report("1999-12-31"); err != nil { // `tracesync report` at 00:00
			t.Fatal(err)
		}
		stored, err := s.Report("1999-12-31")
		if err != nil {
			t.Fatalf("a finished day was not stored: %v", err)
		}
		defer runLoop(t, r)()
		synctest.Wait()
		if exportedFiles(t, dir, "1999-12-31") || slices.Contains(ml.sent(), "1999-12-31") {
			t.Fatal("delivered before it was due")
		}
		time.Sleep(2*time.Hour + time.Second)
		synctest.Wait()
		if !exportedFiles(t, dir, "1999-12-31") {
			t.Error("the nightly run did not export a report stored earlier")
		}
		if got := ml.sent(); !slices.Equal(got, []string{"1999-12-30", "1999-12-31"}) {
			t.Errorf("mailed %v", got)
		}
		if again, _ := s.Report("1999-12-31"); !again.Generated.Equal(stored.Generated) {
			t.Error("the stored report was rebuilt")
		}
	})
}

// runLoop starts the nightly loop; the function it returns stops it and
// waits for it (deferred, so a failed test leaves no goroutine behind in
// its synctest bubble).
func runLoop(t *testing.T, r *Reconciler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.RunReports(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// onePass runs one pass of the nightly loop at the fake clock's time (the
// catch-up a start makes), then stops it.
func onePass(t *testing.T, r *Reconciler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	passed := make(chan struct{})
	var once sync.Once
	r.afterPass = func() { once.Do(func() { close(passed) }) }
	done := make(chan error)
	go func() { done <- r.RunReports(ctx) }()
	select {
	case <-passed:
	case err := <-done:
		t.Fatalf("RunReports returned %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCatchUpDeliversEveryMissedDayOnce: the app was off for two nights,
// and `tracesync report` stored one of those days meanwhile. At start the
// catch-up exports and mails both days, leaves the stored report as it was,
// and a later run delivers only the new day.
func TestCatchUpDeliversEveryMissedDayOnce(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := openStore(t)
	dir := t.TempDir()
	la := lic.Location()
	clk := &fakeClock{t: time.Date(2026, 2, 10, 2, 30, 0, 0, la)}
	sender, err := mail.New(mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "t@shop.example", To: []string{"admin@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	app1 := func() *Reconciler {
		return New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, Mailer: sender, DataDir: dir})
	}
	onePass(t, app1()) // the night of 02-09

	// Off for two nights; a headless `tracesync report` (no SMTP, no data
	// folder export, like the CLI without an owner) reads 02-11 at 01:00.
	clk.t = time.Date(2026, 2, 12, 1, 0, 0, 0, la)
	cli := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}})
	if _, err := cli.Report("2026-02-11"); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Report("2026-02-11")
	if err != nil {
		t.Fatal(err)
	}

	clk.t = time.Date(2026, 2, 12, 3, 0, 0, 0, la)
	onePass(t, app1())
	for _, d := range []string{"2026-02-09", "2026-02-10", "2026-02-11"} {
		if !exportedFiles(t, dir, d) {
			t.Errorf("%s not exported", d)
		}
	}
	if again, _ := s.Report("2026-02-11"); !again.Generated.Equal(stored.Generated) {
		t.Error("the stored report was rebuilt")
	}
	if err := os.WriteFile(ExportPath(dir, "2026-02-11", "csv"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The next night: only 02-12 is delivered.
	clk.t = time.Date(2026, 2, 13, 2, 30, 0, 0, la)
	onePass(t, app1())
	var dates []string
	for _, m := range srv.Messages() {
		_, rest, _ := strings.Cut(m.Data, "Subject: tracesync report ")
		dates = append(dates, rest[:len("2026-02-10")])
	}
	if want := []string{"2026-02-09", "2026-02-10", "2026-02-11", "2026-02-12"}; !slices.Equal(dates, want) {
		t.Errorf("mailed %v, want %v", dates, want)
	}
	if b, _ := os.ReadFile(ExportPath(dir, "2026-02-11", "csv")); string(b) != "kept" {
		t.Error("a delivered report was exported again")
	}
	r := app1()
	if owed, err := r.owed(r.lastDueDate(clk.Now())); err != nil || len(owed) != 0 {
		t.Errorf("still owed: %v %v", owed, err)
	}
	box, _ := r.Outbox()
	if len(box) != 4 {
		t.Errorf("outbox %+v", box)
	}
}

// TestCatchUpIsCapped: after a long absence only the latest CatchUpDays
// days are delivered.
func TestCatchUpIsCapped(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, lic.Location())}
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, DataDir: dir})
	if err := r.Nightly(context.Background(), "2026-01-01"); err != nil {
		t.Fatal(err)
	}
	clk.t = time.Date(2026, 3, 1, 3, 0, 0, 0, lic.Location())
	owed, err := r.owed(r.lastDueDate(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(owed) != CatchUpDays || owed[len(owed)-1] != "2026-02-28" {
		t.Fatalf("owed %v", owed)
	}
}

// TestReportDueAtEveryLicensesReportTime: with licenses in New York and Los
// Angeles (New York listed first), the report of a day comes due at 02:00
// in Los Angeles, once both days are over, not at 02:00 in New York.
func TestReportDueAtEveryLicensesReportTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openStore(t)
		ny := app.License{Number: "NY1", TimeZone: "America/New_York"}
		la := app.License{Number: "LA1", TimeZone: "America/Los_Angeles"}
		ml := &mailLog{}
		r := New(Params{Store: s, Logger: quiet(), Licenses: []app.License{ny, la}, Mailer: ml})
		// 2000-01-01 00:00 UTC is 12-31 19:00 in New York, 16:00 in LA.
		defer runLoop(t, r)()
		synctest.Wait()
		time.Sleep(7*time.Hour + 30*time.Minute) // 02:30 in New York, 23:30 in LA
		synctest.Wait()
		if dates, _ := s.ReportDates(); !slices.Equal(dates, []string{"1999-12-30"}) {
			t.Fatalf("at 02:30 New York: reports %v (Los Angeles' day is not over)", dates)
		}
		time.Sleep(2*time.Hour + 31*time.Minute) // 02:01 in LA
		synctest.Wait()
		if dates, _ := s.ReportDates(); !slices.Equal(dates, []string{"1999-12-30", "1999-12-31"}) {
			t.Fatalf("at 02:01 LA: reports %v", dates)
		}
		rep, _ := s.Report("1999-12-31")
		for _, l := range rep.Licenses {
			if rep.Generated.Before(l.To) {
				t.Errorf("%s: built at %v, before its day ended at %v", l.License, rep.Generated, l.To)
			}
		}
		if got := ml.sent(); !slices.Equal(got, []string{"1999-12-30", "1999-12-31"}) {
			t.Errorf("mailed %v", got)
		}
	})
}

func TestDueAtAndLastDueDate(t *testing.T) {
	zone := func(z string) app.License { return app.License{Number: z, TimeZone: z} }
	for _, tc := range []struct {
		name     string
		licenses []app.License
		at       string
		date     string
		due      time.Time
	}{
		{"one zone", []app.License{zone("America/Los_Angeles")}, "02:00", "2026-02-10",
			time.Date(2026, 2, 11, 10, 0, 0, 0, time.UTC)},
		{"the westmost zone decides", []app.License{zone("America/New_York"), zone("America/Los_Angeles")}, "02:00", "2026-02-10",
			time.Date(2026, 2, 11, 10, 0, 0, 0, time.UTC)},
		{"either order", []app.License{zone("America/Los_Angeles"), zone("America/New_York")}, "02:00", "2026-02-10",
			time.Date(2026, 2, 11, 10, 0, 0, 0, time.UTC)},
		{"across the date line", []app.License{zone("Asia/Tokyo"), zone("Pacific/Honolulu")}, "23:30", "2026-02-10",
			time.Date(2026, 2, 12, 9, 30, 0, 0, time.UTC)},
		{"no license: ReportZone", nil, "02:00", "2026-02-10",
			time.Date(2026, 2, 11, 2, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Params{Store: openStore(t), Logger: quiet(), Licenses: tc.licenses, ReportTime: tc.at, ReportZone: time.UTC})
			if got := r.dueAt(tc.date); !got.Equal(tc.due) {
				t.Fatalf("dueAt %v, want %v", got, tc.due)
			}
			if got := r.lastDueDate(tc.due); got != tc.date {
				t.Errorf("at the due time: %s", got)
			}
			if got := r.lastDueDate(tc.due.Add(-time.Second)); got != addDays(tc.date, -1) {
				t.Errorf("a second before: %s", got)
			}
		})
	}
}

// TestSendNowResendsTheStoredReport: "Send by email now" sends the stored
// report as it is, returns the SMTP error when the server refuses, keeps
// that mail in the outbox, and a later nightly run does not mail the day
// again.
func TestSendNowResendsTheStoredReport(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := openStore(t)
	clk := &fakeClock{}
	date := dayFixture(t, s, clk)
	la := lic.Location()
	clk.t = time.Date(2026, 2, 11, 1, 0, 0, 0, la)
	sender, _ := mail.New(mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "t@shop.example", To: []string{"admin@shop.example"}})
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, Mailer: sender, DataDir: t.TempDir()})
	stored, err := r.Report(date)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	clk.Add(time.Hour)
	srv.FailNext(1)
	err = r.SendNow(ctx, date)
	if err == nil || !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), date) {
		t.Fatalf("a refused send returned %v", err)
	}
	box, _ := r.Outbox()
	if len(box) != 1 || !box[0].SentAt.IsZero() || box[0].Attempts != 1 || !strings.Contains(box[0].LastError, "451") ||
		!box[0].NextTry.After(clk.Now()) {
		t.Fatalf("outbox after a failure: %+v", box)
	}
	if err := r.SendNow(ctx, date); err != nil {
		t.Fatal(err)
	}
	if box, _ = r.Outbox(); len(box) != 1 || box[0].SentAt.IsZero() || box[0].Attempts != 2 {
		t.Fatalf("the waiting mail was not the one sent: %+v", box)
	}
	// Sent already: "send now" sends it again.
	if err := r.SendNow(ctx, date); err != nil {
		t.Fatal(err)
	}
	if box, _ = r.Outbox(); len(box) != 2 || len(srv.Messages()) != 2 {
		t.Fatalf("send again: outbox %+v, %d mails", box, len(srv.Messages()))
	}
	// The nightly run exports it but does not mail the day a third time,
	// and nothing rebuilt the stored report.
	clk.t = time.Date(2026, 2, 11, 2, 0, 0, 0, la)
	if err := r.Nightly(ctx, date); err != nil {
		t.Fatal(err)
	}
	if len(srv.Messages()) != 2 || !exportedFiles(t, r.p.DataDir, date) {
		t.Errorf("nightly after a manual send: %d mails", len(srv.Messages()))
	}
	if again, _ := s.Report(date); !again.Generated.Equal(stored.Generated) {
		t.Errorf("the stored report was rebuilt: generated %v, was %v", again.Generated, stored.Generated)
	}
	for _, m := range srv.Messages() {
		if !strings.Contains(m.Data, "tracesync report "+date) {
			t.Errorf("mail of another report:\n%.300s", m.Data)
		}
	}

	// A day not over is not mailed; nor is anything without SMTP.
	today := clk.Now().In(la).Format(app.DateLayout)
	if err := r.SendNow(ctx, today); !errors.Is(err, ErrDayNotOver) {
		t.Errorf("today: %v", err)
	}
	if err := r.Nightly(ctx, today); !errors.Is(err, ErrDayNotOver) {
		t.Errorf("nightly of today: %v", err)
	}
	noSMTP := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}})
	if err := noSMTP.SendNow(ctx, date); !errors.Is(err, mail.ErrNotConfigured) {
		t.Errorf("without SMTP: %v", err)
	}
}
