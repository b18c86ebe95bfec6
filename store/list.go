package store

import (
	"bytes"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// idStream walks one index group (license\0state\0) in id order, forwards
// or backwards.
type idStream struct {
	c      *bbolt.Cursor
	prefix []byte
	key    []byte
	val    []byte
	back   bool
}

func (s *idStream) start(after uint64) {
	switch {
	case !s.back:
		s.key, s.val = s.c.Seek(keyBuf(s.prefix).u64(after + 1))
	case after == 0:
		if end := prefixEnd(s.prefix); end != nil {
			if k, _ := s.c.Seek(end); k != nil {
				s.key, s.val = s.c.Prev()
			} else {
				s.key, s.val = s.c.Last()
			}
		} else {
			s.key, s.val = s.c.Last()
		}
	default:
		// Seek lands on the first key >= after; the one before it is < after.
		if k, _ := s.c.Seek(keyBuf(s.prefix).u64(after)); k != nil {
			s.key, s.val = s.c.Prev()
		} else {
			s.key, s.val = s.c.Last()
		}
	}
	s.check()
}

func (s *idStream) next() {
	if s.back {
		s.key, s.val = s.c.Prev()
	} else {
		s.key, s.val = s.c.Next()
	}
	s.check()
}

func (s *idStream) check() {
	if s.key != nil && !bytes.HasPrefix(s.key, s.prefix) {
		s.key = nil
	}
}

func (s *idStream) id() uint64 { return tailID(s.key) }

// ListJobs implements app.JobStore. Filtering by license and state merges
// the job_state index groups, so a page costs its own size; Search decodes
// and tests each candidate in turn (a scan, acceptable for a typed query).
// Records that fail to decode are reported and skipped.
func (s *Store) ListJobs(f app.JobFilter) (app.JobPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	search := strings.ToLower(f.Search)
	// JSON stores plain ASCII text verbatim, so such a search can be tested
	// on the raw record before it is decoded.
	pretest := search != "" && strings.IndexFunc(search, func(r rune) bool {
		return r >= 0x7f || r < 0x20 || strings.ContainsRune(`<>&"\`, r)
	}) < 0
	var page app.JobPage
	err := s.db.View(func(tx *bbolt.Tx) error {
		var streams []*idStream
		var all *bbolt.Cursor
		if f.License == "" && len(f.States) == 0 {
			all = tx.Bucket(bucketJobs).Cursor()
		} else {
			lics := []string{f.License}
			if f.License == "" {
				lics = licensesWithJobs(tx)
			}
			states := f.States
			if len(states) == 0 {
				states = app.States
			}
			b := tx.Bucket(bucketJobState)
			for _, lic := range lics {
				for _, st := range uniqStates(states) {
					s := &idStream{c: b.Cursor(), prefix: statePrefix(lic, st), back: f.NewestFirst}
					s.start(f.After)
					streams = append(streams, s)
				}
			}
		}
		// nextID yields candidate ids in the requested order (0 at the end).
		var allKey []byte
		nextID := func() uint64 {
			if all != nil {
				switch {
				case allKey == nil && !f.NewestFirst:
					allKey, _ = all.Seek(itob(f.After + 1))
				case allKey == nil && f.After == 0:
					allKey, _ = all.Last()
				case allKey == nil:
					if k, _ := all.Seek(itob(f.After)); k != nil {
						allKey, _ = all.Prev()
					} else {
						allKey, _ = all.Last()
					}
				case f.NewestFirst:
					allKey, _ = all.Prev()
				default:
					allKey, _ = all.Next()
				}
				if allKey == nil || len(allKey) != 8 {
					all = nil
					return 0
				}
				return btoi(allKey)
			}
			var best *idStream
			for _, s := range streams {
				if s.key == nil {
					continue
				}
				if best == nil || (s.id() < best.id()) != f.NewestFirst {
					best = s
				}
			}
			if best == nil {
				return 0
			}
			id := best.id()
			best.next()
			return id
		}
		jobs := tx.Bucket(bucketJobs)
		for id := nextID(); id != 0; id = nextID() {
			raw := jobs.Get(itob(id))
			if raw == nil {
				continue
			}
			if pretest && !bytes.Contains(bytes.ToLower(raw), []byte(search)) {
				continue // cheap pre-test on the raw record before decoding
			}
			var j app.Job
			if err := decodeJSON(bucketJobs, itob(id), raw, &j); err != nil {
				s.reportCorrupt(err)
				continue
			}
			if search != "" && !jobMatches(&j, search) {
				continue
			}
			if len(page.Jobs) == limit {
				page.Next = page.Jobs[limit-1].ID
				break
			}
			page.Jobs = append(page.Jobs, j)
		}
		return nil
	})
	if err != nil {
		return app.JobPage{}, fmt.Errorf("list jobs: %w", err)
	}
	return page, nil
}

func uniqStates(s []app.JobState) []app.JobState {
	var out []app.JobState
	for _, x := range s {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

// jobMatches: search (lowercase) is in the key or a label the job reads or
// creates.
func jobMatches(j *app.Job, search string) bool {
	if strings.Contains(strings.ToLower(j.Key), search) {
		return true
	}
	for _, l := range j.Reads {
		if strings.Contains(strings.ToLower(l), search) {
			return true
		}
	}
	for _, l := range j.Creates {
		if strings.Contains(strings.ToLower(l), search) {
			return true
		}
	}
	return false
}
