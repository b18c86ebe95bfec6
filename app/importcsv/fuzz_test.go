package importcsv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"tracesync/app/internal/memtest"
)

// FuzzParse checks that no input makes Parse panic, that a result with
// problems carries no jobs, and that every problem's line is in the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\nLIC-1,R1,2026-11-27,Consumer,"+lblA+",1,Grams,2\n"), true)
	f.Add([]byte("\uFEFFlicensenumber,tag,item,quantity,unitofmeasure,actualdate,ingredientpackage,ingredientquantity,ingredientunitofmeasure\r\nLIC-1,"+tagP1+",Pre-Roll 1g,1,Each,1/2/2026,"+lblA+",1,g\r\n"), false)
	f.Add([]byte("a,\"b\nc\"\n\"x"), true)
	f.Fuzz(func(t *testing.T, data []byte, receipts bool) {
		kind := Assemblies
		if receipts {
			kind = Receipts
		}
		res, err := Parse(bytes.NewReader(data), kind, lookup(), now, nil)
		if err != nil {
			return
		}
		if len(res.Problems) > 0 && len(res.Jobs) > 0 {
			t.Fatalf("jobs with problems: %v", res.Problems)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range append(res.Problems, res.Warnings...) {
			if p.Line < 0 || p.Line > lines {
				t.Fatalf("problem on line %d of a %d-line file: %v", p.Line, lines, p)
			}
		}
		for _, j := range res.Jobs {
			if j.Key == "" || len(j.Body) == 0 {
				t.Fatalf("bad job %+v", j)
			}
		}
	})
}

// BenchmarkParseReceipts100k parses a 100,000-row receipts file (one line per
// receipt, half of them two lines) and reports rows/s and peak heap.
func BenchmarkParseReceipts100k(b *testing.B) {
	var buf strings.Builder
	buf.WriteString("LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\r\n")
	const rows = 100000
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&buf, "LIC-1,R%d,2026-11-27T%02d:%02d:00,Consumer,%s,1,Grams,12.50\r\n", i/2, (i/120)%24, (i/2)%60, lblA)
	}
	data := buf.String()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		stop := memtest.Peak() // the heap while parsing
		res, err := Parse(strings.NewReader(data), Receipts, lookup(), now, nil)
		peak = max(peak, stop())
		if err != nil || len(res.Problems) > 0 || res.Rows != rows {
			b.Fatalf("err %v problems %v rows %d", err, res.Problems, res.Rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}
