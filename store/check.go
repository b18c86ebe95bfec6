package store

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// jobIndexBuckets are the buckets derived from the jobs bucket.
var jobIndexBuckets = [][]byte{
	bucketJobState, bucketJobDueAt, bucketJobChangers,
	bucketJobOpenCreated, bucketJobOpenBusiness,
}

// Check verifies the whole file: bbolt's own page check (tx.Check), then
// that every job decodes, is in a known state and agrees with the key map,
// the indexes and the counts. It reads everything: for tests, the smoke test
// and support, not for every start. Problems are joined in the error.
func (s *Store) Check() error {
	var errs []error
	add := func(format string, a ...any) {
		if len(errs) < 50 {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			add("bbolt: %w", err)
		}
		want := map[string]map[string]string{} // bucket -> key -> value
		for _, b := range jobIndexBuckets {
			want[string(b)] = map[string]string{}
		}
		counts := map[string]map[app.JobState]int{}
		keys := tx.Bucket(bucketJobKeys)
		err := tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j app.Job
			if err := decodeJSON(bucketJobs, k, v, &j); err != nil {
				add("%w", err)
				return nil
			}
			if len(k) != 8 || btoi(k) != j.ID {
				add("job #%d stored under key %x", j.ID, k)
			}
			if !j.State.Valid() {
				add("job #%d in unknown state %q", j.ID, j.State)
			}
			if j.Key == app.UniqueKeyPrefix+strconv.FormatUint(j.ID, 10) {
				if keys.Get([]byte(j.Key)) != nil {
					add("job #%d: unique key %s is stored", j.ID, j.Key)
				}
			} else if raw := keys.Get([]byte(j.Key)); raw == nil || btoi(raw) != j.ID {
				add("job #%d: key %s does not point at it", j.ID, j.Key)
			}
			for _, e := range indexEntries(&j) {
				want[string(e.bucket)][string(e.key)] = string(e.value)
			}
			if counts[j.License] == nil {
				counts[j.License] = map[app.JobState]int{}
			}
			counts[j.License][j.State]++
			return nil
		})
		if err != nil {
			return err
		}
		for _, b := range jobIndexBuckets {
			w := want[string(b)]
			tx.Bucket(b).ForEach(func(k, v []byte) error {
				wv, ok := w[string(k)]
				switch {
				case !ok:
					add("index %s: stray key %q", b, k)
				case !bytes.Equal([]byte(wv), v):
					add("index %s: key %q has a stale value", b, k)
				}
				delete(w, string(k))
				return nil
			})
			for k := range w {
				add("index %s: missing key %q", b, k)
			}
		}
		stats := tx.Bucket(bucketJobStats)
		lics := map[string]bool{}
		for lic := range counts {
			lics[lic] = true
		}
		for _, lic := range licensesWithJobs(tx) {
			lics[lic] = true
		}
		for lic := range lics {
			got, err := readCounts(stats, lic)
			if err != nil {
				add("%w", err)
				continue
			}
			for _, st := range app.States {
				if got[st] != counts[lic][st] {
					add("counts of %s: %s is %d, the jobs say %d", lic, st, got[st], counts[lic][st])
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	return errors.Join(errs...)
}
