package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"tracesync/app"
)

func TestPackagesAndSnapshots(t *testing.T) {
	s := openTest(t)
	local := &app.PackageState{Item: "Gummies", Quantity: 10, Unit: "Each", Location: "Vault"}
	if err := s.PutPackages(app.Package{License: "L1", Label: "B", Local: local, LocalUpdated: t0}); err != nil {
		t.Fatal(err)
	}
	pulled := t0.Add(time.Hour)
	err := s.SaveSnapshots("L1", pulled, []app.MetrcPackage{
		{ID: 7, Label: "B", Item: "Gummies", Quantity: 9, UnitOfMeasure: "Each", Location: "Front", LastModified: t0},
		{ID: 8, Label: "A", Item: "Flower", Quantity: 3.5, UnitOfMeasure: "Grams", Location: "Vault", OnHold: true},
		{ID: 9, Label: "C", Item: "Vape", Quantity: 1, UnitOfMeasure: "Each", Location: "Front", Finished: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Package("L1", "B")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Local, local) || b.Metrc.Quantity != 9 || b.Metrc.Location != "Front" || b.MetrcID != 7 || !b.PulledAt.Equal(pulled) {
		t.Errorf("B: %+v", b)
	}
	if a, _ := s.Package("L1", "A"); a.Local != nil || !a.Metrc.OnHold || a.License != "L1" {
		t.Errorf("A: %+v", a)
	}
	if _, err := s.Package("L2", "A"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("other license: %v", err)
	}

	labels := func(ps []app.Package, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Label)
		}
		return out
	}
	s.PutPackages(app.Package{License: "L10", Label: "Z"}) // a license that shares a prefix
	if got := labels(s.Packages("L1", "", "", 0)); !reflect.DeepEqual(got, []string{"A", "B", "C"}) {
		t.Errorf("all: %v", got)
	}
	if got := labels(s.Packages("L1", "", "A", 1)); !reflect.DeepEqual(got, []string{"B"}) {
		t.Errorf("paged: %v", got)
	}
	if got := labels(s.Packages("L1", "front", "", 10)); !reflect.DeepEqual(got, []string{"B", "C"}) {
		t.Errorf("search location: %v", got)
	}
	if got := labels(s.Packages("L1", "gumm", "", 10)); !reflect.DeepEqual(got, []string{"B"}) {
		t.Errorf("search item: %v", got)
	}

	ref := app.RefData{Items: []app.Item{{ID: 1, Name: "Gummies"}}, Pulled: t0}
	if _, err := s.RefData("L1"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("ref data before: %v", err)
	}
	if err := s.PutRefData("L1", ref); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RefData("L1"); got.Items[0].Name != "Gummies" || !got.Pulled.Equal(t0) {
		t.Errorf("ref data %+v", got)
	}
}

func TestLicensesAndSettings(t *testing.T) {
	s := openTest(t)
	for _, l := range []app.License{{Number: "L2", Name: "Two"}, {Number: "L1", Name: "One", TimeZone: "America/Denver"}} {
		if err := s.PutLicense(l); err != nil {
			t.Fatal(err)
		}
	}
	s.PutLicense(app.License{Number: "L2", Name: "Two", Paused: true})
	ls, err := s.Licenses()
	if err != nil || len(ls) != 2 || ls[0].Number != "L1" || !ls[1].Paused {
		t.Fatalf("licenses %+v %v", ls, err)
	}
	var v struct{ Every string }
	if err := s.Setting("pull", &v); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("absent setting: %v", err)
	}
	if err := s.PutSetting("pull", map[string]string{"Every": "5m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Setting("pull", &v); err != nil || v.Every != "5m" {
		t.Errorf("setting %+v %v", v, err)
	}
	var n int
	if err := s.Setting("pull", &n); !errors.Is(err, app.ErrCorrupt) {
		t.Errorf("setting of the wrong shape: %v", err)
	}
}

// An archived package in Metrc is finished as far as reconcile is concerned
// ("finished or archived in Metrc, active locally" → finish locally).
func TestSnapshotArchivedIsFinished(t *testing.T) {
	s := openTest(t)
	pulled := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if err := s.SaveSnapshots("L1", pulled, []app.MetrcPackage{
		{ID: 1, Label: "1A4FF0100000022000000001", Item: "Buds", Quantity: 0, UnitOfMeasure: "Grams", Archived: true},
	}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Package("L1", "1A4FF0100000022000000001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Metrc == nil || !p.Metrc.Finished {
		t.Fatalf("archived package snapshot = %+v, want finished", p.Metrc)
	}
}
