package store

import (
	"bytes"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

func transferKey(license string, id int64) []byte {
	return keyBuf(nil).str(license).u64(uint64(id))
}

// SaveTransfers implements app.TransferStore: one transaction, each transfer
// replacing the earlier version of the same id.
func (s *Store) SaveTransfers(license string, pulledAt time.Time, ts []app.Transfer) error {
	if len(ts) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, t := range ts {
			if err := putJSON(tx, bucketTransfers, transferKey(license, t.ID), app.StoredTransfer{Transfer: t, PulledAt: pulledAt}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save transfers %s: %w", license, err)
	}
	return nil
}

// Transfers implements app.TransferStore: newest id first; a record that
// fails to decode is reported and skipped.
func (s *Store) Transfers(license string) ([]app.StoredTransfer, error) {
	out := []app.StoredTransfer{}
	prefix := licPrefix(license)
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketTransfers).Cursor()
		var ks, vs [][]byte
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			ks, vs = append(ks, k), append(vs, v)
		}
		for i := len(ks) - 1; i >= 0; i-- {
			var t app.StoredTransfer
			if err := decodeJSON(bucketTransfers, ks[i], vs[i], &t); err != nil {
				s.reportCorrupt(err)
				continue
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("transfers %s: %w", license, err)
	}
	return out, nil
}
