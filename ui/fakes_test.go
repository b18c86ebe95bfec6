package ui

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesync/app"
)

// syncAsync makes background work run inline for the test.
func syncAsync(t *testing.T) {
	old := async
	async = func(f func()) { f() }
	t.Cleanup(func() { async = old })
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2026, 11, 28, 11, 17, 0, 0, time.UTC)

// fakeEngine records what the screens ask of the engine.
type fakeEngine struct {
	mu       sync.Mutex
	health   []app.Health
	down     bool
	since    time.Time
	pushed   []app.DueSelector
	paused   map[string]bool
	discards map[uint64]string
	resends  map[uint64]app.JobEdit
	enqueued []app.Job
	store    *fakeStore
	subs     []func([]app.Health)
}

func newFakeEngine(st *fakeStore) *fakeEngine {
	return &fakeEngine{paused: map[string]bool{}, discards: map[uint64]string{}, resends: map[uint64]app.JobEdit{}, store: st}
}

func (e *fakeEngine) Health() []app.Health {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]app.Health(nil), e.health...)
}
func (e *fakeEngine) Subscribe(fn func([]app.Health)) func() {
	e.mu.Lock()
	e.subs = append(e.subs, fn)
	e.mu.Unlock()
	return func() {}
}
func (e *fakeEngine) setHealth(hs []app.Health) {
	e.mu.Lock()
	e.health = hs
	subs := make([]func([]app.Health), len(e.subs))
	copy(subs, e.subs)
	e.mu.Unlock()
	for _, s := range subs {
		s(hs)
	}
}
func (e *fakeEngine) APIDown() (bool, time.Time) { return e.down, e.since }
func (e *fakeEngine) PushNow(sel app.DueSelector) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pushed = append(e.pushed, sel)
	return 3, nil
}
func (e *fakeEngine) SetPaused(l string, p bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.paused[l] = p
	return nil
}
func (e *fakeEngine) Discard(id uint64, reason string) error {
	e.mu.Lock()
	e.discards[id] = reason
	e.mu.Unlock()
	if e.store != nil {
		e.store.setState(id, app.StateDiscarded)
	}
	return nil
}
func (e *fakeEngine) Resend(id uint64, edit app.JobEdit) error {
	e.mu.Lock()
	e.resends[id] = edit
	e.mu.Unlock()
	if e.store != nil {
		e.store.setState(id, app.StatePending)
	}
	return nil
}
func (e *fakeEngine) Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res []app.EnqueueResult
	for _, j := range jobs {
		e.enqueued = append(e.enqueued, j)
		res = append(res, app.EnqueueResult{ID: uint64(len(e.enqueued)), Key: j.Key, Status: app.Queued})
	}
	return res, nil
}
func (e *fakeEngine) Outages(string, time.Time, time.Time) ([]app.OutageWindow, error) {
	return nil, nil
}
func (e *fakeEngine) PullNow(string) {}

// fakeStore is an in-memory StoreAPI + SettingsAPI.
type fakeStore struct {
	mu       sync.Mutex
	jobs     []app.Job // by id
	pkgs     []app.Package
	ref      app.RefData
	lics     []app.License
	settings map[string]any
	lat      []app.LatencyRow
	outs     []app.OutageWindow
	lists    int // ListJobs calls
}

func (s *fakeStore) setState(id uint64, st app.JobState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.jobs {
		if s.jobs[i].ID == id {
			s.jobs[i].State = st
		}
	}
}

func (s *fakeStore) ListJobs(f app.JobFilter) (app.JobPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	match := func(j app.Job) bool {
		if f.License != "" && j.License != f.License {
			return false
		}
		if len(f.States) > 0 {
			ok := false
			for _, st := range f.States {
				ok = ok || st == j.State
			}
			if !ok {
				return false
			}
		}
		if f.Search != "" {
			hay := j.Key + " " + strings.Join(j.Reads, " ") + " " + strings.Join(j.Creates, " ")
			if !strings.Contains(strings.ToLower(hay), strings.ToLower(f.Search)) {
				return false
			}
		}
		return true
	}
	var page app.JobPage
	n := len(s.jobs)
	start := 0
	if f.After != 0 && !f.NewestFirst && int(f.After) <= n && s.jobs[f.After-1].ID == f.After {
		start = int(f.After) // ids are index+1 in the fixtures: skip the scan
	} else if f.After != 0 && f.NewestFirst && int(f.After) <= n && s.jobs[f.After-1].ID == f.After {
		start = n - int(f.After) + 1
	}
	for k := start; k < n; k++ {
		i := k
		if f.NewestFirst {
			i = n - 1 - k
		}
		j := s.jobs[i]
		if f.After != 0 && ((!f.NewestFirst && j.ID <= f.After) || (f.NewestFirst && j.ID >= f.After)) {
			continue
		}
		if !match(j) {
			continue
		}
		if len(page.Jobs) == limit {
			page.Next = page.Jobs[len(page.Jobs)-1].ID
			break
		}
		page.Jobs = append(page.Jobs, j)
	}
	return page, nil
}
func (s *fakeStore) Job(id uint64) (app.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return app.Job{}, app.ErrNotFound
}
func (s *fakeStore) WaitingOn(uint64) (uint64, error) { return 0, nil }
func (s *fakeStore) Stats(license string) (app.JobStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := app.JobStats{ByState: map[app.JobState]int{}}
	for _, j := range s.jobs {
		if license == "" || j.License == license {
			st.ByState[j.State]++
		}
	}
	return st, nil
}
func (s *fakeStore) Packages(license, search, after string, limit int) ([]app.Package, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.Package
	for _, p := range s.pkgs {
		if p.License != license || p.Label <= after || !strings.Contains(p.Label, search) {
			continue
		}
		out = append(out, p)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
func (s *fakeStore) Package(license, label string) (app.Package, error) {
	for _, p := range s.pkgs {
		if p.License == license && p.Label == label {
			return p, nil
		}
	}
	return app.Package{}, app.ErrNotFound
}
func (s *fakeStore) RefData(string) (app.RefData, error) { return s.ref, nil }
func (s *fakeStore) LatencyMinutes(license string, from, to time.Time) ([]app.LatencyRow, error) {
	return s.lat, nil
}
func (s *fakeStore) LatencyHours(license string, from, to time.Time) ([]app.LatencyRow, error) {
	return s.lat, nil
}
func (s *fakeStore) Outages(license string, from, to time.Time) ([]app.OutageWindow, error) {
	return s.outs, nil
}
func (s *fakeStore) Licenses() ([]app.License, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.License(nil), s.lics...), nil
}
func (s *fakeStore) PutLicense(l app.License) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lics = append(s.lics, l)
	sort.Slice(s.lics, func(i, j int) bool { return s.lics[i].Number < s.lics[j].Number })
	return nil
}
func (s *fakeStore) Setting(key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.settings[key]
	if !ok {
		return app.ErrNotFound
	}
	if p, ok := v.(*app.Settings); ok {
		*p = x.(app.Settings)
	}
	return nil
}
func (s *fakeStore) PutSetting(key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings == nil {
		s.settings = map[string]any{}
	}
	s.settings[key] = v
	return nil
}

// mapKeyring is a mock keyring.
type mapKeyring struct {
	mu sync.Mutex
	m  map[string]string
}

func (k *mapKeyring) Get(name string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[name]
	if !ok {
		return "", ErrNoKey
	}
	return v, nil
}
func (k *mapKeyring) Set(name, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[name] = value
	return nil
}
func (k *mapKeyring) Delete(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, name)
	return nil
}

// makeJobs builds n jobs over two licenses with a mix of states.
func makeJobs(n int) []app.Job {
	jobs := make([]app.Job, n)
	states := []app.JobState{app.StatePending, app.StateRetrying, app.StateNeedsAttention, app.StateDone, app.StateUnknown}
	for i := range jobs {
		lic := "CML-000001"
		if i%2 == 1 {
			lic = "C11-000002"
		}
		id := uint64(i + 1)
		ext := "R" + strings.Repeat("0", 5-len(itoa(i))) + itoa(i)
		jobs[i] = app.Job{ID: id, License: lic, Kind: app.KindSalesReceipt, Key: app.ReceiptKey(lic, ext),
			Body:  []byte(`{"SalesDateTime":"2026-11-28T10:00:00.000","SalesCustomerType":"Consumer","ExternalReceiptNumber":"` + ext + `","Transactions":[{"PackageLabel":"1A4000000000000000000001","Quantity":1,"UnitOfMeasure":"Each","TotalAmount":10}]}`),
			Reads: []string{"1A4000000000000000000001"}, State: states[i%len(states)],
			Created: testNow.Add(-time.Hour), Updated: testNow.Add(-time.Minute)}
	}
	return jobs
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for i > 0 {
		s = string(rune('0'+i%10)) + s
		i /= 10
	}
	return s
}
