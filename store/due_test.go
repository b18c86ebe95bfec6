package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"tracesync/app"
)

func TestDueOrdering(t *testing.T) {
	s := openTest(t)
	q := mustEnqueue(t, s,
		adjust("L1", "A"),          // 1
		sale("L1", "R1", "A", "B"), // 2: waits for 1 (adjust changes A)
		sale("L1", "R2", "B"),      // 3: free (a sale changes nothing)
		adjust("L1", "B"),          // 4: free: 2 and 3 only read B
		adjust("L1", "B"),          // 5: waits for 4
		assembly("L1", "N", "C"),   // 6: free
		adjust("L1", "N"),          // 7: waits for 6 (creates N)
		adjust("L2", "A"),          // 8: other license: free
	)
	due := func(lic string, limit int) []uint64 {
		t.Helper()
		js, err := s.Due(lic, t0, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ids(js)
	}
	check := func(got, want []uint64) {
		t.Helper()
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	check(due("L1", 10), []uint64{1, 3, 4, 6})
	check(due("L1", 2), []uint64{1, 3})
	check(due("L2", 10), []uint64{8})
	check(due("L3", 10), nil)
	wait := func(id, want uint64) {
		t.Helper()
		if w, err := s.WaitingOn(id); err != nil || w != want {
			t.Errorf("WaitingOn(%d) = %d, %v; want %d", id, w, err, want)
		}
	}
	wait(2, 1)
	wait(5, 4)
	wait(7, 6)
	wait(3, 0)

	// Sending still blocks; needs-attention blocks ("waiting on #1");
	// a final state releases.
	walk(t, s, q[0], app.StateSending)
	check(due("L1", 10), []uint64{3, 4, 6})
	walk(t, s, q[0], app.StateNeedsAttention)
	wait(2, 1)
	check(due("L1", 10), []uint64{3, 4, 6})
	walk(t, s, q[0], app.StateMatched)
	check(due("L1", 10), []uint64{2, 3, 4, 6})
	wait(2, 0)

	// Not yet due: a retrying job with a later NextAttempt.
	mustApply(t, s, move(q[2], app.StateSending))
	mustApply(t, s, app.Transition{ID: q[2], To: app.StateRetrying, NextAttempt: t0.Add(time.Minute)})
	check(due("L1", 10), []uint64{2, 4, 6})
	if js, _ := s.Due("L1", t0.Add(time.Minute), 10); !reflect.DeepEqual(ids(js), []uint64{2, 3, 4, 6}) {
		t.Errorf("a minute later: %v", ids(js))
	}
	// 8 on L2 is the earliest of L2; L1's earliest is t0.
	if n, _ := s.NextDue("L1"); !n.Equal(t0) {
		t.Errorf("NextDue %v", n)
	}
	walk(t, s, 8, app.StateSending)
	if n, _ := s.NextDue("L2"); !n.IsZero() {
		t.Errorf("NextDue of a license with nothing pending: %v", n)
	}
}

// TestDueManyQueued covers the walk in id order used when more jobs are due
// than Due collects by time.
func TestDueManyQueued(t *testing.T) {
	s := openTest(t)
	var batch []app.Job
	for i := range 3 * dueScan {
		batch = append(batch, adjust("L1", fmt.Sprint("P", i%50)))
	}
	mustEnqueue(t, s, batch...)
	js, err := s.Due("L1", t0, 60)
	if err != nil {
		t.Fatal(err)
	}
	// The first job of each label is due; later ones wait.
	if len(js) != 50 || js[0].ID != 1 || js[49].ID != 50 {
		t.Fatalf("due %v", ids(js))
	}
}

// model is a brute-force reference of the queue for randomized tests.
type model struct{ jobs map[uint64]app.Job }

func (m model) blockedBy(j app.Job) uint64 {
	var first uint64
	for _, e := range m.jobs {
		if e.License != j.License || e.ID >= j.ID || e.State.Final() {
			continue
		}
		for _, c := range e.Changes() {
			for _, r := range j.Reads {
				if c == r && (first == 0 || e.ID < first) {
					first = e.ID
				}
			}
		}
	}
	return first
}

func (m model) due(license string, now time.Time, limit int) []uint64 {
	var out []uint64
	for _, j := range m.sorted(false) {
		if len(out) == limit {
			break
		}
		if j.License == license && isDueState(j.State) && !j.NextAttempt.After(now) && m.blockedBy(j) == 0 {
			out = append(out, j.ID)
		}
	}
	return out
}

func (m model) sorted(desc bool) []app.Job {
	var js []app.Job
	for _, j := range m.jobs {
		js = append(js, j)
	}
	sort.Slice(js, func(a, b int) bool { return (js[a].ID < js[b].ID) != desc })
	return js
}

func (m model) list(f app.JobFilter) app.JobPage {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var page app.JobPage
	for _, j := range m.sorted(f.NewestFirst) {
		if f.License != "" && j.License != f.License {
			continue
		}
		if len(f.States) > 0 && !contains(f.States, j.State) {
			continue
		}
		if f.After != 0 && (j.ID <= f.After) != f.NewestFirst || f.After == j.ID {
			continue
		}
		if f.Search != "" && !jobMatches(&j, strings.ToLower(f.Search)) {
			continue
		}
		if len(page.Jobs) == limit {
			page.Next = page.Jobs[limit-1].ID
			break
		}
		page.Jobs = append(page.Jobs, j)
	}
	return page
}

func contains[T comparable](s []T, x T) bool {
	for _, y := range s {
		if x == y {
			return true
		}
	}
	return false
}

// TestQueueAgainstModel drives the store with random jobs and moves and
// compares Due, WaitingOn, NextDue, ListJobs and Stats with brute force.
func TestQueueAgainstModel(t *testing.T) {
	t.Run("default", testQueueAgainstModel)
	t.Run("small-scan", func(t *testing.T) {
		// Few due jobs already exceed the time walk: Due walks in id order.
		defer func(n int) { dueScan = n }(dueScan)
		dueScan = 3
		testQueueAgainstModel(t)
	})
}

func testQueueAgainstModel(t *testing.T) {
	s := openTest(t, WithNoSync()) // logic, not durability: the crash test covers that
	r := rand.New(rand.NewPCG(1, 2))
	m := model{jobs: map[uint64]app.Job{}}
	lics := []string{"L1", "L2", "L3"}
	label := func() string { return fmt.Sprint("P", r.IntN(12)) }
	receipt := 0
	newJob := func() app.Job {
		lic := lics[r.IntN(3)]
		var j app.Job
		switch r.IntN(5) {
		case 0:
			receipt++
			j = assembly(lic, fmt.Sprint("N", receipt), label(), label())
		case 1:
			receipt++
			j = sale(lic, fmt.Sprint("R", receipt), label(), label())
		case 2:
			j = job(lic, app.KindChangeLocation, "mv", []string{label()}, nil)
		case 3:
			j = job(lic, app.KindFinish, "fin", []string{label()}, nil)
		default:
			j = adjust(lic, label())
		}
		j.Reads = uniqLabels(j.Reads)
		j.Created = t0.Add(time.Duration(r.IntN(3600)) * time.Second)
		j.NextAttempt = j.Created
		j.BusinessTime = t0.Add(-time.Duration(r.IntN(3600)) * time.Second)
		return j
	}
	sync := func() {
		for id := range m.jobs {
			j, err := s.Job(id)
			if err != nil {
				t.Fatal(err)
			}
			m.jobs[id] = j
		}
	}
	compare := func(round int) {
		t.Helper()
		for _, lic := range lics {
			for _, now := range []time.Time{t0, t0.Add(30 * time.Minute), t0.Add(3 * time.Hour)} {
				for _, limit := range []int{1, 7, 1000} {
					js, err := s.Due(lic, now, limit)
					if err != nil {
						t.Fatal(err)
					}
					if got, want := ids(js), m.due(lic, now, limit); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
						t.Fatalf("round %d: Due(%s, +%v, %d) = %v, want %v", round, lic, now.Sub(t0), limit, got, want)
					}
				}
			}
			var next time.Time
			var count = map[app.JobState]int{}
			var oldest, oldestBiz time.Time
			for _, j := range m.jobs {
				if j.License != lic {
					continue
				}
				count[j.State]++
				if isDueState(j.State) && (next.IsZero() || j.NextAttempt.Before(next)) {
					next = j.NextAttempt
				}
				if !j.State.Final() {
					if oldest.IsZero() || j.Created.Before(oldest) {
						oldest = j.Created
					}
					if oldestBiz.IsZero() || j.BusinessTime.Before(oldestBiz) {
						oldestBiz = j.BusinessTime
					}
				}
			}
			if got, _ := s.NextDue(lic); !got.Equal(next) {
				t.Fatalf("round %d: NextDue(%s) = %v, want %v", round, lic, got, next)
			}
			st, _ := s.Stats(lic)
			if !reflect.DeepEqual(st.ByState, count) && len(count) > 0 || !st.OldestUnfinished.Equal(oldest) || !st.OldestBusiness.Equal(oldestBiz) {
				t.Fatalf("round %d: Stats(%s) = %+v, want %v %v %v", round, lic, st, count, oldest, oldestBiz)
			}
		}
		for id, j := range m.jobs {
			want := uint64(0)
			if !j.State.Final() {
				want = m.blockedBy(j)
			}
			if got, _ := s.WaitingOn(id); got != want {
				t.Fatalf("round %d: WaitingOn(%d) = %d, want %d", round, id, got, want)
			}
		}
		for range 30 {
			f := app.JobFilter{NewestFirst: r.IntN(2) == 0, Limit: 1 + r.IntN(40)}
			if r.IntN(3) > 0 {
				f.License = lics[r.IntN(3)]
			}
			for range r.IntN(3) {
				f.States = append(f.States, app.States[r.IntN(len(app.States))])
			}
			if r.IntN(4) == 0 {
				f.Search = strings.ToLower(label())
			}
			if r.IntN(2) == 0 {
				f.After = uint64(r.IntN(len(m.jobs) + 2))
			}
			got, err := s.ListJobs(f)
			if err != nil {
				t.Fatal(err)
			}
			want := m.list(f)
			if !reflect.DeepEqual(ids(got.Jobs), ids(want.Jobs)) || got.Next != want.Next {
				t.Fatalf("round %d: ListJobs(%+v) = %v next %d, want %v next %d", round, f, ids(got.Jobs), got.Next, ids(want.Jobs), want.Next)
			}
		}
	}

	for round := range 12 {
		var batch []app.Job
		for range 100 + r.IntN(100) {
			batch = append(batch, newJob())
		}
		res, err := s.Enqueue(batch...)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range res {
			if x.Status == app.Queued {
				m.jobs[x.ID] = app.Job{}
			}
		}
		sync()
		// Random allowed moves, sometimes in a batch of several.
		for range 100 {
			var ts []app.Transition
			for range 1 + r.IntN(3) {
				id := uint64(1 + r.IntN(len(m.jobs)))
				j := m.jobs[id]
				var targets []app.JobState
				for _, to := range app.States {
					if app.CanTransition(j.State, to) {
						targets = append(targets, to)
					}
				}
				if len(targets) == 0 || contains(ids2FromTs(ts), id) {
					continue
				}
				to := targets[r.IntN(len(targets))]
				if to == app.StateDiscarded && r.IntN(3) > 0 {
					continue // keep discards (and their cascades) rarer
				}
				tr := app.Transition{ID: id, To: to, At: t0.Add(time.Hour)}
				if isDueState(to) {
					tr.NextAttempt = t0.Add(time.Duration(r.IntN(7200)) * time.Second)
				}
				ts = append(ts, tr)
			}
			js, err := s.Apply(ts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range js {
				m.jobs[j.ID] = j
				if j.State == app.StateDiscarded {
					sync() // the cascade moved others
				}
			}
		}
		if round%3 == 2 {
			compare(round)
		}
	}
	if len(m.jobs) < 700 {
		t.Errorf("only %d jobs: the many-due walk may not have run", len(m.jobs))
	}
}

func ids2FromTs(ts []app.Transition) []uint64 {
	var out []uint64
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}
