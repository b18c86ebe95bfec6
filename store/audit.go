package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// Reconciliation's records (app.AuditStore):
//
//	bucketAudit/items: item id (8 bytes) -> app.AuditItem JSON
//	bucketAudit/live:  audit key -> item id, for the items that still hold
//	                   their key (open, or resolved while the difference lasts)
//	bucketRepairs:     repair id (8 bytes) -> app.Repair JSON
//	bucketReports:     date (YYYY-MM-DD) -> app.Report JSON
//	bucketOutbox:      mail id (8 bytes) -> app.OutboxMail JSON
//
// The sub-buckets of bucketAudit are created by the first write; reads
// treat them as empty until then.
var (
	auditItems = []byte("items")
	auditLive  = []byte("live")
)

// UpdateAudit runs fn in one read-write transaction (app.AuditStore).
func (s *Store) UpdateAudit(fn func(tx app.AuditTx) error) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		return fn(&auditTx{tx: tx})
	})
}

// auditTx implements app.AuditTx on a bbolt write transaction.
type auditTx struct {
	tx *bbolt.Tx
}

func (a *auditTx) Package(license, label string) (app.Package, error) {
	var p app.Package
	if err := getJSON(a.tx, bucketPackages, packageKey(license, label), &p); err != nil {
		return p, fmt.Errorf("package %s: %w", label, err)
	}
	return p, nil
}

func (a *auditTx) PutPackage(p app.Package) error {
	return putJSON(a.tx, bucketPackages, packageKey(p.License, p.Label), p)
}

func (a *auditTx) sub(name []byte) (*bbolt.Bucket, error) {
	b, err := a.tx.Bucket(bucketAudit).CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("audit bucket %s: %w", name, err)
	}
	return b, nil
}

func (a *auditTx) AuditItem(id uint64) (app.AuditItem, error) {
	var it app.AuditItem
	b := a.tx.Bucket(bucketAudit).Bucket(auditItems)
	if b == nil {
		return it, app.ErrNotFound
	}
	data := b.Get(itob(id))
	if data == nil {
		return it, app.ErrNotFound
	}
	return it, decodeJSON(bucketAudit, itob(id), data, &it)
}

func (a *auditTx) LiveAuditItems(license string) ([]app.AuditItem, error) {
	live := a.tx.Bucket(bucketAudit).Bucket(auditLive)
	items := a.tx.Bucket(bucketAudit).Bucket(auditItems)
	if live == nil || items == nil {
		return nil, nil
	}
	var out []app.AuditItem
	prefix := []byte(license + "|")
	c := live.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		var it app.AuditItem
		data := items.Get(v)
		if data == nil {
			continue // an index entry without its item: ignore
		}
		if err := decodeJSON(bucketAudit, v, data, &it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }

func (a *auditTx) PutAuditItem(it *app.AuditItem, release bool) error {
	items, err := a.sub(auditItems)
	if err != nil {
		return err
	}
	live, err := a.sub(auditLive)
	if err != nil {
		return err
	}
	if it.ID == 0 {
		n, err := a.tx.Bucket(bucketAudit).NextSequence()
		if err != nil {
			return fmt.Errorf("audit item id: %w", err)
		}
		it.ID = n
	}
	if it.Key == "" {
		it.Key = app.AuditKey(it.License, it.Label, it.Kind, it.Field)
	}
	key, id := []byte(it.Key), itob(it.ID)
	cur := live.Get(key)
	switch {
	case release:
		if cur != nil && btoi(cur) == it.ID {
			if err := live.Delete(key); err != nil {
				return fmt.Errorf("audit key %s: %w", it.Key, err)
			}
		}
	case cur != nil && btoi(cur) != it.ID:
		return fmt.Errorf("audit key %s is held by item #%d, not #%d", it.Key, btoi(cur), it.ID)
	default:
		if err := live.Put(key, id); err != nil {
			return fmt.Errorf("audit key %s: %w", it.Key, err)
		}
	}
	return putJSONIn(items, bucketAudit, id, it)
}

// putJSONIn is putJSON for a nested bucket.
func putJSONIn(b *bbolt.Bucket, name, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", name, keyString(key), err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("put %s %s: %w", name, keyString(key), err)
	}
	return nil
}

func (a *auditTx) Repair(id uint64) (app.Repair, error) {
	var r app.Repair
	return r, getJSON(a.tx, bucketRepairs, itob(id), &r)
}

func (a *auditTx) PutRepair(r *app.Repair) error {
	if r.ID == 0 {
		n, err := a.tx.Bucket(bucketRepairs).NextSequence()
		if err != nil {
			return fmt.Errorf("repair id: %w", err)
		}
		r.ID = n
	}
	return putJSON(a.tx, bucketRepairs, itob(r.ID), r)
}

// AuditItem returns one item, or app.ErrNotFound (app.AuditStore).
func (s *Store) AuditItem(id uint64) (app.AuditItem, error) {
	var it app.AuditItem
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		it, err = (&auditTx{tx: tx}).AuditItem(id)
		return err
	})
	if err != nil {
		return it, fmt.Errorf("audit item #%d: %w", id, err)
	}
	return it, nil
}

// AuditItems lists items, newest first (app.AuditStore). Undecodable items
// are skipped and reported.
func (s *Store) AuditItems(license string, open bool) ([]app.AuditItem, error) {
	out := []app.AuditItem{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAudit).Bucket(auditItems)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var it app.AuditItem
			if err := decodeJSON(bucketAudit, k, v, &it); err != nil {
				s.reportCorrupt(err)
				continue
			}
			if (license == "" || it.License == license) && (!open || it.Status == app.AuditOpen) {
				out = append(out, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit items: %w", err)
	}
	return out, nil
}

// Repairs lists the repairs made in [from, to), oldest first (app.AuditStore).
func (s *Store) Repairs(license string, from, to time.Time) ([]app.Repair, error) {
	out := []app.Repair{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRepairs).ForEach(func(k, v []byte) error {
			var r app.Repair
			if err := decodeJSON(bucketRepairs, k, v, &r); err != nil {
				s.reportCorrupt(err)
				return nil
			}
			if (license == "" || r.License == license) && !r.At.Before(from) && r.At.Before(to) {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("repairs: %w", err)
	}
	return out, nil
}

// PutReport stores a report under its date (app.AuditStore).
func (s *Store) PutReport(r app.Report) error {
	if r.Date == "" {
		return errors.New("put report: no date")
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketReports, []byte(r.Date), r)
	})
}

// Report returns the stored report of a date, or app.ErrNotFound.
func (s *Store) Report(date string) (app.Report, error) {
	var r app.Report
	err := s.db.View(func(tx *bbolt.Tx) error {
		return getJSON(tx, bucketReports, []byte(date), &r)
	})
	if err != nil {
		return r, fmt.Errorf("report %s: %w", date, err)
	}
	return r, nil
}

// ReportDates lists the stored reports' dates, oldest first.
func (s *Store) ReportDates() ([]string, error) {
	out := []string{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketReports).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("report dates: %w", err)
	}
	return out, nil
}

// PutOutbox stores an outbox mail, assigning its id when 0.
func (s *Store) PutOutbox(m *app.OutboxMail) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if m.ID == 0 {
			n, err := b.NextSequence()
			if err != nil {
				return fmt.Errorf("outbox id: %w", err)
			}
			m.ID = n
		}
		return putJSON(tx, bucketOutbox, itob(m.ID), m)
	})
}

// Outbox lists the outbox, oldest first; only unsent mails when unsent.
func (s *Store) Outbox(unsent bool) ([]app.OutboxMail, error) {
	out := []app.OutboxMail{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var m app.OutboxMail
			if err := decodeJSON(bucketOutbox, k, v, &m); err != nil {
				s.reportCorrupt(err)
				return nil
			}
			if !unsent || m.SentAt.IsZero() {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}
