package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// The engine's records (app.MonitorStore):
//
//	outages:        license \0 start(8) -> app.OutageWindow JSON
//	latency:        minute(8) license \0 endpoint -> app.LatencyRow JSON
//	latency_hourly: hour(8) license \0 endpoint -> app.LatencyRow JSON
//	pull_state:     license -> app.PullState JSON
//
// Latency keys start with the time so that a range query and the pruning
// are one cursor walk from a seek; a license filter skips the few rows of
// other licenses in the range.

var _ app.MonitorStore = (*Store)(nil)

func outageKey(license string, start time.Time) []byte {
	return keyBuf(nil).str(license).u64(timeBytes(start))
}

func latencyKey(at time.Time, license, endpoint string) []byte {
	return append(keyBuf(nil).u64(timeBytes(at)).str(license), endpoint...)
}

// latencyLicense extracts the license from a latency key.
func latencyLicense(k []byte) string {
	rest := k[8:]
	if i := bytes.IndexByte(rest, sep); i >= 0 {
		return string(rest[:i])
	}
	return string(rest)
}

// RecordOutage inserts or replaces the window of w.License starting at w.Start.
func (s *Store) RecordOutage(w app.OutageWindow) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketOutages, outageKey(w.License, w.Start), w)
	})
	if err != nil {
		return fmt.Errorf("record outage %s: %w", w.License, err)
	}
	return nil
}

// Outages lists the windows of a license ("" = every license) overlapping
// [from, to), oldest first.
func (s *Store) Outages(license string, from, to time.Time) ([]app.OutageWindow, error) {
	out := []app.OutageWindow{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOutages).Cursor()
		var prefix []byte
		if license != "" {
			prefix = licPrefix(license)
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var w app.OutageWindow
			if err := decodeJSON(bucketOutages, k, v, &w); err != nil {
				s.log.Error("skip damaged outage", "err", err)
				continue
			}
			if (to.IsZero() || w.Start.Before(to)) && (w.End.IsZero() || w.End.After(from)) {
				out = append(out, w)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outages: %w", err)
	}
	sortOutages(out)
	return out, nil
}

func sortOutages(ws []app.OutageWindow) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].Start.Before(ws[j-1].Start); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// AddLatency merges minute rows into the stored minute rows and their
// hourly roll-ups, in one transaction.
func (s *Store) AddLatency(rows ...app.LatencyRow) error {
	if len(rows) == 0 {
		return nil
	}
	merge := func(tx *bbolt.Tx, bucket []byte, r app.LatencyRow, at time.Time) error {
		k := latencyKey(at, r.License, r.Endpoint)
		var cur app.LatencyRow
		if err := getJSON(tx, bucket, k, &cur); err != nil && !errors.Is(err, app.ErrNotFound) {
			if !errors.Is(err, app.ErrCorrupt) {
				return err
			}
			cur = app.LatencyRow{} // a damaged row is replaced
		}
		cur.License, cur.Endpoint, cur.At = r.License, r.Endpoint, at
		cur.Merge(r)
		return putJSON(tx, bucket, k, cur)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, r := range rows {
			if err := merge(tx, bucketLatency, r, r.At.Truncate(time.Minute)); err != nil {
				return err
			}
			if err := merge(tx, bucketLatencyHourly, r, r.At.Truncate(time.Hour)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add latency: %w", err)
	}
	return nil
}

// LatencyMinutes returns the minute rows with At in [from, to).
func (s *Store) LatencyMinutes(license string, from, to time.Time) ([]app.LatencyRow, error) {
	return s.latencyRange(bucketLatency, license, from, to)
}

// LatencyHours returns the hourly roll-ups with At in [from, to).
func (s *Store) LatencyHours(license string, from, to time.Time) ([]app.LatencyRow, error) {
	return s.latencyRange(bucketLatencyHourly, license, from, to)
}

func (s *Store) latencyRange(bucket []byte, license string, from, to time.Time) ([]app.LatencyRow, error) {
	out := []app.LatencyRow{}
	end := keyBuf(nil).u64(timeBytes(to))
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(keyBuf(nil).u64(timeBytes(from))); k != nil && bytes.Compare(k[:8], end) < 0; k, v = c.Next() {
			if len(k) < 8 || license != "" && latencyLicense(k) != license {
				continue
			}
			var r app.LatencyRow
			if err := decodeJSON(bucket, k, v, &r); err != nil {
				s.log.Error("skip damaged latency row", "err", err)
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("latency rows: %w", err)
	}
	return out, nil
}

// PruneMonitor deletes minute rows older than app.MinuteRetention and
// hourly rows older than app.HourRetention.
func (s *Store) PruneMonitor(now time.Time) (int, error) {
	n := 0
	prune := func(tx *bbolt.Tx, bucket []byte, before time.Time) error {
		c := tx.Bucket(bucket).Cursor()
		cut := binary.BigEndian.AppendUint64(nil, timeBytes(before))
		for k, _ := c.First(); k != nil && bytes.Compare(k[:min(8, len(k))], cut) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := prune(tx, bucketLatency, now.Add(-app.MinuteRetention)); err != nil {
			return err
		}
		return prune(tx, bucketLatencyHourly, now.Add(-app.HourRetention))
	})
	if err != nil {
		return 0, fmt.Errorf("prune latency: %w", err)
	}
	return n, nil
}

// PullState returns a license's pull state, or app.ErrNotFound.
func (s *Store) PullState(license string) (app.PullState, error) {
	var p app.PullState
	err := s.db.View(func(tx *bbolt.Tx) error {
		return getJSON(tx, bucketPullState, []byte(license), &p)
	})
	if err != nil {
		return app.PullState{}, fmt.Errorf("pull state %s: %w", license, err)
	}
	return p, nil
}

// PutPullState stores a license's pull state.
func (s *Store) PutPullState(p app.PullState) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketPullState, []byte(p.License), p)
	})
	if err != nil {
		return fmt.Errorf("put pull state %s: %w", p.License, err)
	}
	return nil
}
