package reconcile

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"text/template"
	"time"

	"tracesync/app"
	"tracesync/app/mail"
	"tracesync/app/mail/mailtest"
	"tracesync/store"
)

type outagesFunc func(license string, from, to time.Time) ([]app.OutageWindow, error)

func (f outagesFunc) Outages(license string, from, to time.Time) ([]app.OutageWindow, error) {
	return f(license, from, to)
}

// dayFixture fills a store with one day's worth of everything a report lists,
// on 2026-02-10 in Los Angeles.
func dayFixture(t *testing.T, s *store.Store, clk *fakeClock) (date string) {
	la := lic.Location()
	clk.t = time.Date(2026, 2, 10, 9, 0, 0, 0, la)
	put(t, s, "A", st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Vault"))
	put(t, s, "M", st("Flower", 1, "Grams", "Vault"), st("Shake", 1, "Grams", "Vault"))
	put(t, s, "P1", st("Pre-roll", 4, "Grams", "Vault"), st("Pre-roll", 4, "Grams", "Vault"))
	asm, _ := app.NewAssemblyJob("L1", la, app.PackageCreate{Tag: "P1", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams"}, clk.t, clk.t)
	bad, _ := app.NewAdjustJob("L1", la, app.PackageAdjust{Label: "Z", Quantity: -1, UnitOfMeasure: "Grams", AdjustmentReason: "Drying"}, clk.t, clk.t)
	res, err := s.Enqueue(asm, bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(app.Transition{ID: res[1].ID, To: app.StateSending, At: clk.t},
		app.Transition{ID: res[1].ID, To: app.StateNeedsAttention, At: clk.t, Reason: "Metrc rejected it",
			Attempt: &app.Attempt{At: clk.t, Outcome: "rejected", HTTPStatus: 400, Message: "Package Z not found"}}); err != nil {
		t.Fatal(err)
	}
	return "2026-02-10"
}

func TestNightlyReportExportAndMail(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := openStore(t)
	clk := &fakeClock{}
	date := dayFixture(t, s, clk)
	sender, err := mail.New(mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "tracesync@shop.example", To: []string{"admin@shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var asked []time.Time
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, DataDir: dir, Mailer: sender,
		Outages: outagesFunc(func(license string, from, to time.Time) ([]app.OutageWindow, error) {
			asked = append(asked, from, to)
			return []app.OutageWindow{{License: license, Start: from.Add(3 * time.Hour), End: from.Add(5 * time.Hour), FailedCalls: 42, Reason: "HTTP 503"}}, nil
		})})
	run(t, r)

	clk.t = time.Date(2026, 2, 11, 2, 0, 0, 0, lic.Location())
	if err := r.Nightly(context.Background(), date); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Report(date)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Licenses[0]
	if len(l.Repairs) != 1 || len(l.Matches) != 1 || len(l.OpenAudit) != 1 || len(l.NeedsAttention) != 1 ||
		l.Oldest == nil || l.Oldest.State != app.StateNeedsAttention || len(l.Outages) != 1 || l.Unfinished != 1 {
		t.Fatalf("report %+v", l)
	}
	// The day is the license's own: midnight to midnight in Los Angeles.
	if !l.From.Equal(time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)) || !asked[1].Equal(l.From.Add(24*time.Hour)) {
		t.Fatalf("day %v..%v", l.From, l.To)
	}

	csvData, err := os.ReadFile(ExportPath(dir, date, "csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(csvData)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sections []string
	for _, row := range rows[1:] {
		sections = append(sections, row[2])
	}
	want := []string{"repair", "matched", "audit", "needs-attention", "oldest-unfinished", "outage"}
	if !slices.Equal(rows[0], CSVHeader) || !slices.Equal(sections, want) {
		t.Fatalf("csv sections %v\n%s", sections, csvData)
	}
	if rows[1][8] != "2026-02-10T09:00:00-08:00" {
		t.Fatalf("repair time not in the license zone: %q", rows[1][8])
	}
	html, err := os.ReadFile(ExportPath(dir, date, "html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"tracesync report for 2026-02-10", RuleQuantity, WhyMislabel, "Package Z not found", "42 failed calls"} {
		if !strings.Contains(string(html), template.HTMLEscapeString(w)) {
			t.Errorf("html lacks %q", w)
		}
	}

	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "admin@shop.example" {
		t.Fatalf("mails %+v", msgs)
	}
	subj := strings.ReplaceAll(msgs[0].Data, "\n ", " ") // unfold headers
	if !strings.Contains(subj, "Subject: tracesync report 2026-02-10: 1 repairs, 1 matched, 1 open audit items, 1 jobs need attention") {
		t.Errorf("subject missing:\n%.400s", msgs[0].Data)
	}
	for _, w := range []string{
		"tracesync-report-2026-02-10.csv", "text/html"} {
		if !strings.Contains(msgs[0].Data, w) {
			t.Errorf("mail lacks %q", w)
		}
	}
	box, _ := r.Outbox()
	if len(box) != 1 || box[0].SentAt.IsZero() || box[0].Attempts != 1 {
		t.Fatalf("outbox %+v", box)
	}
	// Report(date) now reads the stored one; a bad date is refused.
	if got, err := r.Report(date); err != nil || !got.Generated.Equal(rep.Generated) {
		t.Fatalf("stored report %v", err)
	}
	if _, err := r.Report("10/02/2026"); !errors.Is(err, ErrBadDate) {
		t.Fatalf("bad date: %v", err)
	}
	var buf bytes.Buffer
	if err := RenderCSV(&buf, rep); err != nil || !bytes.Equal(buf.Bytes(), csvData) {
		t.Fatalf("RenderCSV differs from the export: %v", err)
	}
}

func TestReportOfTodayNotStored(t *testing.T) {
	r, s, clk := newTest(t)
	today := clk.Now().In(lic.Location()).Format(app.DateLayout)
	if _, err := r.Report(today); err != nil {
		t.Fatal(err)
	}
	if dates, _ := s.ReportDates(); len(dates) != 0 {
		t.Fatalf("an unfinished day was stored: %v", dates)
	}
	if _, err := r.Report("2020-01-01"); err != nil {
		t.Fatal(err)
	}
	if dates, _ := s.ReportDates(); !slices.Equal(dates, []string{"2020-01-01"}) {
		t.Fatalf("dates %v", dates)
	}
}

func TestFailedMailStaysQueuedAndIsRetried(t *testing.T) {
	srv, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.FailNext(3)
	s := openStore(t)
	clk := &fakeClock{}
	date := dayFixture(t, s, clk)
	clk.t = time.Date(2026, 2, 11, 2, 0, 0, 0, lic.Location())
	sender, _ := mail.New(mail.Config{Host: "127.0.0.1", Port: srv.Port(), From: "t@shop.example", To: []string{"admin@shop.example"}})
	r := New(Params{Store: s, Clock: clk, Logger: quiet(), Licenses: []app.License{lic}, Mailer: sender})
	if err := r.Nightly(context.Background(), date); err != nil {
		t.Fatal(err)
	}
	box, _ := r.Outbox()
	if len(box) != 1 || !box[0].SentAt.IsZero() || box[0].Attempts != 1 || !strings.Contains(box[0].LastError, "451") {
		t.Fatalf("after a failed send: %+v", box)
	}
	// Not due yet: nothing is tried.
	r.flushOutbox(context.Background())
	if box, _ = r.Outbox(); box[0].Attempts != 1 {
		t.Fatalf("retried before due: %+v", box[0])
	}
	clk.Add(mailRetryBase)
	next, err := r.flushOutbox(context.Background())
	if box, _ = r.Outbox(); box[0].Attempts != 2 || !box[0].SentAt.IsZero() || !next.Equal(clk.Now().Add(2*mailRetryBase)) {
		t.Fatalf("second failure: %+v next %v", box[0], next)
	}
	if err == nil || !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), date) {
		t.Fatalf("flush error: %v", err)
	}
	// "Send again" does not wait for the backoff, and says when it failed.
	if err := r.RetryMail(context.Background()); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("a failed retry returned %v", err)
	}
	if box, _ = r.Outbox(); box[0].Attempts != 3 || !box[0].SentAt.IsZero() {
		t.Fatalf("third failure: %+v", box[0])
	}
	if err := r.RetryMail(context.Background()); err != nil {
		t.Fatal(err)
	}
	if box, _ = r.Outbox(); box[0].SentAt.IsZero() || box[0].LastError != "" || len(srv.Messages()) != 1 {
		t.Fatalf("not sent on retry: %+v", box[0])
	}
}

type mailerFunc func(ctx context.Context, m mail.Message) error

func (f mailerFunc) Send(ctx context.Context, m mail.Message) error { return f(ctx, m) }

// TestRunReportsSchedule runs the nightly loop on the fake clock of a
// synctest bubble: a catch-up report at start, the next one at 02:00, and a
// failed mail retried a minute later.
func TestRunReportsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := openStore(t)
		var mu sync.Mutex
		var sent []string
		fails := 1
		m := mailerFunc(func(ctx context.Context, msg mail.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 {
				fails--
				return errors.New("connection refused")
			}
			sent = append(sent, msg.Subject[:len("tracesync report 2000-01-01")])
			return nil
		})
		utc := app.License{Number: "L1", TimeZone: "UTC"}
		// The bubble starts at 2000-01-01 00:00 UTC: the report due at
		// 1999-12-31 02:00 (for 12-30) was missed.
		r := New(Params{Store: s, Logger: quiet(), Licenses: []app.License{utc}, Mailer: m})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.RunReports(ctx) }()
		synctest.Wait()
		if dates, _ := s.ReportDates(); !slices.Equal(dates, []string{"1999-12-30"}) {
			t.Fatalf("catch-up: %v", dates)
		}
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		mu.Lock()
		if !slices.Equal(sent, []string{"tracesync report 1999-12-30"}) {
			t.Errorf("retry: sent %v", sent)
		}
		mu.Unlock()
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if dates, _ := s.ReportDates(); !slices.Equal(dates, []string{"1999-12-30", "1999-12-31"}) {
			t.Fatalf("nightly: %v", dates)
		}
		mu.Lock()
		if len(sent) != 2 {
			t.Errorf("sent %v", sent)
		}
		mu.Unlock()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestExportWritesBothFiles(t *testing.T) {
	r, _, _ := newTest(t)
	rep := app.Report{Date: "2026-02-10", Licenses: []app.LicenseReport{{License: "L1", TimeZone: "UTC"}}}
	if err := r.Export(rep); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"csv", "html"} {
		fi, err := os.Stat(ExportPath(r.p.DataDir, "2026-02-10", ext))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", ext, fi, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(r.p.DataDir, "reports", "*.tmp")); len(m) != 0 {
		t.Fatalf("temp files left: %v", m)
	}
}
