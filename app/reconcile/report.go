package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"tracesync/app"
	"tracesync/app/mail"
)

// ErrBadDate: a report date is not YYYY-MM-DD.
var ErrBadDate = errors.New("date must be YYYY-MM-DD")

// Report returns the report of a date (YYYY-MM-DD): the stored one, or one
// built now. A built report of a day that is over everywhere is stored.
func (r *Reconciler) Report(date string) (app.Report, error) {
	if _, err := time.Parse(app.DateLayout, date); err != nil {
		return app.Report{}, fmt.Errorf("report %q: %w", date, ErrBadDate)
	}
	rep, err := r.p.Store.Report(date)
	if err == nil {
		return rep, nil
	}
	if !errors.Is(err, app.ErrNotFound) {
		return rep, fmt.Errorf("report %s: %w", date, err)
	}
	rep, err = r.build(date)
	if err != nil {
		return rep, err
	}
	if r.dayOver(rep) {
		if err := r.p.Store.PutReport(rep); err != nil {
			return rep, fmt.Errorf("report %s: save: %w", date, err)
		}
	}
	return rep, nil
}

// dayOver reports whether every license's day of the report has ended.
func (r *Reconciler) dayOver(rep app.Report) bool {
	now := r.clock.Now()
	for _, l := range rep.Licenses {
		if now.Before(l.To) {
			return false
		}
	}
	return true
}

// build assembles a report from the store.
func (r *Reconciler) build(date string) (app.Report, error) {
	rep := app.Report{Version: app.ReportVersion, Date: date, Generated: r.clock.Now()}
	for _, lic := range r.p.Licenses {
		lr, err := r.buildLicense(lic, date)
		if err != nil {
			return rep, fmt.Errorf("report %s, license %s: %w", date, lic.Number, err)
		}
		rep.Licenses = append(rep.Licenses, lr)
	}
	return rep, nil
}

func (r *Reconciler) buildLicense(lic app.License, date string) (app.LicenseReport, error) {
	loc := lic.Location()
	day, _ := time.ParseInLocation(app.DateLayout, date, loc)
	lr := app.LicenseReport{License: lic.Number, Name: lic.Name, TimeZone: loc.String(),
		From: day, To: day.AddDate(0, 0, 1),
		Repairs: []app.Repair{}, Matches: []app.JobSummary{}, OpenAudit: []app.AuditItem{},
		NeedsAttention: []app.JobSummary{}, Outages: []app.OutageWindow{}}
	var err error
	if lr.Repairs, err = r.p.Store.Repairs(lic.Number, lr.From, lr.To); err != nil {
		return lr, err
	}
	matched, err := r.jobs(app.JobFilter{License: lic.Number, States: []app.JobState{app.StateMatched}})
	if err != nil {
		return lr, err
	}
	for _, j := range matched {
		if !j.Updated.Before(lr.From) && j.Updated.Before(lr.To) {
			lr.Matches = append(lr.Matches, app.SummarizeJob(j))
		}
	}
	if lr.OpenAudit, err = r.p.Store.AuditItems(lic.Number, true); err != nil {
		return lr, err
	}
	na, err := r.jobs(app.JobFilter{License: lic.Number, States: []app.JobState{app.StateNeedsAttention}})
	if err != nil {
		return lr, err
	}
	for _, j := range na {
		lr.NeedsAttention = append(lr.NeedsAttention, app.SummarizeJob(j))
	}
	st, err := r.p.Store.Stats(lic.Number)
	if err != nil {
		return lr, err
	}
	lr.Unfinished = st.Unfinished()
	if lr.Unfinished > 0 {
		page, err := r.p.Store.ListJobs(app.JobFilter{License: lic.Number, States: unfinished, Limit: 1})
		if err != nil {
			return lr, err
		}
		if len(page.Jobs) > 0 {
			s := app.SummarizeJob(page.Jobs[0])
			lr.Oldest = &s
		}
	}
	if r.outages == nil {
		lr.OutagesUnknown = "outage windows are not recorded here"
	} else if ws, err := r.outages.Outages(lic.Number, lr.From, lr.To); err != nil {
		lr.OutagesUnknown = err.Error()
	} else if ws != nil {
		lr.Outages = ws
	}
	return lr, nil
}

// lastDue returns the latest ReportTime instant at or before now.
func (r *Reconciler) lastDue(now time.Time) time.Time {
	t := now.In(r.p.ReportZone)
	due := time.Date(t.Year(), t.Month(), t.Day(), r.at.hour, r.at.min, 0, 0, r.p.ReportZone)
	if due.After(now) {
		due = time.Date(t.Year(), t.Month(), t.Day()-1, r.at.hour, r.at.min, 0, 0, r.p.ReportZone)
	}
	return due
}

// reportDate is the date a report due at the given instant covers: the day
// before, in the report zone.
func (r *Reconciler) reportDate(due time.Time) string {
	d := due.In(r.p.ReportZone)
	return time.Date(d.Year(), d.Month(), d.Day()-1, 12, 0, 0, 0, r.p.ReportZone).Format(app.DateLayout)
}

// Mail retry backoff.
const (
	mailRetryBase = time.Minute
	mailRetryCap  = time.Hour
)

// RunReports makes the nightly report at ReportTime, and at start when the
// last one was missed (the app was off); it also retries unsent mails. It
// returns when ctx ends.
func (r *Reconciler) RunReports(ctx context.Context) error {
	for {
		now := r.clock.Now()
		date := r.reportDate(r.lastDue(now))
		if _, err := r.p.Store.Report(date); errors.Is(err, app.ErrNotFound) {
			if err := r.Nightly(ctx, date); err != nil {
				r.log.Warn("nightly report failed", "date", date, "err", err)
			}
		} else if err != nil {
			r.log.Warn("nightly report: read", "date", date, "err", err)
		}
		next := r.flushOutbox(ctx)
		now = r.clock.Now()
		due := r.lastDue(now)
		d := due.In(r.p.ReportZone)
		wake := time.Date(d.Year(), d.Month(), d.Day()+1, r.at.hour, r.at.min, 0, 0, r.p.ReportZone)
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		t := time.NewTimer(max(wake.Sub(now), time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Nightly builds and stores the report of date, exports it to the data
// folder, and queues it for mail when SMTP is set.
func (r *Reconciler) Nightly(ctx context.Context, date string) error {
	if _, err := time.Parse(app.DateLayout, date); err != nil {
		return fmt.Errorf("report %q: %w", date, ErrBadDate)
	}
	rep, err := r.build(date)
	if err != nil {
		return err
	}
	if err := r.p.Store.PutReport(rep); err != nil {
		return fmt.Errorf("report %s: save: %w", date, err)
	}
	r.log.Info("nightly report", "date", date)
	if r.p.DataDir != "" {
		if err := r.Export(rep); err != nil {
			r.log.Warn("report export failed", "date", date, "err", err)
		}
	}
	if r.p.Mailer != nil {
		m := app.OutboxMail{Date: date, Subject: subject(rep), Created: r.clock.Now(), NextTry: r.clock.Now()}
		if err := r.p.Store.PutOutbox(&m); err != nil {
			return fmt.Errorf("report %s: queue mail: %w", date, err)
		}
		r.flushOutbox(ctx)
	}
	return nil
}

// Export writes the report as HTML and CSV into DataDir/reports.
func (r *Reconciler) Export(rep app.Report) error {
	dir := filepath.Join(r.p.DataDir, "reports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("export report: %w", err)
	}
	for ext, render := range map[string]func(*bytes.Buffer, app.Report) error{
		"html": func(b *bytes.Buffer, rep app.Report) error { return RenderHTML(b, rep) },
		"csv":  func(b *bytes.Buffer, rep app.Report) error { return RenderCSV(b, rep) },
	} {
		var b bytes.Buffer
		if err := render(&b, rep); err != nil {
			return fmt.Errorf("export report %s: %w", rep.Date, err)
		}
		if err := writeFile(ExportPath(r.p.DataDir, rep.Date, ext), b.Bytes()); err != nil {
			return fmt.Errorf("export report %s: %w", rep.Date, err)
		}
	}
	return nil
}

// ExportPath is where Export writes a report's file (ext "html" or "csv").
func ExportPath(dataDir, date, ext string) string {
	return filepath.Join(dataDir, "reports", "tracesync-report-"+date+"."+ext)
}

// writeFile replaces a file atomically.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// subject is the report mail's subject line.
func subject(rep app.Report) string {
	var repairs, matches, open, attention int
	for _, l := range rep.Licenses {
		repairs += len(l.Repairs)
		matches += len(l.Matches)
		open += len(l.OpenAudit)
		attention += len(l.NeedsAttention)
	}
	return fmt.Sprintf("tracesync report %s: %d repairs, %d matched, %d open audit items, %d jobs need attention",
		rep.Date, repairs, matches, open, attention)
}

// flushOutbox sends the due unsent mails and returns when the next retry
// is due (zero: nothing waits). A failure stays in the outbox with its error.
func (r *Reconciler) flushOutbox(ctx context.Context) time.Time {
	r.mailMu.Lock()
	defer r.mailMu.Unlock()
	if r.p.Mailer == nil {
		return time.Time{}
	}
	box, err := r.p.Store.Outbox(true)
	if err != nil {
		r.log.Warn("mail outbox: read", "err", err)
		return r.clock.Now().Add(mailRetryBase)
	}
	var next time.Time
	for _, m := range box {
		now := r.clock.Now()
		if m.NextTry.After(now) {
			if next.IsZero() || m.NextTry.Before(next) {
				next = m.NextTry
			}
			continue
		}
		err := r.sendReport(ctx, m)
		now = r.clock.Now()
		m.Attempts++
		m.LastTry = now
		if err == nil {
			m.SentAt, m.LastError, m.NextTry = now, "", time.Time{}
			r.log.Info("report mailed", "date", m.Date)
		} else {
			m.LastError = err.Error()
			wait := mailRetryBase << min(m.Attempts-1, 10)
			m.NextTry = now.Add(min(wait, mailRetryCap))
			if next.IsZero() || m.NextTry.Before(next) {
				next = m.NextTry
			}
			r.log.Warn("report mail not sent; will retry", "date", m.Date, "attempts", m.Attempts, "next", m.NextTry, "err", err)
		}
		if err := r.p.Store.PutOutbox(&m); err != nil {
			r.log.Warn("mail outbox: save", "err", err)
		}
	}
	return next
}

// sendReport mails the stored report of an outbox entry.
func (r *Reconciler) sendReport(ctx context.Context, m app.OutboxMail) error {
	rep, err := r.p.Store.Report(m.Date)
	if err != nil {
		return fmt.Errorf("report %s: %w", m.Date, err)
	}
	msg, err := ReportMessage(rep)
	if err != nil {
		return err
	}
	return r.p.Mailer.Send(ctx, msg)
}

// ReportMessage renders a report as a mail: a text summary, the HTML
// report, and the CSV attached.
func ReportMessage(rep app.Report) (mail.Message, error) {
	var h, c, t bytes.Buffer
	if err := RenderHTML(&h, rep); err != nil {
		return mail.Message{}, err
	}
	if err := RenderCSV(&c, rep); err != nil {
		return mail.Message{}, err
	}
	if err := RenderText(&t, rep); err != nil {
		return mail.Message{}, err
	}
	return mail.Message{Subject: subject(rep), Text: t.String(), HTML: h.String(),
		Attachments: []mail.Attachment{{Name: "tracesync-report-" + rep.Date + ".csv", Data: c.Bytes()}}}, nil
}

// RetryMail makes every unsent mail due now and tries it ("send again").
func (r *Reconciler) RetryMail(ctx context.Context) error {
	box, err := r.p.Store.Outbox(true)
	if err != nil {
		return err
	}
	for _, m := range box {
		m.NextTry = r.clock.Now()
		if err := r.p.Store.PutOutbox(&m); err != nil {
			return err
		}
	}
	r.flushOutbox(ctx)
	return nil
}
