package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"tracesync/app"
)

var _ app.AuditStore = (*Store)(nil)

func TestAuditItemsAndLiveKeys(t *testing.T) {
	s := openTest(t)
	if items, err := s.AuditItems("", false); err != nil || len(items) != 0 {
		t.Fatalf("empty store: %v %v", items, err)
	}
	a := app.AuditItem{License: "L1", Label: "A", Kind: app.AuditMislabel, Status: app.AuditOpen, FirstSeen: t0}
	b := app.AuditItem{License: "L2", Label: "B", Kind: app.AuditLost, Status: app.AuditOpen, FirstSeen: t0}
	err := s.UpdateAudit(func(tx app.AuditTx) error {
		if err := tx.PutAuditItem(&a, false); err != nil {
			return err
		}
		return tx.PutAuditItem(&b, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID || a.Key != app.AuditKey("L1", "A", app.AuditMislabel, "") {
		t.Fatalf("ids/keys: %+v %+v", a, b)
	}
	// A second live item with the same key is refused, and nothing of that
	// transaction is kept.
	dup := app.AuditItem{License: "L1", Label: "A", Kind: app.AuditMislabel, Status: app.AuditOpen}
	err = s.UpdateAudit(func(tx app.AuditTx) error { return tx.PutAuditItem(&dup, false) })
	if err == nil {
		t.Fatal("duplicate live key accepted")
	}
	var live []app.AuditItem
	s.UpdateAudit(func(tx app.AuditTx) error {
		var err error
		live, err = tx.LiveAuditItems("L1")
		return err
	})
	if len(live) != 1 || live[0].ID != a.ID {
		t.Fatalf("live L1: %+v", live)
	}
	// Closing releases the key; the item stays, with its history.
	a.Status = app.AuditClosed
	a.History = append(a.History, app.AuditAction{At: t0, Action: "closed"})
	if err := s.UpdateAudit(func(tx app.AuditTx) error { return tx.PutAuditItem(&a, true) }); err != nil {
		t.Fatal(err)
	}
	s.UpdateAudit(func(tx app.AuditTx) error {
		live, _ = tx.LiveAuditItems("L1")
		return nil
	})
	if len(live) != 0 {
		t.Fatalf("live after close: %+v", live)
	}
	open, _ := s.AuditItems("", true)
	all, _ := s.AuditItems("", false)
	l1, _ := s.AuditItems("L1", false)
	if len(open) != 1 || open[0].ID != b.ID || len(all) != 2 || all[0].ID != b.ID || len(l1) != 1 || len(l1[0].History) != 1 {
		t.Fatalf("open %+v all %+v l1 %+v", open, all, l1)
	}
	err = s.UpdateAudit(func(tx app.AuditTx) error {
		_, err := tx.AuditItem(999)
		return err
	})
	if !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
}

func TestAuditTxPackagesAndRepairsAtomic(t *testing.T) {
	s := openTest(t)
	if err := s.PutPackages(app.Package{License: "L1", Label: "A", Local: &app.PackageState{Item: "Flower", Quantity: 10}}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.UpdateAudit(func(tx app.AuditTx) error {
		p, err := tx.Package("L1", "A")
		if err != nil {
			return err
		}
		p.Local.Quantity = 8
		if err := tx.PutPackage(p); err != nil {
			return err
		}
		r := app.Repair{License: "L1", Label: "A", Field: app.FieldQuantity, Before: "10", After: "8", At: t0}
		if err := tx.PutRepair(&r); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if p, _ := s.Package("L1", "A"); p.Local.Quantity != 10 {
		t.Fatalf("rolled-back change kept: %+v", p.Local)
	}
	if rs, _ := s.Repairs("", time.Time{}, t0.Add(time.Hour)); len(rs) != 0 {
		t.Fatalf("rolled-back repair kept: %+v", rs)
	}
	var id uint64
	err = s.UpdateAudit(func(tx app.AuditTx) error {
		for i, at := range []time.Time{t0, t0.Add(25 * time.Hour)} {
			r := app.Repair{License: []string{"L1", "L2"}[i], Label: "A", Field: app.FieldQuantity, At: at}
			if err := tx.PutRepair(&r); err != nil {
				return err
			}
			id = r.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	day, _ := s.Repairs("", t0, t0.Add(24*time.Hour))
	l2, _ := s.Repairs("L2", time.Time{}, t0.Add(48*time.Hour))
	if len(day) != 1 || day[0].License != "L1" || len(l2) != 1 || l2[0].ID != id {
		t.Fatalf("day %+v l2 %+v", day, l2)
	}
	s.UpdateAudit(func(tx app.AuditTx) error {
		r, err := tx.Repair(id)
		if err != nil || r.License != "L2" {
			t.Errorf("repair %d: %+v %v", id, r, err)
		}
		if _, err := tx.Package("L1", "nope"); !errors.Is(err, app.ErrNotFound) {
			t.Errorf("missing package: %v", err)
		}
		return nil
	})
}

func TestReportsAndOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report("2026-03-01"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("absent report: %v", err)
	}
	for _, d := range []string{"2026-03-02", "2026-03-01"} {
		if err := s.PutReport(app.Report{Version: app.ReportVersion, Date: d, Licenses: []app.LicenseReport{{License: "L1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	m := app.OutboxMail{Date: "2026-03-01", Subject: "s", Created: t0}
	if err := s.PutOutbox(&m); err != nil || m.ID == 0 {
		t.Fatalf("outbox %+v %v", m, err)
	}
	m2 := app.OutboxMail{Date: "2026-03-02", Created: t0}
	s.PutOutbox(&m2)
	m.SentAt = t0
	s.PutOutbox(&m)
	s.Close()

	// Everything survives a reopen.
	s, err = Open(path, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dates, _ := s.ReportDates()
	if len(dates) != 2 || dates[0] != "2026-03-01" {
		t.Fatalf("dates %v", dates)
	}
	r, err := s.Report("2026-03-02")
	if err != nil || r.Licenses[0].License != "L1" {
		t.Fatalf("report %+v %v", r, err)
	}
	unsent, _ := s.Outbox(true)
	all, _ := s.Outbox(false)
	if len(unsent) != 1 || unsent[0].ID != m2.ID || len(all) != 2 {
		t.Fatalf("unsent %+v all %+v", unsent, all)
	}
}
