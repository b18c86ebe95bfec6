package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

var _ app.JobStore = (*Store)(nil)

// jobTx carries one read-write transaction over jobs: every record change
// goes through put, which keeps the indexes and the per-license counts in
// step within the same transaction.
type jobTx struct {
	s     *Store
	tx    *bbolt.Tx
	jobs  *bbolt.Bucket
	delta map[string]map[app.JobState]int
	// batch, when set, collects the index keys of new jobs so that flush
	// writes each bucket's in key order. bbolt splits nodes only at commit:
	// thousands of inserts at random places in one transaction cost a
	// memmove of the growing node each (quadratic); in order they append.
	batch map[string][]idxEntry
}

func (s *Store) newJobTx(tx *bbolt.Tx) *jobTx {
	return &jobTx{s: s, tx: tx, jobs: tx.Bucket(bucketJobs), delta: map[string]map[app.JobState]int{}}
}

// load reads one job as it stands in this transaction.
func (t *jobTx) load(id uint64) (*app.Job, error) {
	return loadJob(t.tx, id)
}

func loadJob(tx *bbolt.Tx, id uint64) (*app.Job, error) {
	data := tx.Bucket(bucketJobs).Get(itob(id))
	if data == nil {
		return nil, fmt.Errorf("job #%d: %w", id, app.ErrNotFound)
	}
	var j app.Job
	if err := decodeJSON(bucketJobs, itob(id), data, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// put writes a job (old is its previous version, nil for a new one), its
// index keys and the count deltas.
func (t *jobTx) put(old, j *app.Job) error {
	data, err := appendJob(make([]byte, 0, 256+len(j.Body)), j)
	if err != nil {
		return fmt.Errorf("encode job #%d: %w", j.ID, err)
	}
	if err := t.jobs.Put(itob(j.ID), data); err != nil {
		return fmt.Errorf("put job #%d: %w", j.ID, err)
	}
	if old == nil && t.batch != nil {
		for _, e := range indexEntries(j) {
			t.batch[string(e.bucket)] = append(t.batch[string(e.bucket)], e)
		}
	} else if err := updateIndexes(t.tx, old, j); err != nil {
		return fmt.Errorf("job #%d: %w", j.ID, err)
	}
	if old == nil || old.State != j.State {
		d := t.delta[j.License]
		if d == nil {
			d = map[app.JobState]int{}
			t.delta[j.License] = d
		}
		d[j.State]++
		if old != nil {
			d[old.State]--
		}
	}
	return nil
}

// flush writes the collected index keys and the count deltas; call it last
// in the transaction.
func (t *jobTx) flush() error {
	for name, es := range t.batch {
		sortEntries(es, name != string(bucketJobKeys))
		bk := t.tx.Bucket([]byte(name))
		for _, e := range es {
			v := e.value
			if v == nil {
				v = []byte{}
			}
			if err := bk.Put(e.key, v); err != nil {
				return fmt.Errorf("index %s: %w", name, err)
			}
		}
	}
	t.batch = nil
	b := t.tx.Bucket(bucketJobStats)
	for lic, d := range t.delta {
		counts, err := readCounts(b, lic)
		if err != nil {
			return err
		}
		for st, n := range d {
			counts[st] += n
			if counts[st] == 0 {
				delete(counts, st)
			}
		}
		if err := putJSON(t.tx, bucketJobStats, []byte(lic), counts); err != nil {
			return err
		}
	}
	return nil
}

func readCounts(b *bbolt.Bucket, license string) (map[app.JobState]int, error) {
	counts := map[app.JobState]int{}
	if raw := b.Get([]byte(license)); raw != nil {
		if err := decodeJSON(bucketJobStats, []byte(license), raw, &counts); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// sortEntries puts a batch's index keys in key order. Index keys start
// with their license, and within a license most indexes receive new jobs in
// id (or creation-time) order already: grouped by license, each group is
// usually sorted and costs one pass instead of a sort.
func sortEntries(es []idxEntry, byLicense bool) {
	cmp := func(a, b idxEntry) int { return bytes.Compare(a.key, b.key) }
	if !byLicense || slices.IsSortedFunc(es, cmp) {
		slices.SortFunc(es, cmp)
		return
	}
	// A counting sort by license (few of them), keeping each group's order.
	var lics [][]byte
	group := make([]uint8, len(es))
	for i, e := range es {
		lic := e.key[:bytes.IndexByte(e.key, sep)+1]
		g := slices.IndexFunc(lics, func(l []byte) bool { return bytes.Equal(l, lic) })
		if g < 0 {
			if len(lics) == 32 {
				slices.SortFunc(es, cmp) // many licenses: just sort
				return
			}
			lics = append(lics, lic)
			g = len(lics) - 1
		}
		group[i] = uint8(g)
	}
	order := make([]int, len(lics))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(lics[a], lics[b]) })
	start := make([]int, len(lics))
	count := make([]int, len(lics))
	for _, g := range group {
		count[g]++
	}
	n := 0
	for _, g := range order {
		start[g] = n
		n += count[g]
	}
	sorted := make([]idxEntry, len(es))
	for i, e := range es {
		sorted[start[group[i]]] = e
		start[group[i]]++
	}
	n = 0
	for _, g := range order {
		part := sorted[n : n+count[g]]
		if !slices.IsSortedFunc(part, cmp) {
			slices.SortFunc(part, cmp)
		}
		n += count[g]
	}
	copy(es, sorted)
}

// keyedKind: kinds whose key comes from their content (DESIGN.md, Keys).
func keyedKind(k app.JobKind) bool {
	return k == app.KindCreatePackage || k == app.KindSalesReceipt
}

func validName(what, s string) error {
	if s == "" || strings.IndexByte(s, sep) >= 0 {
		return fmt.Errorf("%s %q is empty or holds a NUL byte", what, s)
	}
	return nil
}

func validateJob(j *app.Job) error {
	if err := validName("license", j.License); err != nil {
		return err
	}
	if !j.Kind.Valid() {
		return fmt.Errorf("unknown job kind %q", j.Kind)
	}
	if strings.HasPrefix(j.Key, app.UniqueKeyPrefix) {
		j.Key = "" // a copy of a stored job: it gets its own unique key
	}
	if j.Key == "" && keyedKind(j.Kind) {
		return fmt.Errorf("%s job without a key", j.Kind)
	}
	for _, ls := range [][]string{j.Reads, j.Creates} {
		for _, l := range ls {
			if err := validName("label", l); err != nil {
				return err
			}
		}
	}
	if len(j.Body) == 0 {
		return fmt.Errorf("%s job %s: no body", j.Kind, j.Key)
	}

	return nil
}

func sameBody(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Enqueue implements app.JobStore.
func (s *Store) Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error) {
	res := make([]app.EnqueueResult, len(jobs))
	conflicts := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		t := s.newJobTx(tx)
		keys := tx.Bucket(bucketJobKeys)
		var batchKeys map[string]uint64 // keys of this batch, not yet in keys
		if len(jobs) > 1 {
			t.batch = make(map[string][]idxEntry, len(jobIndexBuckets)+1)
			for _, b := range append(jobIndexBuckets, bucketJobKeys) {
				t.batch[string(b)] = make([]idxEntry, 0, len(jobs))
			}
			batchKeys = make(map[string]uint64, len(jobs))
			// Ids, and per license the due and created times, only grow:
			// these buckets take new keys at the end of a range, so their
			// pages can be packed full.
			for _, b := range [][]byte{bucketJobs, bucketJobState, bucketJobDueAt, bucketJobOpenCreated} {
				tx.Bucket(b).FillPercent = 1
			}
		}
		for i := range jobs {
			j := jobs[i] // a copy: the caller's slice is not changed
			if err := validateJob(&j); err != nil {
				return fmt.Errorf("job %d of %d: %w", i+1, len(jobs), err)
			}
			if j.Key != "" {
				oldID, inBatch := batchKeys[j.Key]
				if raw := keys.Get([]byte(j.Key)); raw != nil {
					oldID, inBatch = btoi(raw), true
				}
				if inBatch {
					old, err := t.load(oldID)
					if err != nil {
						return fmt.Errorf("key %s: %w", j.Key, err)
					}
					res[i] = app.EnqueueResult{ID: old.ID, Key: j.Key, Status: app.Skipped}
					if old.Kind != j.Kind || !sameBody(old.Body, j.Body) {
						res[i].Status = app.Conflict
						conflicts++
					}
					continue
				}
			}
			id, err := t.jobs.NextSequence()
			if err != nil {
				return fmt.Errorf("next job id: %w", err)
			}
			j.ID = id
			if j.Created.IsZero() {
				j.Created = time.Now()
			}
			if j.Updated.IsZero() {
				j.Updated = j.Created
			}
			if j.NextAttempt.IsZero() {
				j.NextAttempt = j.Created
			}
			j.State = app.StatePending
			if j.Key == "" {
				// A unique key is the id itself: JobByKey parses it, and
				// nothing is stored for it.
				j.Key = app.UniqueKeyPrefix + strconv.FormatUint(id, 10)
			} else if t.batch != nil {
				batchKeys[j.Key] = id
				t.batch[string(bucketJobKeys)] = append(t.batch[string(bucketJobKeys)], idxEntry{bucketJobKeys, []byte(j.Key), itob(id)})
			} else if err := keys.Put([]byte(j.Key), itob(id)); err != nil {
				return fmt.Errorf("key %s: %w", j.Key, err)
			}
			if err := t.put(nil, &j); err != nil {
				return err
			}
			res[i] = app.EnqueueResult{ID: id, Key: j.Key, Status: app.Queued}
		}
		if conflicts > 0 {
			return app.ErrConflict // rolls the whole batch back
		}
		return t.flush()
	})
	if errors.Is(err, app.ErrConflict) {
		for i := range res { // nothing was stored: no new ids to report
			if res[i].Status == app.Queued {
				res[i].ID = 0
			}
		}
		return res, fmt.Errorf("enqueue: %d of %d jobs differ from queued jobs with the same key: %w", conflicts, len(jobs), err)
	}
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return res, nil
}

// Apply implements app.JobStore.
func (s *Store) Apply(ts ...app.Transition) ([]app.Job, error) {
	out := make([]app.Job, 0, len(ts))
	err := s.db.Update(func(tx *bbolt.Tx) error {
		t := s.newJobTx(tx)
		for _, tr := range ts {
			j, err := t.apply(tr)
			if err != nil {
				return err
			}
			out = append(out, *j)
		}
		return t.flush()
	})
	if err != nil {
		var te *app.TransitionError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, fmt.Errorf("apply: %w", err)
	}
	return out, nil
}

// apply performs one transition and what follows from it.
func (t *jobTx) apply(tr app.Transition) (*app.Job, error) {
	old, err := t.load(tr.ID)
	if err != nil {
		return nil, err
	}
	if !app.CanTransition(old.State, tr.To) {
		return nil, &app.TransitionError{ID: tr.ID, From: old.State, To: tr.To}
	}
	j := *old
	at := tr.At
	if at.IsZero() {
		at = time.Now()
	}
	if tr.Edit != nil {
		if old.State != app.StateNeedsAttention || tr.To != app.StatePending {
			return nil, fmt.Errorf("job #%d: only a job that needs attention can be edited and resent", j.ID)
		}
		if err := applyEdit(&j, tr.Edit); err != nil {
			return nil, err
		}
	}
	j.State = tr.To
	j.Updated = at
	if tr.Attempt != nil {
		j.Attempts = append(append([]app.Attempt(nil), old.Attempts...), *tr.Attempt)
	}
	if !tr.NextAttempt.IsZero() {
		j.NextAttempt = tr.NextAttempt
	} else if isDueState(tr.To) {
		j.NextAttempt = at
	}
	switch {
	case tr.Reason != "":
		j.Reason = tr.Reason
	case tr.To != app.StateNeedsAttention && tr.To != app.StateDiscarded:
		j.Reason = ""
	}
	if err := t.put(old, &j); err != nil {
		return nil, err
	}
	if tr.To == app.StateDiscarded {
		if err := t.cascadeDiscard(&j, at); err != nil {
			return nil, err
		}
	}
	if tr.To.Final() {
		if err := t.markPackagesFinished(&j, at); err != nil {
			return nil, err
		}
	}
	return &j, nil
}

// applyEdit puts a person's correction in place; the key must not change.
func applyEdit(j *app.Job, e *app.JobEdit) error {
	if len(e.Body) == 0 || !json.Valid(e.Body) {
		return fmt.Errorf("job #%d: edited body is not JSON", j.ID)
	}
	var key string
	switch j.Kind {
	case app.KindCreatePackage:
		var p struct{ Tag string }
		if err := json.Unmarshal(e.Body, &p); err != nil {
			return fmt.Errorf("job #%d: edited body: %w", j.ID, err)
		}
		key = app.PackageKey(j.License, p.Tag)
	case app.KindSalesReceipt:
		var r struct{ ExternalReceiptNumber string }
		if err := json.Unmarshal(e.Body, &r); err != nil {
			return fmt.Errorf("job #%d: edited body: %w", j.ID, err)
		}
		key = app.ReceiptKey(j.License, r.ExternalReceiptNumber)
	default:
		key = j.Key
	}
	if key != j.Key {
		return fmt.Errorf("job #%d: the edit changes its key %s to %s, which is not allowed", j.ID, j.Key, key)
	}
	j.Body = append(json.RawMessage(nil), e.Body...)
	if e.Reads != nil {
		for _, l := range e.Reads {
			if err := validName("label", l); err != nil {
				return fmt.Errorf("job #%d: %w", j.ID, err)
			}
		}
		j.Reads = append([]string(nil), e.Reads...)
	}
	if !e.BusinessTime.IsZero() {
		j.BusinessTime = e.BusinessTime
	}
	return nil
}

// cascadeDiscard moves the later unfinished jobs of the license that read a
// label the discarded job creates or changes to needs-attention. A job being
// sent right now is left to the engine's answer.
//
// Discarding is a person's rare act, so the dependents are found by a walk
// rather than a readers index that every enqueue would pay for: pending and
// retrying jobs carry their reads in the due index value (no decoding), and
// unknown jobs are few.
func (t *jobTx) cascadeDiscard(d *app.Job, at time.Time) error {
	changed := uniqLabels(d.Changes())
	if len(changed) == 0 {
		return nil
	}
	hit := func(reads []string) bool {
		for _, r := range reads {
			for _, c := range changed {
				if r == c {
					return true
				}
			}
		}
		return false
	}
	var ids []uint64
	dueWalk(t.tx, d.License, d.ID, func(id uint64, v []byte) bool {
		if _, reads := parseDueValue(v); hit(reads) {
			ids = append(ids, id)
		}
		return true
	})
	for _, id := range idsInState(t.tx, d.License, app.StateUnknown) {
		if id <= d.ID {
			continue
		}
		j, err := t.load(id)
		if err != nil {
			return fmt.Errorf("discard #%d: dependent: %w", d.ID, err)
		}
		if hit(j.Reads) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	reason := fmt.Sprintf("input #%d was discarded", d.ID)
	for _, id := range slices.Compact(ids) {
		old, err := t.load(id)
		if err != nil {
			return fmt.Errorf("discard #%d: dependent: %w", d.ID, err)
		}
		switch old.State {
		case app.StatePending, app.StateRetrying, app.StateUnknown:
		default:
			continue
		}
		j := *old
		j.State = app.StateNeedsAttention
		j.Reason = reason
		j.Updated = at
		if err := t.put(old, &j); err != nil {
			return err
		}
	}
	return nil
}

// markPackagesFinished records on the packages a finished job touched when
// that happened: reconcile compares only snapshots pulled after it.
func (t *jobTx) markPackagesFinished(j *app.Job, at time.Time) error {
	b := t.tx.Bucket(bucketPackages)
	for _, label := range uniqLabels(append(append([]string(nil), j.Reads...), j.Creates...)) {
		k := packageKey(j.License, label)
		raw := b.Get(k)
		if raw == nil {
			continue
		}
		var p app.Package
		if err := decodeJSON(bucketPackages, k, raw, &p); err != nil {
			t.s.reportCorrupt(err) // the job's change must not fail for it
			continue
		}
		if !p.LastJobFinished.Before(at) {
			continue
		}
		p.LastJobFinished = at
		if err := putJSON(t.tx, bucketPackages, k, p); err != nil {
			return err
		}
	}
	return nil
}

// Job implements app.JobStore.
func (s *Store) Job(id uint64) (app.Job, error) {
	var j *app.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		j, err = loadJob(tx, id)
		return err
	})
	if err != nil {
		return app.Job{}, err
	}
	return *j, nil
}

// JobByKey implements app.JobStore.
func (s *Store) JobByKey(key string) (app.Job, error) {
	var j *app.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		var id uint64
		if rest, ok := strings.CutPrefix(key, app.UniqueKeyPrefix); ok {
			id, _ = strconv.ParseUint(rest, 10, 64)
		} else if raw := tx.Bucket(bucketJobKeys).Get([]byte(key)); raw != nil {
			id = btoi(raw)
		}
		if id == 0 {
			return fmt.Errorf("job %s: %w", key, app.ErrNotFound)
		}
		var err error
		j, err = loadJob(tx, id)
		if err == nil && j.Key != key {
			err = fmt.Errorf("job %s: %w", key, app.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return app.Job{}, err
	}
	return *j, nil
}

// blocker returns the earliest unfinished job of the license before id that
// changes one of the labels, or 0. One seek per label.
func blocker(c *bbolt.Cursor, license string, id uint64, reads []string) uint64 {
	var first uint64
	for _, label := range reads {
		p := labelPrefix(license, label)
		k, _ := c.Seek(p)
		if k == nil || !bytes.HasPrefix(k, p) {
			continue
		}
		if b := tailID(k); b < id && (first == 0 || b < first) {
			first = b
		}
	}
	return first
}

// dueScan is how many due entries Due collects in NextAttempt order before
// it switches to walking in id order. A variable so tests can force the
// second walk.
var dueScan = 256

// Due implements app.JobStore.
//
// Two walks, both bounded by the answer in the common cases: first the
// NextAttempt index collects what is due; when that is a small set (an
// outage's retrying jobs are mostly not due) it is sorted and filtered.
// When many are due, the id-ordered index is walked from the start, skipping
// what is not due or blocked, until limit jobs are found. The blocking test
// is one seek per label read in the changers index.
func (s *Store) Due(license string, now time.Time, limit int) ([]app.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []app.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		nowB := timeBytes(now)
		p := licPrefix(license)
		changers := tx.Bucket(bucketJobChangers).Cursor()
		var ids []uint64
		c := tx.Bucket(bucketJobDueAt).Cursor()
		complete := true
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if btoi(k[len(p):len(p)+8]) > nowB {
				break
			}
			if len(ids) == dueScan {
				complete = false
				break
			}
			ids = append(ids, tailID(k))
		}
		var pick []uint64
		if complete {
			sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
			for _, id := range ids {
				v := dueValueOf(tx, license, id)
				if v == nil {
					continue
				}
				_, reads := parseDueValue(v)
				if blocker(changers, license, id, reads) == 0 {
					pick = append(pick, id)
					if len(pick) == limit {
						break
					}
				}
			}
		} else {
			dueWalk(tx, license, 0, func(id uint64, v []byte) bool {
				next, reads := parseDueValue(v)
				if next <= nowB && blocker(changers, license, id, reads) == 0 {
					pick = append(pick, id)
				}
				return len(pick) < limit
			})
		}
		out = make([]app.Job, 0, len(pick))
		for _, id := range pick {
			j, err := loadJob(tx, id)
			if err != nil {
				if errors.Is(err, app.ErrCorrupt) {
					s.reportCorrupt(err)
					continue
				}
				return err
			}
			out = append(out, *j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due %s: %w", license, err)
	}
	return out, nil
}

// NextDue implements app.JobStore.
func (s *Store) NextDue(license string) (time.Time, error) {
	var t time.Time
	err := s.db.View(func(tx *bbolt.Tx) error {
		p := licPrefix(license)
		k, _ := tx.Bucket(bucketJobDueAt).Cursor().Seek(p)
		if k != nil && bytes.HasPrefix(k, p) {
			t = bytesTime(btoi(k[len(p) : len(p)+8]))
		}
		return nil
	})
	return t, err
}

// WaitingOn implements app.JobStore.
func (s *Store) WaitingOn(id uint64) (uint64, error) {
	var w uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		j, err := loadJob(tx, id)
		if err != nil {
			return err
		}
		if !j.State.Final() {
			w = blocker(tx.Bucket(bucketJobChangers).Cursor(), j.License, id, uniqLabels(j.Reads))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("waiting on: %w", err)
	}
	return w, nil
}

// licenses lists every license that has jobs (the counts bucket's keys).
func licensesWithJobs(tx *bbolt.Tx) []string {
	var out []string
	tx.Bucket(bucketJobStats).ForEach(func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out
}

// idsInState lists a license's job ids in one state, in id order.
func idsInState(tx *bbolt.Tx, license string, st app.JobState) []uint64 {
	var ids []uint64
	p := statePrefix(license, st)
	c := tx.Bucket(bucketJobState).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		ids = append(ids, tailID(k))
	}
	return ids
}

// MakeDue implements app.JobStore. It counts every selected job in a
// pushable state, and rewrites only those not already due.
func (s *Store) MakeDue(now time.Time, sel app.DueSelector) (int, error) {
	n := 0
	chosen := 0
	if len(sel.IDs) > 0 {
		chosen++
	}
	if sel.License != "" {
		chosen++
	}
	if sel.All {
		chosen++
	}
	if chosen != 1 {
		return 0, errors.New("make due: choose exactly one of ids, a license or all")
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		t := s.newJobTx(tx)
		var ids []uint64
		if len(sel.IDs) > 0 {
			ids = sel.IDs
		} else {
			lics := []string{sel.License}
			if sel.All {
				lics = licensesWithJobs(tx)
			}
			nowB := timeBytes(now)
			for _, lic := range lics {
				dueWalk(tx, lic, 0, func(id uint64, v []byte) bool {
					if next, _ := parseDueValue(v); next <= nowB {
						n++ // already due: nothing to write
					} else {
						ids = append(ids, id)
					}
					return true
				})
				ids = append(ids, idsInState(tx, lic, app.StateUnknown)...)
			}
		}
		for _, id := range ids {
			old, err := t.load(id)
			if err != nil {
				return err
			}
			switch old.State {
			case app.StatePending, app.StateRetrying, app.StateUnknown:
			default:
				continue
			}
			n++
			if !old.NextAttempt.IsZero() && !old.NextAttempt.After(now) {
				continue
			}
			j := *old
			j.NextAttempt = now
			if err := t.put(old, &j); err != nil {
				return err
			}
		}
		return t.flush()
	})
	if err != nil {
		return 0, fmt.Errorf("make due: %w", err)
	}
	return n, nil
}

// Attempt outcome Recover records for a send a stop interrupted.
const OutcomeInterrupted = "interrupted"

// Recover implements app.JobStore.
func (s *Store) Recover(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		t := s.newJobTx(tx)
		for _, lic := range licensesWithJobs(tx) {
			for _, id := range idsInState(tx, lic, app.StateSending) {
				j, err := t.load(id)
				if err != nil {
					return err
				}
				to := app.StateUnknown
				if j.Kind.Idempotent() {
					to = app.StateRetrying
				}
				if _, err := t.apply(app.Transition{
					ID: id, To: to, At: now, NextAttempt: now,
					Attempt: &app.Attempt{At: now, Outcome: OutcomeInterrupted, Message: "tracesync stopped before Metrc answered"},
				}); err != nil {
					return err
				}
				n++
			}
		}
		return t.flush()
	})
	if err != nil {
		return 0, fmt.Errorf("recover: %w", err)
	}
	return n, nil
}

// Stats implements app.JobStore from the maintained counts and the
// unfinished-jobs indexes (a few seeks, no scan).
func (s *Store) Stats(license string) (app.JobStats, error) {
	st := app.JobStats{ByState: map[app.JobState]int{}}
	err := s.db.View(func(tx *bbolt.Tx) error {
		lics := []string{license}
		if license == "" {
			lics = licensesWithJobs(tx)
		}
		b := tx.Bucket(bucketJobStats)
		for _, lic := range lics {
			counts, err := readCounts(b, lic)
			if err != nil {
				return err
			}
			for k, n := range counts {
				if n != 0 {
					st.ByState[k] += n
				}
			}
			if t := oldestOpen(tx, bucketJobOpenCreated, lic, func(j *app.Job) time.Time { return j.Created }); !t.IsZero() && (st.OldestUnfinished.IsZero() || t.Before(st.OldestUnfinished)) {
				st.OldestUnfinished = t
			}
			if t := oldestOpen(tx, bucketJobOpenBusiness, lic, func(j *app.Job) time.Time { return j.BusinessTime }); !t.IsZero() && (st.OldestBusiness.IsZero() || t.Before(st.OldestBusiness)) {
				st.OldestBusiness = t
			}
		}
		return nil
	})
	if err != nil {
		return app.JobStats{}, fmt.Errorf("stats %s: %w", license, err)
	}
	return st, nil
}

// oldestOpen reads the first entry of a license in a time index; the time
// is taken from the job itself (so it compares equal to Job's), or from the
// key when the job does not decode.
func oldestOpen(tx *bbolt.Tx, bucket []byte, license string, field func(*app.Job) time.Time) time.Time {
	p := licPrefix(license)
	k, _ := tx.Bucket(bucket).Cursor().Seek(p)
	if k == nil || !bytes.HasPrefix(k, p) {
		return time.Time{}
	}
	if j, err := loadJob(tx, tailID(k)); err == nil {
		return field(j)
	}
	return bytesTime(btoi(k[len(p) : len(p)+8]))
}
