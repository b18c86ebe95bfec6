package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tracesync/app"
	"tracesync/app/mail"
)

// ErrBadDate: a report date is not YYYY-MM-DD.
var ErrBadDate = errors.New("date must be YYYY-MM-DD")

// Report returns the report of a date (YYYY-MM-DD): the stored one, or one
// built now. A built report of a day that is over everywhere is stored.
// Storing it does not deliver it: the nightly run still exports and mails
// it (see Nightly).
func (r *Reconciler) Report(date string) (app.Report, error) {
	if _, err := time.Parse(app.DateLayout, date); err != nil {
		return app.Report{}, fmt.Errorf("report %q: %w", date, ErrBadDate)
	}
	r.reportMu.Lock()
	defer r.reportMu.Unlock()
	rep, err := r.finished(date)
	if errors.Is(err, ErrDayNotOver) {
		return rep, nil // a day still running: shown as it stands, not stored
	}
	return rep, err
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

// addDays returns the date n days after date (both YYYY-MM-DD).
func addDays(date string, n int) string {
	d, _ := time.Parse(app.DateLayout, date)
	return d.AddDate(0, 0, n).Format(app.DateLayout)
}

// zones lists the distinct time zones of the licenses (ReportZone when
// there is none).
func (r *Reconciler) zones() []*time.Location {
	var out []*time.Location
	seen := map[string]bool{}
	for _, l := range r.p.Licenses {
		loc := l.Location()
		if !seen[loc.String()] {
			seen[loc.String()] = true
			out = append(out, loc)
		}
	}
	if len(out) == 0 {
		out = append(out, r.p.ReportZone)
	}
	return out
}

// dueAt is when the report of date comes due: ReportTime of the next day
// in every license's own zone, that is the latest of those instants (see
// "The nightly report" in doc.go). By then every license's day is over.
func (r *Reconciler) dueAt(date string) time.Time {
	d, _ := time.Parse(app.DateLayout, date)
	var due time.Time
	for _, loc := range r.zones() {
		t := time.Date(d.Year(), d.Month(), d.Day()+1, r.at.hour, r.at.min, 0, 0, loc)
		if t.After(due) {
			due = t
		}
	}
	return due
}

// lastDueDate returns the latest date whose report is due at now.
func (r *Reconciler) lastDueDate(now time.Time) string {
	// The report of tomorrow (UTC) is due at the earliest at ReportTime of
	// the day after in UTC+14, which is still after now; step back from it.
	u := now.UTC()
	date := time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC).Format(app.DateLayout)
	for r.dueAt(date).After(now) {
		date = addDays(date, -1)
	}
	return date
}

// Mail retry backoff.
const (
	mailRetryBase = time.Minute
	mailRetryCap  = time.Hour
)

// deliverRetry is how soon RunReports tries again after a delivery failed
// (the report could not be built, stored, exported or queued).
const deliverRetry = 10 * time.Minute

// CatchUpDays caps how many missed days one run of the nightly loop
// delivers (the app was off for a long time): the most recent ones.
const CatchUpDays = 14

// RunReports delivers the nightly report of each day once it is due
// (dueAt), and at start the days missed while the app was off, and retries
// unsent mails. It returns when ctx ends.
func (r *Reconciler) RunReports(ctx context.Context) error {
	for {
		now := r.clock.Now()
		retry := false
		owed, err := r.owed(r.lastDueDate(now))
		if err != nil {
			r.log.Warn("nightly report: read", "err", err)
			retry = true
		}
		for _, date := range owed {
			if ctx.Err() != nil {
				return nil
			}
			if err := r.Nightly(ctx, date); err != nil {
				r.log.Warn("nightly report failed", "date", date, "err", err)
				retry = true
			}
		}
		next, _ := r.flushOutbox(ctx)
		if r.afterPass != nil {
			r.afterPass()
		}
		now = r.clock.Now()
		wake := r.dueAt(addDays(r.lastDueDate(now), 1))
		if retry && now.Add(deliverRetry).Before(wake) {
			wake = now.Add(deliverRetry)
		}
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

// owed lists, oldest first, the due dates whose report is not yet
// delivered: every date after the last delivered one up to last (at most
// CatchUpDays of them), or only last when nothing was ever delivered (a
// new data folder, where earlier days hold nothing to report).
func (r *Reconciler) owed(last string) ([]string, error) {
	box, err := r.p.Store.Outbox(false)
	if err != nil {
		return nil, fmt.Errorf("read mail outbox: %w", err)
	}
	first := last
	if anchor := r.lastDelivered(box); anchor != "" && anchor < last {
		first = addDays(anchor, 1)
		if lo := addDays(last, 1-CatchUpDays); first < lo {
			r.log.Warn("nightly report: too many days missed; delivering the latest only",
				"from", first, "until", addDays(lo, -1), "days", CatchUpDays)
			first = lo
		}
	}
	var out []string
	for date := first; date <= last; date = addDays(date, 1) {
		ok, err := r.delivered(date, box)
		if err != nil {
			return out, err
		}
		if !ok {
			out = append(out, date)
		}
	}
	return out, nil
}

// delivered reports whether the nightly work of date is done: exported to
// DataDir/reports (when DataDir is set) and a mail of it in the outbox,
// sent or waiting (when SMTP is set). With neither, storing it is all there
// is to do. Who stored the report, and when, does not matter: `tracesync
// report` or the Reports screen store a finished day too.
func (r *Reconciler) delivered(date string, box []app.OutboxMail) (bool, error) {
	if r.p.DataDir == "" && r.p.Mailer == nil {
		_, err := r.p.Store.Report(date)
		if errors.Is(err, app.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	if r.p.DataDir != "" && !r.exported(date) {
		return false, nil
	}
	return r.p.Mailer == nil || queued(box, date), nil
}

// queued reports whether the outbox holds a mail of date.
func queued(box []app.OutboxMail, date string) bool {
	for _, m := range box {
		if m.Date == date {
			return true
		}
	}
	return false
}

// exported reports whether both export files of date exist.
func (r *Reconciler) exported(date string) bool {
	for _, ext := range []string{"html", "csv"} {
		if _, err := os.Stat(ExportPath(r.p.DataDir, date, ext)); err != nil {
			return false
		}
	}
	return true
}

// lastDelivered returns the latest date the nightly run delivered ("" =
// none): the newest export in DataDir/reports, or without DataDir the
// newest mail of the outbox. Exports are the better mark: only the nightly
// run writes them, while a person may mail any day.
func (r *Reconciler) lastDelivered(box []app.OutboxMail) string {
	last := ""
	if r.p.DataDir != "" {
		files, _ := os.ReadDir(filepath.Join(r.p.DataDir, "reports"))
		for _, f := range files {
			date, ok := strings.CutPrefix(f.Name(), "tracesync-report-")
			date, ok2 := strings.CutSuffix(date, ".csv")
			if !ok || !ok2 || date <= last {
				continue
			}
			if _, err := time.Parse(app.DateLayout, date); err == nil && r.exported(date) {
				last = date
			}
		}
		return last
	}
	if r.p.Mailer != nil {
		for _, m := range box {
			last = max(last, m.Date)
		}
	}
	return last
}

// ErrDayNotOver: a report of a day that is not over in every license's
// zone is neither stored nor mailed (it would miss the rest of the day).
var ErrDayNotOver = errors.New("the day is not over yet in every license's time zone")

// finished returns the stored report of date, or builds and stores it when
// the day is over everywhere (ErrDayNotOver otherwise). A stored report is
// never rebuilt: what was reported and mailed stays as it was. Callers hold
// reportMu.
func (r *Reconciler) finished(date string) (app.Report, error) {
	rep, err := r.p.Store.Report(date)
	if err == nil {
		return rep, nil
	}
	if !errors.Is(err, app.ErrNotFound) {
		return rep, fmt.Errorf("report %s: %w", date, err)
	}
	if rep, err = r.build(date); err != nil {
		return rep, err
	}
	if !r.dayOver(rep) {
		return rep, fmt.Errorf("report %s: %w", date, ErrDayNotOver)
	}
	if err := r.p.Store.PutReport(rep); err != nil {
		return rep, fmt.Errorf("report %s: save: %w", date, err)
	}
	return rep, nil
}

// Nightly delivers the report of date once: the stored report (built and
// stored now if there is none; the day must be over everywhere), exported
// to the data folder unless it already is, and queued for mail when SMTP is
// set unless a mail of that date is already in the outbox. Calling it
// again for a delivered date does nothing, so the nightly run and its
// catch-up may call it freely.
func (r *Reconciler) Nightly(ctx context.Context, date string) error {
	if _, err := time.Parse(app.DateLayout, date); err != nil {
		return fmt.Errorf("report %q: %w", date, ErrBadDate)
	}
	r.reportMu.Lock()
	err := r.deliver(date)
	r.reportMu.Unlock()
	if r.p.Mailer != nil {
		r.flushOutbox(ctx)
	}
	return err
}

// deliver does Nightly's work under reportMu.
func (r *Reconciler) deliver(date string) error {
	rep, err := r.finished(date)
	if err != nil {
		return err
	}
	var errs []error
	if r.p.DataDir != "" && !r.exported(date) {
		if err := r.Export(rep); err != nil {
			errs = append(errs, err)
		} else {
			r.log.Info("nightly report exported", "date", date)
		}
	}
	if r.p.Mailer != nil {
		box, err := r.p.Store.Outbox(false)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("report %s: read mail outbox: %w", date, err))...)
		}
		if !queued(box, date) {
			m := app.OutboxMail{Date: date, Subject: subject(rep), Created: r.clock.Now(), NextTry: r.clock.Now()}
			if err := r.p.Store.PutOutbox(&m); err != nil {
				errs = append(errs, fmt.Errorf("report %s: queue mail: %w", date, err))
			}
		}
	}
	return errors.Join(errs...)
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
// is due (zero: nothing waits) and the errors of the sends that failed
// (nil when every due mail went). A failure stays in the outbox with its
// error.
func (r *Reconciler) flushOutbox(ctx context.Context) (time.Time, error) {
	r.mailMu.Lock()
	defer r.mailMu.Unlock()
	if r.p.Mailer == nil {
		return time.Time{}, nil
	}
	box, err := r.p.Store.Outbox(true)
	if err != nil {
		r.log.Warn("mail outbox: read", "err", err)
		return r.clock.Now().Add(mailRetryBase), fmt.Errorf("read mail outbox: %w", err)
	}
	var next time.Time
	var errs []error
	for _, m := range box {
		if m.NextTry.After(r.clock.Now()) {
			if next.IsZero() || m.NextTry.Before(next) {
				next = m.NextTry
			}
			continue
		}
		if err := r.attempt(ctx, &m); err != nil {
			errs = append(errs, err)
			if next.IsZero() || m.NextTry.Before(next) {
				next = m.NextTry
			}
		}
	}
	return next, errors.Join(errs...)
}

// attempt sends one outbox mail now and records the outcome in the outbox:
// sent, or the error and the next try (backoff). It returns the send's
// error. The caller holds mailMu.
func (r *Reconciler) attempt(ctx context.Context, m *app.OutboxMail) error {
	err := r.sendReport(ctx, *m)
	now := r.clock.Now()
	m.Attempts++
	m.LastTry = now
	if err == nil {
		m.SentAt, m.LastError, m.NextTry = now, "", time.Time{}
		r.log.Info("report mailed", "date", m.Date)
	} else {
		m.LastError = err.Error()
		wait := mailRetryBase << min(m.Attempts-1, 10)
		m.NextTry = now.Add(min(wait, mailRetryCap))
		r.log.Warn("report mail not sent; will retry", "date", m.Date, "attempts", m.Attempts, "next", m.NextTry, "err", err)
		err = fmt.Errorf("mail report %s: %w", m.Date, err)
	}
	if perr := r.p.Store.PutOutbox(m); perr != nil {
		r.log.Warn("mail outbox: save", "err", perr)
		err = errors.Join(err, fmt.Errorf("mail report %s: save outbox: %w", m.Date, perr))
	}
	return err
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
// It returns the errors of the sends that failed, one per mail (nil: every
// waiting mail went); the failed ones stay in the outbox.
func (r *Reconciler) RetryMail(ctx context.Context) error {
	r.mailMu.Lock()
	box, err := r.p.Store.Outbox(true)
	for i := 0; err == nil && i < len(box); i++ {
		box[i].NextTry = r.clock.Now()
		err = r.p.Store.PutOutbox(&box[i])
	}
	r.mailMu.Unlock()
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	_, err = r.flushOutbox(ctx)
	return err
}

// SendNow mails the report of date at once ("Send by email now") and
// returns that send's error (nil: it went). The stored report is sent as it
// is: a past day is never rebuilt. A finished day without a stored report
// is built and stored first; a day not over everywhere is refused
// (ErrDayNotOver). The mail goes through the outbox: the waiting mail of
// the date when there is one, else a new one (sending a mailed report
// again); a failure stays there with its error and is retried by itself.
func (r *Reconciler) SendNow(ctx context.Context, date string) error {
	if _, err := time.Parse(app.DateLayout, date); err != nil {
		return fmt.Errorf("report %q: %w", date, ErrBadDate)
	}
	if r.p.Mailer == nil {
		return fmt.Errorf("mail report %s: %w", date, mail.ErrNotConfigured)
	}
	r.reportMu.Lock()
	id, err := r.outboxEntry(date)
	r.reportMu.Unlock()
	if err != nil {
		return err
	}
	r.mailMu.Lock()
	defer r.mailMu.Unlock()
	box, err := r.p.Store.Outbox(false)
	if err != nil {
		return fmt.Errorf("mail report %s: read outbox: %w", date, err)
	}
	for _, m := range box {
		if m.ID != id {
			continue
		}
		if !m.SentAt.IsZero() {
			return nil // the nightly run sent it meanwhile
		}
		return r.attempt(ctx, &m)
	}
	return fmt.Errorf("mail report %s: outbox mail #%d: %w", date, id, app.ErrNotFound)
}

// outboxEntry returns the id of the unsent outbox mail of date, queuing a
// new one (due now) when none waits. The caller holds reportMu.
func (r *Reconciler) outboxEntry(date string) (uint64, error) {
	rep, err := r.finished(date)
	if err != nil {
		return 0, err
	}
	box, err := r.p.Store.Outbox(true)
	if err != nil {
		return 0, fmt.Errorf("mail report %s: read outbox: %w", date, err)
	}
	for _, m := range box {
		if m.Date == date {
			return m.ID, nil
		}
	}
	now := r.clock.Now()
	m := app.OutboxMail{Date: date, Subject: subject(rep), Created: now, NextTry: now}
	if err := r.p.Store.PutOutbox(&m); err != nil {
		return 0, fmt.Errorf("mail report %s: queue: %w", date, err)
	}
	return m.ID, nil
}
