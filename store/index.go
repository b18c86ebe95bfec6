package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// Index keys join text parts with a 0 byte (licenses and labels never hold
// one: Enqueue refuses them) and end with fixed-width 8-byte numbers, so a
// prefix such as license\0 or license\0label\0 selects exactly one group and
// the cursor walks it in id (or time) order.

const sep = 0

// timeBytes encodes t so that byte order is time order: the zero time is 0,
// everything else is UnixNano with the sign bit flipped, clamped to the range
// UnixNano can represent (years 1678 to 2262).
func timeBytes(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	switch {
	case t.Year() < 1679:
		return 1
	case t.Year() > 2261:
		return 1<<64 - 1
	}
	return uint64(t.UnixNano()) ^ 1<<63
}

// bytesTime decodes timeBytes (the zero time for 0).
func bytesTime(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(u^1<<63))
}

// keyBuf builds an index key.
type keyBuf []byte

func (k keyBuf) str(s string) keyBuf { return append(append(k, s...), sep) }
func (k keyBuf) u64(v uint64) keyBuf { return binary.BigEndian.AppendUint64(k, v) }

func licPrefix(license string) []byte { return keyBuf(nil).str(license) }

func stateKey(license string, st app.JobState, id uint64) []byte {
	return keyBuf(nil).str(license).str(string(st)).u64(id)
}

func statePrefix(license string, st app.JobState) []byte {
	return keyBuf(nil).str(license).str(string(st))
}

func timeIDKey(license string, t time.Time, id uint64) []byte {
	return keyBuf(nil).str(license).u64(timeBytes(t)).u64(id)
}

func labelKey(license, label string, id uint64) []byte {
	return keyBuf(nil).str(license).str(label).u64(id)
}

func labelPrefix(license, label string) []byte { return keyBuf(nil).str(license).str(label) }

// tailID reads the id that ends every job index key.
func tailID(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(k)-8:]) }

// prefixEnd is the smallest key after every key that starts with p.
func prefixEnd(p []byte) []byte {
	e := bytes.Clone(p)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] < 0xff {
			e[i]++
			return e[:i+1]
		}
	}
	return nil // p is all 0xff: nothing sorts after; callers use Last
}

// dueValue is the job_state value of a pending or retrying job: its
// NextAttempt, then the labels it reads, so Due can test blocking without
// decoding the job.
func dueValue(j *app.Job) []byte {
	v := binary.BigEndian.AppendUint64(nil, timeBytes(j.NextAttempt))
	for _, r := range j.Reads {
		v = append(append(v, r...), sep)
	}
	return v
}

// parseDueValue splits a dueValue.
func parseDueValue(v []byte) (next uint64, reads []string) {
	next = binary.BigEndian.Uint64(v[:8])
	rest := string(v[8:])
	for rest != "" {
		i := strings.IndexByte(rest, sep)
		if i < 0 {
			reads = append(reads, rest)
			break
		}
		reads = append(reads, rest[:i])
		rest = rest[i+1:]
	}
	return next, reads
}

// idxEntry is one key a job owns in an index bucket.
type idxEntry struct {
	bucket []byte
	key    []byte
	value  []byte
}

// isDueState: the states Due and NextDue consider.
func isDueState(s app.JobState) bool { return s == app.StatePending || s == app.StateRetrying }

// indexEntries lists every index key the job should have in its state. The
// keys and the value share one allocation (Enqueue builds 100k at a time).
func indexEntries(j *app.Job) []idxEntry {
	due, open := isDueState(j.State), !j.State.Final()
	var changes []string
	lic := len(j.License) + 1
	n := lic + len(j.State) + 1 + 8
	if due {
		n += lic + 16 + 8
		for _, r := range j.Reads {
			n += len(r) + 1
		}
	}
	if open {
		changes = uniqLabels(j.Changes())
		n += 2 * (lic + 16)
		for _, l := range changes {
			n += lic + len(l) + 1 + 8
		}
	}
	buf := keyBuf(make([]byte, 0, n))
	// cut returns what was appended since mark, capped so that later
	// appends cannot write into it.
	cut := func(mark int) []byte { return buf[mark:len(buf):len(buf)] }

	e := make([]idxEntry, 0, 4+len(changes))
	m := len(buf)
	buf = buf.str(j.License).str(string(j.State)).u64(j.ID)
	state := idxEntry{bucket: bucketJobState, key: cut(m)}
	if due {
		m = len(buf)
		buf = binary.BigEndian.AppendUint64(buf, timeBytes(j.NextAttempt))
		for _, r := range j.Reads {
			buf = append(append(buf, r...), sep)
		}
		state.value = cut(m)
		e = append(e, state)
		m = len(buf)
		buf = buf.str(j.License).u64(timeBytes(j.NextAttempt)).u64(j.ID)
		e = append(e, idxEntry{bucket: bucketJobDueAt, key: cut(m)})
	} else {
		e = append(e, state)
	}
	if !open {
		return e
	}
	m = len(buf)
	buf = buf.str(j.License).u64(timeBytes(j.Created)).u64(j.ID)
	e = append(e, idxEntry{bucket: bucketJobOpenCreated, key: cut(m)})
	if !j.BusinessTime.IsZero() {
		m = len(buf)
		buf = buf.str(j.License).u64(timeBytes(j.BusinessTime)).u64(j.ID)
		e = append(e, idxEntry{bucket: bucketJobOpenBusiness, key: cut(m)})
	}
	for _, l := range changes {
		m = len(buf)
		buf = buf.str(j.License).str(l).u64(j.ID)
		e = append(e, idxEntry{bucket: bucketJobChangers, key: cut(m)})
	}
	return e
}

func uniqLabels(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := make([]string, 0, len(s))
	for i, x := range s {
		dup := false
		for _, y := range s[:i] {
			if x == y {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

func hasEntry(list []idxEntry, e idxEntry, sameValue bool) bool {
	for _, x := range list {
		if bytes.Equal(x.bucket, e.bucket) && bytes.Equal(x.key, e.key) {
			return !sameValue || bytes.Equal(x.value, e.value)
		}
	}
	return false
}

// updateIndexes moves a job's index keys from its old to its new shape
// (old nil: a new job), touching only what changed.
func updateIndexes(tx *bbolt.Tx, old, cur *app.Job) error {
	var before []idxEntry
	if old != nil {
		before = indexEntries(old)
	}
	after := indexEntries(cur)
	for _, e := range before {
		if !hasEntry(after, e, false) {
			if err := tx.Bucket(e.bucket).Delete(e.key); err != nil {
				return fmt.Errorf("index %s: %w", e.bucket, err)
			}
		}
	}
	for _, e := range after {
		if old != nil && hasEntry(before, e, true) {
			continue
		}
		v := e.value
		if v == nil {
			v = []byte{}
		}
		if err := tx.Bucket(e.bucket).Put(e.key, v); err != nil {
			return fmt.Errorf("index %s: %w", e.bucket, err)
		}
	}
	return nil
}

// dueWalk walks a license's pending and retrying jobs in id order from
// after (exclusive), merging the two job_state groups, with their dueValues.
// fn returns false to stop.
func dueWalk(tx *bbolt.Tx, license string, after uint64, fn func(id uint64, v []byte) bool) {
	b := tx.Bucket(bucketJobState)
	var streams [2]idStream
	for i, st := range []app.JobState{app.StatePending, app.StateRetrying} {
		streams[i] = idStream{c: b.Cursor(), prefix: statePrefix(license, st)}
		streams[i].start(after)
	}
	for {
		s := &streams[0]
		if s.key == nil || streams[1].key != nil && streams[1].id() < s.id() {
			s = &streams[1]
		}
		if s.key == nil {
			return
		}
		if !fn(s.id(), s.val) {
			return
		}
		s.next()
	}
}

// dueValueOf reads the dueValue of a pending or retrying job (nil if it is
// in neither state).
func dueValueOf(tx *bbolt.Tx, license string, id uint64) []byte {
	b := tx.Bucket(bucketJobState)
	if v := b.Get(stateKey(license, app.StatePending, id)); v != nil {
		return v
	}
	return b.Get(stateKey(license, app.StateRetrying, id))
}
