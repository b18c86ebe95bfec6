package control_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tracesync/app/control"
	"tracesync/app/importcsv"
	"tracesync/app/internal/memtest"
	"tracesync/store"
)

// BenchmarkImportReceipts100k imports a 100,000-row receipts file (50,000
// receipts of two lines) into a real store: the whole validation, then one
// enqueue transaction. It reports rows/s and the peak heap above the start.
func BenchmarkImportReceipts100k(b *testing.B) {
	const rows = 100000
	var buf strings.Builder
	buf.WriteString("LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\r\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&buf, "LIC-1,R%d,2026-11-27T%02d:%02d:00,Consumer,1A4FF01000000220000%05d,1,Grams,12.50\r\n", i/2, (i/120)%24, (i/2)%60, i%1000)
	}
	data := buf.String()
	b.SetBytes(int64(len(data)))
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		be := &control.Backend{Jobs: st, Lookup: importcsv.StoreLookup{Store: st, Any: true}, Now: func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) }}
		stop := memtest.Peak()
		b.StartTimer()
		res, err := be.Import(importcsv.Receipts, strings.NewReader(data))
		b.StopTimer()
		peak = max(peak, stop())
		if err != nil || !res.OK() || res.Queued != rows/2 {
			b.Fatalf("import: %v %+v", err, res.Problems)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}
