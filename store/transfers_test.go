package store

import (
	"testing"
	"time"

	"tracesync/app"
)

func TestTransfersSavedAndReplaced(t *testing.T) {
	s := openTest(t)
	t1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	in := []app.Transfer{
		{ID: 7, ManifestNumber: "0000000007", ShipperName: "Valley Distribution",
			Packages: []app.TransferPackage{{Label: "1A4FF0100000022000000007", Item: "Buds", Quantity: 10, UnitOfMeasure: "Grams", State: "Shipped"}}},
		{ID: 300, ManifestNumber: "0000000300"},
	}
	if err := s.SaveTransfers("L1", t1, in); err != nil {
		t.Fatal(err)
	}
	// A later pull reports transfer 7 again, now accepted.
	in[0].Packages[0].State = "Accepted"
	t2 := t1.Add(5 * time.Minute)
	if err := s.SaveTransfers("L1", t2, in[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTransfers("L2", t2, []app.Transfer{{ID: 9}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Transfers("L1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 300 || got[1].ID != 7 {
		t.Fatalf("transfers = %+v, want ids 300, 7", got)
	}
	if got[1].Packages[0].State != "Accepted" || !got[1].PulledAt.Equal(t2) {
		t.Fatalf("transfer 7 = %+v, want the later version", got[1])
	}
}
