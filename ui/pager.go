package ui

import (
	"sync"

	"tracesync/app"
)

// jobPager serves a virtual list of jobs for widget.Table from the store's
// cursor pages, keeping a small cache of pages so 100k rows scroll without
// loading them all. Loads run off the UI goroutine; onLoad is called (off
// it too) when rows arrived.
type jobPager struct {
	src      jobReader
	pageSize int
	maxPages int
	onLoad   func()

	mu      sync.Mutex
	gen     int
	filter  app.JobFilter
	total   int // exact row count from the maintained stats, -1 when unknown (search)
	cursors []uint64
	pages   map[int][]app.Job
	stale   map[int][]app.Job // previous pages shown while a refresh loads
	order   []int             // cache order, oldest first
	end     int               // rows known to exist when the last page was reached, -1 before
	busy    bool
	want    int // highest page asked for while busy
	err     error
}

func newJobPager(src jobReader, onLoad func()) *jobPager {
	return &jobPager{src: src, pageSize: 200, maxPages: 16, onLoad: onLoad, total: -1, end: -1,
		cursors: []uint64{0}, pages: map[int][]app.Job{}}
}

// setFilter starts over with f (the row count is computed off-thread).
func (p *jobPager) setFilter(f app.JobFilter) {
	f.Limit = p.pageSize
	p.mu.Lock()
	p.gen++
	p.filter, p.total, p.end = f, -1, -1
	p.cursors = []uint64{0}
	p.pages = map[int][]app.Job{}
	p.stale = nil
	p.order = nil
	p.err = nil
	gen := p.gen
	p.mu.Unlock()
	async(func() { p.count(gen, f) })
	p.request(0)
}

// refresh re-reads the rows with the same filter (the engine changed
// jobs). The old rows stay visible until their page is read again, so the
// table does not flicker.
func (p *jobPager) refresh() {
	p.mu.Lock()
	p.gen++
	p.stale = p.pages
	p.pages = map[int][]app.Job{}
	p.order = nil
	p.end, p.err = -1, nil
	if p.filter.Search != "" {
		p.total = -1
	}
	p.cursors = p.cursors[:1]
	gen, f := p.gen, p.filter
	p.mu.Unlock()
	async(func() { p.count(gen, f) })
}

func (p *jobPager) count(gen int, f app.JobFilter) {
	if f.Search != "" {
		return
	}
	st, err := p.src.Stats(f.License)
	if err != nil {
		return
	}
	n := 0
	if len(f.States) == 0 {
		for _, c := range st.ByState {
			n += c
		}
	} else {
		for _, s := range f.States {
			n += st.ByState[s]
		}
	}
	p.mu.Lock()
	if gen == p.gen {
		p.total = n
	}
	p.mu.Unlock()
	p.notify()
}

// rows is the row count the table shows: exact from stats when known,
// else the rows loaded so far plus one "loading" row while more may exist.
func (p *jobPager) rows() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.end >= 0 {
		return p.end
	}
	if p.total >= 0 {
		return p.total
	}
	return (len(p.cursors)-1)*p.pageSize + 1
}

// row returns row r when its page is cached; otherwise it asks for the
// page and returns false.
func (p *jobPager) row(r int) (app.Job, bool) {
	pg, i := r/p.pageSize, r%p.pageSize
	p.mu.Lock()
	jobs, ok := p.pages[pg]
	old, hasOld := p.stale[pg]
	p.mu.Unlock()
	if ok {
		if i < len(jobs) {
			return jobs[i], true
		}
		return app.Job{}, false
	}
	p.request(pg)
	if hasOld && i < len(old) {
		return old[i], true
	}
	return app.Job{}, false
}

// replace updates a cached job in place (single-row refresh after an action).
func (p *jobPager) replace(j app.Job) (row int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pg, jobs := range p.pages {
		for i := range jobs {
			if jobs[i].ID == j.ID {
				jobs[i] = j
				return pg*p.pageSize + i, true
			}
		}
	}
	return 0, false
}

func (p *jobPager) request(pg int) {
	p.mu.Lock()
	if p.busy {
		if pg > p.want {
			p.want = pg
		}
		p.mu.Unlock()
		return
	}
	p.busy, p.want = true, pg
	gen := p.gen
	p.mu.Unlock()
	async(func() { p.load(gen) })
}

// load walks cursor pages up to the wanted one, caching what it reads.
func (p *jobPager) load(gen int) {
	for {
		p.mu.Lock()
		if gen != p.gen {
			p.busy = false
			gen = p.gen
		}
		want := p.want
		if _, ok := p.pages[want]; ok || (p.end >= 0 && want*p.pageSize >= p.end) {
			p.busy = false
			p.mu.Unlock()
			p.notify()
			return
		}
		pg := len(p.cursors) - 1 // next unknown cursor position
		if want < pg {
			pg = want
		}
		f := p.filter
		f.After = p.cursors[pg]
		p.busy = true
		p.mu.Unlock()

		page, err := p.src.ListJobs(f)

		p.mu.Lock()
		if gen != p.gen {
			p.mu.Unlock()
			continue
		}
		if err != nil {
			p.err, p.busy = err, false
			p.mu.Unlock()
			p.notify()
			return
		}
		p.put(pg, page.Jobs)
		delete(p.stale, pg)
		if pg == len(p.cursors)-1 {
			if page.Next == 0 || len(page.Jobs) == 0 {
				p.end = pg*p.pageSize + len(page.Jobs)
			} else {
				p.cursors = append(p.cursors, page.Next)
			}
		}
		p.mu.Unlock()
		p.notify()
	}
}

// put caches a page, evicting the oldest beyond maxPages (mu held).
func (p *jobPager) put(pg int, jobs []app.Job) {
	if _, ok := p.pages[pg]; !ok {
		p.order = append(p.order, pg)
	}
	p.pages[pg] = jobs
	for len(p.order) > p.maxPages {
		delete(p.pages, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *jobPager) notify() {
	if p.onLoad != nil {
		p.onLoad()
	}
}

// loadErr returns the last load error.
func (p *jobPager) loadErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
