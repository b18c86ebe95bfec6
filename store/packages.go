package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

var (
	_ app.PackageStore = (*Store)(nil)
	_ app.LicenseStore = (*Store)(nil)
)

// packageKey is license \0 label: a license's packages sit together in
// label order.
func packageKey(license, label string) []byte { return append(licPrefix(license), label...) }

// Package implements app.PackageStore.
func (s *Store) Package(license, label string) (app.Package, error) {
	var p app.Package
	err := s.db.View(func(tx *bbolt.Tx) error {
		return getJSON(tx, bucketPackages, packageKey(license, label), &p)
	})
	if err != nil {
		return app.Package{}, fmt.Errorf("package %s: %w", label, err)
	}
	return p, nil
}

// Packages implements app.PackageStore. Records that fail to decode are
// reported and skipped.
func (s *Store) Packages(license, search, after string, limit int) ([]app.Package, error) {
	if limit <= 0 {
		limit = 100
	}
	search = strings.ToLower(search)
	var out []app.Package
	err := s.db.View(func(tx *bbolt.Tx) error {
		p := licPrefix(license)
		c := tx.Bucket(bucketPackages).Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.Seek(p)
		} else {
			k, v = c.Seek(packageKey(license, after))
			if bytes.Equal(k, packageKey(license, after)) {
				k, v = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, v = c.Next() {
			var pk app.Package
			if err := decodeJSON(bucketPackages, k, v, &pk); err != nil {
				s.reportCorrupt(err)
				continue
			}
			if search != "" && !packageMatches(&pk, search) {
				continue
			}
			out = append(out, pk)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packages %s: %w", license, err)
	}
	return out, nil
}

func packageMatches(p *app.Package, search string) bool {
	fields := []string{p.Label}
	for _, st := range []*app.PackageState{p.Local, p.Metrc} {
		if st != nil {
			fields = append(fields, st.Item, st.Location)
		}
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), search) {
			return true
		}
	}
	return false
}

// PutPackages implements app.PackageStore.
func (s *Store) PutPackages(pkgs ...app.Package) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, p := range pkgs {
			if err := validName("license", p.License); err != nil {
				return err
			}
			if err := validName("label", p.Label); err != nil {
				return err
			}
			if err := putJSON(tx, bucketPackages, packageKey(p.License, p.Label), p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put packages: %w", err)
	}
	return nil
}

// SaveSnapshots implements app.PackageStore. A record that fails to decode
// is reported and replaced by one holding only the new snapshot.
func (s *Store) SaveSnapshots(license string, pulledAt time.Time, pkgs []app.MetrcPackage) error {
	if err := validName("license", license); err != nil {
		return fmt.Errorf("save snapshots: %w", err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for _, m := range pkgs {
			if err := validName("label", m.Label); err != nil {
				return err
			}
			k := packageKey(license, m.Label)
			var p app.Package
			if err := getJSON(tx, bucketPackages, k, &p); err != nil {
				if !errors.Is(err, app.ErrNotFound) {
					s.reportCorrupt(err)
				}
				p = app.Package{}
			}
			p.License, p.Label = license, m.Label
			p.Metrc = &app.PackageState{
				Item: m.Item, Quantity: m.Quantity, Unit: m.UnitOfMeasure, Location: m.Location,
				OnHold: m.OnHold, Finished: m.Finished || m.Archived, // archived in Metrc counts as finished (reconcile rule)
			}
			p.MetrcID = m.ID
			p.MetrcLastModified = m.LastModified
			p.PulledAt = pulledAt
			if err := putJSON(tx, bucketPackages, k, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save snapshots %s: %w", license, err)
	}
	return nil
}

// RefData implements app.PackageStore (ErrNotFound before the first pull).
func (s *Store) RefData(license string) (app.RefData, error) {
	var r app.RefData
	err := s.db.View(func(tx *bbolt.Tx) error {
		return getJSON(tx, bucketRefData, []byte(license), &r)
	})
	if err != nil {
		return app.RefData{}, fmt.Errorf("reference data %s: %w", license, err)
	}
	return r, nil
}

// PutRefData implements app.PackageStore.
func (s *Store) PutRefData(license string, r app.RefData) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketRefData, []byte(license), r)
	})
	if err != nil {
		return fmt.Errorf("put reference data %s: %w", license, err)
	}
	return nil
}

// Licenses implements app.LicenseStore, in license-number order. Records
// that fail to decode are reported and skipped.
func (s *Store) Licenses() ([]app.License, error) {
	var out []app.License
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLicenses).ForEach(func(k, v []byte) error {
			var l app.License
			if err := decodeJSON(bucketLicenses, k, v, &l); err != nil {
				s.reportCorrupt(err)
				return nil
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("licenses: %w", err)
	}
	return out, nil
}

// PutLicense implements app.LicenseStore.
func (s *Store) PutLicense(l app.License) error {
	if err := validName("license", l.Number); err != nil {
		return fmt.Errorf("put license: %w", err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketLicenses, []byte(l.Number), l)
	})
	if err != nil {
		return fmt.Errorf("put license %s: %w", l.Number, err)
	}
	return nil
}

// Setting implements app.LicenseStore: ErrNotFound when absent, an error
// wrapping app.ErrCorrupt when the value does not decode into v.
func (s *Store) Setting(key string, v any) error {
	err := s.db.View(func(tx *bbolt.Tx) error {
		return getJSON(tx, bucketSettings, []byte(key), v)
	})
	if err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}

// PutSetting implements app.LicenseStore. Settings are not secret: API keys
// live in the OS keyring, never here.
func (s *Store) PutSetting(key string, v any) error {
	if key == "" {
		return errors.New("put setting: empty key")
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketSettings, []byte(key), v)
	})
	if err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}
