package control

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/importcsv"
)

// memJobs is a small in-memory app.JobStore: enough of one for the backend.
type memJobs struct {
	app.JobStore // methods the backend does not use panic
	mu           sync.Mutex
	jobs         []app.Job
	madeDue      []app.DueSelector
}

func (m *memJobs) Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res []app.EnqueueResult
	var conflict bool
	for _, j := range jobs {
		st := app.Queued
		var id uint64
		for _, o := range m.jobs {
			if o.Key == j.Key {
				id, st = o.ID, app.Skipped
				if !bytes.Equal(o.Body, j.Body) {
					st, conflict = app.Conflict, true
				}
			}
		}
		res = append(res, app.EnqueueResult{ID: id, Key: j.Key, Status: st})
	}
	if conflict {
		return res, app.ErrConflict
	}
	for i, j := range jobs {
		if res[i].Status == app.Queued {
			j.ID = uint64(len(m.jobs) + 1)
			res[i].ID = j.ID
			m.jobs = append(m.jobs, j)
		}
	}
	return res, nil
}

func (m *memJobs) Job(id uint64) (app.Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == 0 || id > uint64(len(m.jobs)) {
		return app.Job{}, app.ErrNotFound
	}
	return m.jobs[id-1], nil
}

func (m *memJobs) ListJobs(f app.JobFilter) (app.JobPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p app.JobPage
	for _, j := range m.jobs {
		if j.ID <= f.After || f.License != "" && j.License != f.License {
			continue
		}
		if len(f.States) > 0 && !contains(f.States, j.State) {
			continue
		}
		if len(p.Jobs) == f.Limit {
			p.Next = p.Jobs[len(p.Jobs)-1].ID
			break
		}
		p.Jobs = append(p.Jobs, j)
	}
	return p, nil
}

func contains(s []app.JobState, x app.JobState) bool {
	for _, y := range s {
		if x == y {
			return true
		}
	}
	return false
}

func (m *memJobs) MakeDue(now time.Time, sel app.DueSelector) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.madeDue = append(m.madeDue, sel)
	if sel.All {
		return len(m.jobs), nil
	}
	return len(sel.IDs), nil
}

const receiptsCSV = "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n" +
	"LIC-1,R1,2026-11-27T10:00:00,Consumer,1A4FF0100000022000000001,1,Grams,2\n" +
	"LIC-1,R2,2026-11-27T10:05:00,Consumer,1A4FF0100000022000000001,1,Grams,2\n"

func backend() (*Backend, *memJobs) {
	m := &memJobs{}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	b := &Backend{
		Jobs: m,
		Health: func() ([]app.Health, error) {
			return []app.Health{
				{License: "LIC-2", Name: "Two", Color: app.Red, Reason: "The Metrc API is down", Details: []string{"no pull for 25m"}, LastPullOK: now.Add(-25 * time.Minute)},
				{License: "LIC-1", Name: "One", Color: app.Green, Reason: "ok"},
			}, nil
		},
		Report: func(w io.Writer, date, format string) error {
			_, err := w.Write([]byte("report " + date + " " + format + "\n"))
			return err
		},
		Now: func() time.Time { return now },
	}
	return b, m
}

// both runs f against the backend directly and through a server on a real
// socket, so the two paths the subcommands take answer alike.
func both(t *testing.T, f func(t *testing.T, c api)) {
	t.Run("direct", func(t *testing.T) {
		b, _ := backend()
		f(t, direct{b})
	})
	t.Run("socket", func(t *testing.T) {
		b, _ := backend()
		dir := t.TempDir()
		s, err := Listen(dir, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c, err := Dial(dir)
		if err != nil {
			t.Fatal(err)
		}
		f(t, remote{c})
	})
}

// api is what the subcommands call, either way.
type api interface {
	Status() ([]Status, error)
	Jobs(JobsQuery) ([]JobInfo, error)
	Push(PushRequest) (PushResult, error)
	Import(importcsv.Kind, string) (ImportResult, error)
	Report(date, format string) (string, error)
}

type direct struct{ b *Backend }

func (d direct) Status() ([]Status, error)              { return d.b.Status() }
func (d direct) Jobs(q JobsQuery) ([]JobInfo, error)    { return d.b.ListJobs(q) }
func (d direct) Push(r PushRequest) (PushResult, error) { return d.b.Push(r) }
func (d direct) Import(k importcsv.Kind, s string) (ImportResult, error) {
	return d.b.Import(k, strings.NewReader(s))
}
func (d direct) Report(date, format string) (string, error) {
	var b strings.Builder
	err := d.b.WriteReport(&b, date, format)
	return b.String(), err
}

type remote struct{ c *Client }

var ctx = context.Background()

func (r remote) Status() ([]Status, error)              { return r.c.Status(ctx) }
func (r remote) Jobs(q JobsQuery) ([]JobInfo, error)    { return r.c.Jobs(ctx, q) }
func (r remote) Push(p PushRequest) (PushResult, error) { return r.c.Push(ctx, p) }
func (r remote) Import(k importcsv.Kind, s string) (ImportResult, error) {
	return r.c.Import(ctx, k, strings.NewReader(s))
}
func (r remote) Report(date, format string) (string, error) {
	var b strings.Builder
	err := r.c.Report(ctx, &b, date, format)
	return b.String(), err
}

func TestStatusShape(t *testing.T) {
	both(t, func(t *testing.T, c api) {
		st, err := c.Status()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		var raw []map[string]any
		json.Unmarshal(b, &raw)
		if len(raw) != 2 || raw[0]["license"] != "LIC-1" {
			t.Fatalf("status %s", b)
		}
		want := []string{"color", "details", "lastPullOk", "license", "name", "needsAttention", "oldestPending", "pending", "reason"}
		for _, o := range raw {
			var keys []string
			for k := range o {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, want) {
				t.Errorf("keys %v, want %v", keys, want)
			}
		}
		if raw[0]["lastPullOk"] != nil || raw[0]["oldestPending"] != nil || raw[1]["color"] != "red" {
			t.Errorf("status %s", b)
		}
		if _, err := time.Parse(time.RFC3339, raw[1]["lastPullOk"].(string)); err != nil {
			t.Errorf("lastPullOk: %v", err)
		}
		if d, ok := raw[0]["details"].([]any); !ok || len(d) != 0 {
			t.Errorf("details of LIC-1 = %v, want []", raw[0]["details"])
		}
	})
}

func TestImportJobsPush(t *testing.T) {
	both(t, func(t *testing.T, c api) {
		res, err := c.Import(importcsv.Receipts, receiptsCSV)
		if err != nil || !res.OK() || res.Queued != 2 || res.Rows != 2 {
			t.Fatalf("import: %+v %v", res, err)
		}
		// Again: nothing new.
		res, err = c.Import(importcsv.Receipts, receiptsCSV)
		if err != nil || res.Queued != 0 || res.Skipped != 2 {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		// Same key, different content: a conflict, nothing queued.
		res, err = c.Import(importcsv.Receipts, strings.Replace(receiptsCSV, ",1,Grams,2\n", ",3,Grams,2\n", 1))
		if err != nil || res.OK() || len(res.Conflicts) != 1 || res.Queued != 0 {
			t.Fatalf("conflict: %+v %v", res, err)
		}
		// Bad rows: problems, nothing queued.
		res, err = c.Import(importcsv.Receipts, strings.Replace(receiptsCSV, "R2,2026", "R3,bad", 1))
		if err != nil || res.OK() || len(res.Problems) != 1 || res.Problems[0].Line != 3 {
			t.Fatalf("bad: %+v %v", res, err)
		}
		js, err := c.Jobs(JobsQuery{})
		if err != nil || len(js) != 2 {
			t.Fatalf("jobs %v %v", js, err)
		}
		if js[0].ID != 1 || js[0].Kind != "sales-receipt" || js[0].State != "pending" || js[0].Key != "LIC-1/receipt/R1" || js[0].LastError != "" {
			t.Errorf("job %+v", js[0])
		}
		b, _ := json.Marshal(js[0])
		var raw map[string]any
		json.Unmarshal(b, &raw)
		var keys []string
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"attempts", "created", "id", "key", "kind", "lastError", "license", "state", "updated"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("keys %v", keys)
		}
		if js, _ := c.Jobs(JobsQuery{State: "done"}); len(js) != 0 {
			t.Errorf("done jobs %v", js)
		}
		if js, _ := c.Jobs(JobsQuery{State: "unfinished", License: "LIC-1"}); len(js) != 2 {
			t.Errorf("unfinished jobs %v", js)
		}
		if _, err := c.Jobs(JobsQuery{State: "sleeping"}); ExitCode(err) != CodeBadInput {
			t.Errorf("bad state: %v", err)
		}
		if r, err := c.Push(PushRequest{IDs: []uint64{2}}); err != nil || r.Touched != 1 {
			t.Errorf("push 2: %v %v", r, err)
		}
		if _, err := c.Push(PushRequest{IDs: []uint64{99}}); ExitCode(err) != CodeBadInput || !strings.Contains(err.Error(), "no job #99") {
			t.Errorf("push 99: %v", err)
		}
		if r, err := c.Push(PushRequest{All: true}); err != nil || r.Touched != 2 {
			t.Errorf("push all: %v %v", r, err)
		}
	})
}

func TestReport(t *testing.T) {
	both(t, func(t *testing.T, c api) {
		s, err := c.Report("", "")
		if err != nil || s != "report 2026-11-27 csv\n" {
			t.Errorf("report %q %v", s, err)
		}
		if _, err := c.Report("2026-13-45", "csv"); ExitCode(err) != CodeBadInput {
			t.Errorf("bad date: %v", err)
		}
		if _, err := c.Report("2026-11-01", "pdf"); ExitCode(err) != CodeBadInput {
			t.Errorf("bad format: %v", err)
		}
	})
}
