// Package control lets the subcommands `status`, `jobs`, `push`, `import`
// and `report` reach the tracesync process that owns a data folder (the app
// or `tracesync run`): a small HTTP server on a Unix socket in the data
// folder (mode 0600; on Windows a loopback port with a token file), and the
// client the subcommands use. With no owner, the subcommands call the same
// Backend directly on a store they open themselves, so both paths answer
// alike.
package control

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"tracesync/app"
	"tracesync/app/importcsv"
)

// Exit codes of DESIGN.md's command line that an Error can carry.
const (
	CodeFailure  = 1
	CodeBadInput = 4
)

// Error is a failure with the command line's exit code.
type Error struct {
	Code int    `json:"code"`
	Msg  string `json:"error"`
}

func (e *Error) Error() string { return e.Msg }

// BadInput returns an Error with exit code 4.
func BadInput(format string, args ...any) error {
	return &Error{Code: CodeBadInput, Msg: fmt.Sprintf(format, args...)}
}

// ExitCode returns the exit code an error maps to (1 unless it says otherwise).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Code != 0 {
		return e.Code
	}
	return CodeFailure
}

// Status is one object of `status --json` (DESIGN.md).
type Status struct {
	License        string   `json:"license"`
	Name           string   `json:"name"`
	Color          string   `json:"color"`
	Reason         string   `json:"reason"`
	Details        []string `json:"details"`
	LastPullOK     *string  `json:"lastPullOk"`
	Pending        int      `json:"pending"`
	NeedsAttention int      `json:"needsAttention"`
	OldestPending  *string  `json:"oldestPending"`
}

// StatusOf renders a license's health as `status --json` shows it.
func StatusOf(h app.Health) Status {
	s := Status{
		License: h.License, Name: h.Name, Color: h.Color.String(), Reason: h.Reason,
		Details: h.Details, Pending: h.Pending, NeedsAttention: h.NeedsAttention,
		LastPullOK: rfc3339(h.LastPullOK), OldestPending: rfc3339(h.OldestPending),
	}
	if s.Details == nil {
		s.Details = []string{}
	}
	return s
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

// JobInfo is one object of `jobs --json` (DESIGN.md).
type JobInfo struct {
	ID        uint64    `json:"id"`
	License   string    `json:"license"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Key       string    `json:"key"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// JobInfoOf renders a job as `jobs --json` shows it.
func JobInfoOf(j app.Job) JobInfo {
	return JobInfo{
		ID: j.ID, License: j.License, Kind: string(j.Kind), State: string(j.State), Key: j.Key,
		Attempts: len(j.Attempts), LastError: j.LastError(),
		Created: j.Created.UTC().Truncate(time.Second), Updated: j.Updated.UTC().Truncate(time.Second),
	}
}

// JobsQuery filters `jobs`. State may be a job state or "unfinished".
type JobsQuery struct {
	State   string `json:"state,omitempty"`
	License string `json:"license,omitempty"`
}

// PushRequest selects jobs for `push`: every retrying/pending/unknown job
// (All) or the given ids.
type PushRequest struct {
	IDs []uint64 `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// PushResult says how many jobs were made due.
type PushResult struct {
	Touched int `json:"touched"`
}

// ImportResult is what `import` did. Nothing is queued when Problems or
// Conflicts are not empty.
type ImportResult struct {
	Kind         string              `json:"kind"`
	Rows         int                 `json:"rows"`
	Records      int                 `json:"records"` // receipts or packages in the file
	Queued       int                 `json:"queued"`
	Skipped      int                 `json:"skipped"` // already queued with the same content
	Conflicts    []string            `json:"conflicts,omitempty"`
	Problems     []importcsv.Problem `json:"problems,omitempty"`
	MoreProblems int                 `json:"moreProblems,omitempty"`
	Warnings     []importcsv.Problem `json:"warnings,omitempty"`
}

// OK reports whether the import was accepted.
func (r ImportResult) OK() bool {
	return len(r.Problems) == 0 && r.MoreProblems == 0 && len(r.Conflicts) == 0
}

// Backend answers the operations, whether for the owning process (behind
// the server) or for a subcommand that opened the store itself.
type Backend struct {
	// Health returns every license's health (the engine's snapshot, or
	// engine.HealthFromStore without a running engine).
	Health func() ([]app.Health, error)
	// Jobs is the queue.
	Jobs app.JobStore
	// Enqueue stores new jobs (the engine's, which also kicks the push loop;
	// or the store's). Nil means Jobs.Enqueue.
	Enqueue func(jobs ...app.Job) ([]app.EnqueueResult, error)
	// MakeDue makes jobs due now (the engine's PushNow). Nil means
	// Jobs.MakeDue at Now.
	MakeDue func(sel app.DueSelector) (int, error)
	// Lookup checks imports against the licenses and the last pull.
	Lookup importcsv.Lookup
	// Report writes the report of a date (YYYY-MM-DD) as "csv" or "html";
	// nil when reports are not available.
	Report func(w io.Writer, date, format string) error
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Status returns `status` for every license, sorted by license.
func (b *Backend) Status() ([]Status, error) {
	if b.Health == nil {
		return []Status{}, nil
	}
	hs, err := b.Health()
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	out := make([]Status, 0, len(hs))
	for _, h := range hs {
		out = append(out, StatusOf(h))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].License < out[j].License })
	return out, nil
}

// States parses a --state value: a state, a comma-separated list, or
// "unfinished" (every non-final state).
func States(s string) ([]app.JobState, error) {
	if s == "" || s == "all" {
		return nil, nil
	}
	var out []app.JobState
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(strings.ToLower(p))
		if p == "unfinished" {
			for _, st := range app.States {
				if !st.Final() {
					out = append(out, st)
				}
			}
			continue
		}
		st := app.JobState(p)
		if !st.Valid() {
			names := make([]string, len(app.States))
			for i, x := range app.States {
				names[i] = string(x)
			}
			return nil, BadInput("unknown state %q (one of %s, unfinished)", p, strings.Join(names, ", "))
		}
		out = append(out, st)
	}
	return out, nil
}

// ListJobs returns every job matching q, oldest first.
func (b *Backend) ListJobs(q JobsQuery) ([]JobInfo, error) {
	states, err := States(q.State)
	if err != nil {
		return nil, err
	}
	f := app.JobFilter{License: q.License, States: states, Limit: 1000}
	out := []JobInfo{}
	for {
		page, err := b.Jobs.ListJobs(f)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		for _, j := range page.Jobs {
			out = append(out, JobInfoOf(j))
		}
		if page.Next == 0 || len(page.Jobs) == 0 {
			return out, nil
		}
		f.After = page.Next
	}
}

// Push makes the selected jobs due now. An unknown id is bad input.
func (b *Backend) Push(req PushRequest) (PushResult, error) {
	if req.All == (len(req.IDs) > 0) {
		return PushResult{}, BadInput("push: give --all or job ids, not both or neither")
	}
	for _, id := range req.IDs {
		if _, err := b.Jobs.Job(id); err != nil {
			if errors.Is(err, app.ErrNotFound) {
				return PushResult{}, BadInput("no job #%d", id)
			}
			return PushResult{}, fmt.Errorf("job #%d: %w", id, err)
		}
	}
	sel := app.DueSelector{IDs: req.IDs, All: req.All}
	var n int
	var err error
	if b.MakeDue != nil {
		n, err = b.MakeDue(sel)
	} else {
		n, err = b.Jobs.MakeDue(b.now(), sel)
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	return PushResult{Touched: n}, nil
}

// Import validates a whole CSV file and, when it has no problems, enqueues
// its records in one batch. A key already queued with the same content is
// skipped; with different content nothing is queued and it is listed in
// Conflicts.
func (b *Backend) Import(kind importcsv.Kind, r io.Reader) (ImportResult, error) {
	return b.ImportProgress(kind, r, nil)
}

// ImportProgress is Import, calling progress (when not nil) as rows are read.
func (b *Backend) ImportProgress(kind importcsv.Kind, r io.Reader, progress func(rows int)) (ImportResult, error) {
	res, err := importcsv.Parse(r, kind, b.Lookup, b.now(), progress)
	if err != nil {
		if errors.Is(err, importcsv.ErrTooLarge) {
			return ImportResult{}, BadInput("import: %v", err)
		}
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	out := ImportResult{Kind: kind.String(), Rows: res.Rows, Records: len(res.Jobs), Problems: res.Problems, MoreProblems: res.MoreProblems, Warnings: res.Warnings}
	if !out.OK() || len(res.Jobs) == 0 {
		return out, nil
	}
	enqueue := b.Enqueue
	if enqueue == nil {
		enqueue = b.Jobs.Enqueue
	}
	results, err := enqueue(res.Jobs...)
	for _, r := range results {
		switch r.Status {
		case app.Queued:
			out.Queued++
		case app.Skipped:
			out.Skipped++
		case app.Conflict:
			out.Conflicts = append(out.Conflicts, r.Key)
		}
	}
	if err != nil {
		if errors.Is(err, app.ErrConflict) {
			out.Queued = 0
			if len(out.Conflicts) == 0 {
				out.Conflicts = []string{err.Error()}
			}
			return out, nil
		}
		return ImportResult{}, fmt.Errorf("enqueue: %w", err)
	}
	return out, nil
}

// WriteReport writes the report of date (YYYY-MM-DD; "" = yesterday) in
// format csv or html.
func (b *Backend) WriteReport(w io.Writer, date, format string) error {
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "html" {
		return BadInput("unknown report format %q (csv or html)", format)
	}
	if date == "" {
		date = b.now().AddDate(0, 0, -1).Format("2006-01-02")
	}
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return BadInput("bad date %q (want YYYY-MM-DD)", date)
	}
	if b.Report == nil {
		return &Error{Code: CodeFailure, Msg: "reports are not available in this build"}
	}
	return b.Report(w, date, format)
}

// ParseIDs reads job ids given on the command line ("12" or "#12").
func ParseIDs(args []string) ([]uint64, error) {
	var ids []uint64
	for _, a := range args {
		id, err := strconv.ParseUint(strings.TrimPrefix(a, "#"), 10, 64)
		if err != nil || id == 0 {
			return nil, BadInput("%q is not a job id", a)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
