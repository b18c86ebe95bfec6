package metrcsim

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	w := newTestWorld(t, nil)
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), []any{receipt("S-1", "2026-03-10T10:15:00.000", line(tagP2, 2, "Each", 70))}), 200)
	w.want(w.call("POST", "/packages/v2"+q(licA), []any{createBody("1A4FF0100000022000000301", "Flower", 5, "Grams", ing(tagP1, 5, "Grams"))}), 200)
	w.sim.AddTransfer(SimTransfer{Recipient: licA, ShipperLicense: licB, ShipperName: "B", Packages: []SimTransferPackage{{Label: "1A4FF0100000022000000401", Item: "Flower", Quantity: 3, UnitOfMeasure: "Grams", State: "Accepted"}}})
	path := filepath.Join(t.TempDir(), "sim.json")
	if err := w.sim.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %v %v", fi, err)
	}
	s2, err := Load(path, Options{Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{licA, licB} {
		if a, b := w.sim.Packages(l), s2.Packages(l); !reflect.DeepEqual(a, b) {
			t.Errorf("%s packages differ:\n%+v\n%+v", l, a, b)
		}
		if a, b := w.sim.Receipts(l), s2.Receipts(l); !reflect.DeepEqual(a, b) {
			t.Errorf("%s receipts differ", l)
		}
		if a, b := w.sim.Transfers(l), s2.Transfers(l); !reflect.DeepEqual(a, b) {
			t.Errorf("%s transfers differ", l)
		}
	}
	// the loaded world keeps working: tags stay used, IDs keep growing
	w2 := newServerFor(t, s2)
	w2.clk = w.clk
	a := w2.call("POST", "/packages/v2"+q(licA), []any{createBody("1A4FF0100000022000000301", "Flower", 5, "Grams", ing(tagP1, 5, "Grams"))})
	w2.want(a, 400)
	a = w2.call("POST", "/sales/v2/receipts"+q(licA), []any{receipt("S-2", "2026-03-10T10:15:00.000", line(tagP2, 1, "Each", 35))})
	w2.want(a, 200)
	rs := s2.Receipts(licA)
	if len(rs) != 2 || rs[1].ID <= rs[0].ID {
		t.Errorf("receipts after load %+v", rs)
	}
	w2.want(w2.call("GET", "/packages/v2/1A4FF0100000022000000401"+q(licA), nil), 200)

	if _, err := Load(filepath.Join(t.TempDir(), "none.json"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	if _, err := Load(bad, Options{}); err == nil {
		t.Error("garbage loaded")
	}
}

func TestSaveLoadDemo(t *testing.T) {
	s := New(Options{Seed: "demo"})
	path := filepath.Join(t.TempDir(), "sim.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	s2, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Packages(DemoRetailLicense)) != len(s.Packages(DemoRetailLicense)) || len(s2.Receipts(DemoRetailLicense)) != 40 {
		t.Error("demo world not restored")
	}
}
