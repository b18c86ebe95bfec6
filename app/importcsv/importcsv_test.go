package importcsv

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tracesync/app"
)

const (
	lic   = "LIC-1"
	lblA  = "1A4FF0100000022000000001"
	lblB  = "1A4FF0100000022000000002"
	tagP1 = "1A4FF0100000022000000101"
)

// fakeLookup is a hand-written Lookup.
type fakeLookup struct {
	licenses map[string]app.License
	ref      map[string]app.RefData
	pkgs     map[string]app.Package
}

func (f fakeLookup) License(n string) (app.License, bool) { l, ok := f.licenses[n]; return l, ok }
func (f fakeLookup) RefData(n string) (app.RefData, bool) { r, ok := f.ref[n]; return r, ok }
func (f fakeLookup) Package(l, label string) (app.Package, bool) {
	p, ok := f.pkgs[l+"/"+label]
	return p, ok
}

func lookup() fakeLookup {
	return fakeLookup{
		licenses: map[string]app.License{lic: {Number: lic, Name: "Shop", TimeZone: "America/Los_Angeles"}},
		ref: map[string]app.RefData{lic: {
			Units:     []app.Unit{{Name: "Grams", Abbreviation: "g"}, {Name: "Each", Abbreviation: "ea"}},
			Items:     []app.Item{{Name: "Pre-Roll 1g", UnitOfMeasure: "Each"}},
			Locations: []app.Location{{Name: "Vault"}},
			Pulled:    time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		}},
		pkgs: map[string]app.Package{
			lic + "/" + lblA: {License: lic, Label: lblA, Local: &app.PackageState{Item: "Flower", Quantity: 100, Unit: "Grams"}},
			lic + "/" + lblB: {License: lic, Label: lblB, Local: &app.PackageState{Item: "Flower", Quantity: 2, Unit: "Grams"}},
		},
	}
}

var now = time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)

func parse(t *testing.T, kind Kind, csv string) Result {
	t.Helper()
	res, err := Parse(strings.NewReader(csv), kind, lookup(), now, nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return res
}

func receiptBody(t *testing.T, j app.Job) app.SalesReceipt {
	t.Helper()
	var r app.SalesReceipt
	if err := json.Unmarshal(j.Body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReceiptsFormats(t *testing.T) {
	const want = "2026-11-27T15:04:05.000"
	cases := []struct{ name, csv string }{
		{"plain", "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n" +
			"LIC-1,R1,2026-11-27T15:04:05,Consumer," + lblA + ",1.5,Grams,20\n" +
			"LIC-1,R1,2026-11-27T15:04:05,Consumer," + lblB + ",1,Grams,10\n"},
		{"bom-crlf", "\uFEFFLicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\r\n" +
			"LIC-1,R1,2026-11-27 15:04:05,Consumer," + lblA + ",1.5,Grams,20\r\n" +
			"LIC-1,R1,2026-11-27 15:04:05,Consumer," + lblB + ",1,Grams,10\r\n"},
		{"reordered-lowercase", "quantity,packagelabel,LICENSENUMBER, salesdatetime ,externalreceiptnumber,unitofmeasure,totalamount,salescustomertype\n" +
			"1.5," + lblA + ",LIC-1,11/27/2026 3:04:05 PM,R1,grams,$20,consumer\n" +
			"1," + lblB + ",LIC-1,11/27/2026 3:04:05 PM,R1,g,10,CONSUMER\n"},
		{"excel", "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\r\n" +
			"LIC-1,R1,11/27/2026 3:04:05 PM,Consumer," + lblA + ",1.5,Grams,20.00\r\n" +
			"LIC-1,R1,11/27/2026 3:04:05 PM,Consumer," + strings.ToLower(lblB) + ",1,Grams,\"10.00\"\r\n,,,,,,,\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := parse(t, Receipts, c.csv)
			if len(res.Problems) != 0 {
				t.Fatalf("problems: %v", res.Problems)
			}
			if len(res.Jobs) != 1 || res.Rows != 2 {
				t.Fatalf("jobs %d rows %d, want 1 and 2", len(res.Jobs), res.Rows)
			}
			j := res.Jobs[0]
			if j.Key != app.ReceiptKey(lic, "R1") || j.Kind != app.KindSalesReceipt {
				t.Errorf("key %q kind %q", j.Key, j.Kind)
			}
			r := receiptBody(t, j)
			if r.SalesDateTime != want || r.SalesCustomerType != "Consumer" || len(r.Transactions) != 2 {
				t.Errorf("body %+v", r)
			}
			if r.Transactions[0].UnitOfMeasure != "Grams" || r.Transactions[1].UnitOfMeasure != "Grams" || r.Transactions[1].PackageLabel != lblB {
				t.Errorf("transactions %+v", r.Transactions)
			}
			la, _ := time.LoadLocation("America/Los_Angeles")
			if !j.BusinessTime.Equal(time.Date(2026, 11, 27, 15, 4, 5, 0, la)) {
				t.Errorf("business time %v", j.BusinessTime)
			}
			// lblB has 2 g, the file takes 1: no warning; unknown columns: none.
			if len(res.Warnings) != 0 {
				t.Errorf("warnings %v", res.Warnings)
			}
		})
	}
}

func TestReceiptsSameBodyTwice(t *testing.T) {
	csv := "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n" +
		"LIC-1,R1,2026-11-27,Consumer," + lblA + ",1,Grams,2\n"
	a, b := parse(t, Receipts, csv), parse(t, Receipts, csv)
	if string(a.Jobs[0].Body) != string(b.Jobs[0].Body) {
		t.Fatalf("bodies differ: %s vs %s", a.Jobs[0].Body, b.Jobs[0].Body)
	}
}

func TestWarnings(t *testing.T) {
	csv := "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount,Cashier\n" +
		"LIC-1,R1,2026-11-27,Consumer," + lblB + ",1.5,Grams,2,Ann\n" +
		"LIC-1,R2,2026-11-27,Consumer," + lblB + ",1,Grams,2,Ann\n" +
		"LIC-1,R3,2026-11-27,Consumer,1A4FF0100000022000000999,1,Grams,2,Bob\n"
	res := parse(t, Receipts, csv)
	if len(res.Problems) != 0 || len(res.Jobs) != 3 {
		t.Fatalf("problems %v jobs %d", res.Problems, len(res.Jobs))
	}
	want := []string{"line 1: unknown column \"Cashier\"", "line 2: the file takes 2.5 Grams from package " + lblB, "line 4: package 1A4FF0100000022000000999 is not in the local inventory"}
	if len(res.Warnings) != len(want) {
		t.Fatalf("warnings %v", res.Warnings)
	}
	for i, w := range want {
		if !strings.HasPrefix(res.Warnings[i].String(), w) {
			t.Errorf("warning %d = %q, want prefix %q", i, res.Warnings[i], w)
		}
	}
}

func TestBadReceipts(t *testing.T) {
	const hdr = "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n"
	good := "LIC-1,R1,2026-11-27T10:00:00,Consumer," + lblA + ",1,Grams,2\n"
	cases := []struct{ name, csv, want string }{
		{"empty file", "", "the file is empty"},
		{"header only", hdr, "the file has no data rows"},
		{"missing column", "LicenseNumber,ExternalReceiptNumber,SalesDateTime,PackageLabel,Quantity,UnitOfMeasure\n" + good, "line 1: missing column(s) SalesCustomerType"},
		{"duplicate column", strings.TrimSuffix(hdr, "\n") + ",quantity\n", "line 1: column Quantity appears twice"},
		{"field count", hdr + "LIC-1,R1\n", "line 2: has 2 fields, the header has 8"},
		{"bad quote", hdr + good + "LIC-1,\"R2,2026-11-27,Consumer\n", "line 3: not valid CSV"},
		{"unknown license", hdr + "LIC-9,R1,2026-11-27,Consumer," + lblA + ",1,Grams,2\n", "line 2: license LIC-9 is not one tracesync syncs"},
		{"empty license", hdr + ",R1,2026-11-27,Consumer," + lblA + ",1,Grams,2\n", "line 2: LicenseNumber is empty"},
		{"empty external", hdr + "LIC-1,,2026-11-27,Consumer," + lblA + ",1,Grams,2\n", "line 2: ExternalReceiptNumber is empty"},
		{"bad date", hdr + "LIC-1,R1,27.11.2026,Consumer," + lblA + ",1,Grams,2\n", "line 2: SalesDateTime \"27.11.2026\" is not a date"},
		{"future date", hdr + "LIC-1,R1,2027-01-01,Consumer," + lblA + ",1,Grams,2\n", "line 2: SalesDateTime 2027-01-01 is in the future"},
		{"bad customer", hdr + "LIC-1,R1,2026-11-27,Tourist," + lblA + ",1,Grams,2\n", "line 2: SalesCustomerType \"Tourist\" is not one of"},
		{"short label", hdr + "LIC-1,R1,2026-11-27,Consumer,1A4FF01,1,Grams,2\n", "line 2: PackageLabel \"1A4FF01\" is 7 characters long"},
		{"label chars", hdr + "LIC-1,R1,2026-11-27,Consumer,1A4FF010000002200000000-,1,Grams,2\n", "line 2: PackageLabel \"1A4FF010000002200000000-\" has '-'"},
		{"bad quantity", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",one,Grams,2\n", "line 2: Quantity \"one\" is not a number"},
		{"zero quantity", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",0,Grams,2\n", "line 2: Quantity must be more than zero"},
		{"negative amount", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",1,Grams,-2\n", "line 2: TotalAmount must be more than zero"},
		{"NaN", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",NaN,Grams,2\n", "line 2: Quantity \"NaN\" is not a number"},
		{"unknown unit", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",1,Bushels,2\n", "line 2: UnitOfMeasure \"Bushels\" is not a unit Metrc knows"},
		{"empty unit", hdr + "LIC-1,R1,2026-11-27,Consumer," + lblA + ",1,,2\n", "line 2: UnitOfMeasure is empty"},
		{"dates disagree", hdr + good + "LIC-1,R1,2026-11-27T11:00:00,Consumer," + lblB + ",1,Grams,2\n", "line 3: receipt R1 has SalesDateTime 2026-11-27T11:00:00 here but 2026-11-27T10:00:00 on line 2"},
		{"types disagree", hdr + good + "LIC-1,R1,2026-11-27T10:00:00,Patient," + lblB + ",1,Grams,2\n", "line 3: receipt R1 has SalesCustomerType Patient here but Consumer on line 2"},
		{"quoted newline keeps line numbers", hdr + "LIC-1,\"R\n1\",2026-11-27,Consumer," + lblA + ",1,Grams,2\nLIC-1,R2,2026-11-27,Consumer," + lblA + ",x,Grams,2\n", "line 4: Quantity \"x\" is not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := parse(t, Receipts, c.csv)
			if len(res.Jobs) != 0 {
				t.Errorf("jobs returned despite problems: %d", len(res.Jobs))
			}
			for _, p := range res.Problems {
				if strings.HasPrefix(p.String(), c.want) {
					return
				}
			}
			t.Errorf("problems %v, want one starting %q", res.Problems, c.want)
		})
	}
}

func TestEveryProblemListed(t *testing.T) {
	const hdr = "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n"
	res := parse(t, Receipts, hdr+"LIC-1,R1,2026-11-27,Consumer,"+lblA+",1,Grams,2\n"+
		"LIC-1,R2,bad,Consumer,"+lblA+",x,Grams,2\n"+
		"LIC-1,R3,2026-11-27,Consumer,short,1,Grams,2\n")
	lines := map[int]int{}
	for _, p := range res.Problems {
		lines[p.Line]++
	}
	if lines[3] != 2 || lines[4] != 1 || len(res.Problems) != 3 || len(res.Jobs) != 0 {
		t.Fatalf("problems %v", res.Problems)
	}
}

func TestAssemblies(t *testing.T) {
	csv := "\uFEFFtag,item,quantity,unitofmeasure,location,actualdate,ingredientpackage,ingredientquantity,ingredientunitofmeasure,licensenumber\r\n" +
		tagP1 + ",pre-roll 1g,10,ea,vault,11/27/2026," + lblA + ",10,g,LIC-1\r\n" +
		tagP1 + ",Pre-Roll 1g,10,Each,Vault,11/27/2026," + lblB + ",1,Grams,LIC-1\r\n"
	res := parse(t, Assemblies, csv)
	if len(res.Problems) != 0 || len(res.Jobs) != 1 {
		t.Fatalf("problems %v jobs %d", res.Problems, len(res.Jobs))
	}
	j := res.Jobs[0]
	var p app.PackageCreate
	if err := json.Unmarshal(j.Body, &p); err != nil {
		t.Fatal(err)
	}
	if j.Key != app.PackageKey(lic, tagP1) || p.Item != "Pre-Roll 1g" || p.UnitOfMeasure != "Each" || p.Location != "Vault" ||
		p.ActualDate != "2026-11-27" || len(p.Ingredients) != 2 || p.Ingredients[0].UnitOfMeasure != "Grams" {
		t.Errorf("job %+v body %+v", j, p)
	}
	if fmt.Sprint(j.Reads) != fmt.Sprint([]string{lblA, lblB}) || fmt.Sprint(j.Creates) != fmt.Sprint([]string{tagP1}) {
		t.Errorf("reads %v creates %v", j.Reads, j.Creates)
	}
}

func TestBadAssemblies(t *testing.T) {
	const hdr = "LicenseNumber,Tag,Item,Quantity,UnitOfMeasure,Location,ActualDate,IngredientPackage,IngredientQuantity,IngredientUnitOfMeasure\n"
	good := "LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,Vault,2026-11-27," + lblA + ",10,Grams\n"
	cases := []struct{ name, csv, want string }{
		{"unknown item", hdr + "LIC-1," + tagP1 + ",Cookie,10,Each,Vault,2026-11-27," + lblA + ",10,Grams\n", "line 2: Item \"Cookie\" is not an item of license LIC-1"},
		{"unknown location", hdr + "LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,Attic,2026-11-27," + lblA + ",10,Grams\n", "line 2: Location \"Attic\" is not a location"},
		{"bad tag", hdr + "LIC-1,TAG,Pre-Roll 1g,10,Each,Vault,2026-11-27," + lblA + ",10,Grams\n", "line 2: Tag \"TAG\" is 3 characters long"},
		{"own ingredient", hdr + "LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,Vault,2026-11-27," + tagP1 + ",10,Grams\n", "line 2: package " + tagP1 + " cannot be its own ingredient"},
		{"quantities disagree", hdr + good + "LIC-1," + tagP1 + ",Pre-Roll 1g,12,Each,Vault,2026-11-27," + lblB + ",1,Grams\n", "line 3: package " + tagP1 + " has Quantity 12 here but 10 on line 2"},
		{"dates disagree", hdr + good + "LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,Vault,2026-11-26," + lblB + ",1,Grams\n", "line 3: package " + tagP1 + " has ActualDate 2026-11-26 here but 2026-11-27 on line 2"},
		{"duplicate ingredient", hdr + good + good, "line 3: ingredient " + lblA + " of package " + tagP1 + " is already listed on line 2"},
		{"ingredient quantity", hdr + "LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,Vault,2026-11-27," + lblA + ",,Grams\n", "line 2: IngredientQuantity is empty"},
		{"missing item", hdr + "LIC-1," + tagP1 + ",,10,Each,Vault,2026-11-27," + lblA + ",10,Grams\n", "line 2: Item is empty"},
		{"wrong kind of file", "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n", "line 1: missing column(s) Tag, Item"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := parse(t, Assemblies, c.csv)
			if len(res.Jobs) != 0 {
				t.Errorf("jobs returned despite problems")
			}
			for _, p := range res.Problems {
				if strings.HasPrefix(p.String(), c.want) {
					return
				}
			}
			t.Errorf("problems %v, want one starting %q", res.Problems, c.want)
		})
	}
}

func TestTagAlreadyInMetrc(t *testing.T) {
	l := lookup()
	l.pkgs[lic+"/"+tagP1] = app.Package{License: lic, Label: tagP1, Metrc: &app.PackageState{Quantity: 1}}
	csv := "LicenseNumber,Tag,Item,Quantity,UnitOfMeasure,ActualDate,IngredientPackage,IngredientQuantity,IngredientUnitOfMeasure\n" +
		"LIC-1," + tagP1 + ",Pre-Roll 1g,10,Each,2026-11-27," + lblA + ",10,Grams\n"
	res, err := Parse(strings.NewReader(csv), Assemblies, l, now, nil)
	if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Msg, "already a package in Metrc") {
		t.Fatalf("err %v problems %v", err, res.Problems)
	}
}

func TestNilLookupNoRefData(t *testing.T) {
	csv := "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n" +
		"ANY,R1,2026-11-27,Consumer," + lblA + ",1,Whatever,2\n"
	res, err := Parse(strings.NewReader(csv), Receipts, nil, now, nil)
	if err != nil || len(res.Problems) != 0 || len(res.Jobs) != 1 {
		t.Fatalf("err %v problems %v", err, res.Problems)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-11-27T15:04:05", "2026-11-27 15:04:05", "11/27/2026 3:04 PM", "11/27/2026 3:04 pm", "11/27/2026 15:04", "2026-11-27", "11/27/2026"} {
		if _, _, err := ParseTime(s, time.UTC); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"27/11/2026", "2026-13-01", "yesterday", ""} {
		if _, _, err := ParseTime(s, time.UTC); err == nil {
			t.Errorf("%s parsed", s)
		}
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n")
	for i := 0; i < 12000; i++ {
		fmt.Fprintf(&b, "LIC-1,R%d,2026-11-27,Consumer,%s,1,Grams,2\n", i, lblA)
	}
	var calls []int
	res, err := Parse(strings.NewReader(b.String()), Receipts, nil, now, func(n int) { calls = append(calls, n) })
	if err != nil || len(res.Jobs) != 12000 {
		t.Fatalf("err %v jobs %d", err, len(res.Jobs))
	}
	if fmt.Sprint(calls) != "[5000 10000 12000]" {
		t.Errorf("progress %v", calls)
	}
}

// A package Metrc holds takes no new work: the row is a problem with its
// line number, and nothing of the file is queued.
func TestPackageOnHoldIsRefused(t *testing.T) {
	l := lookup()
	held := l.pkgs[lic+"/"+lblB]
	held.Metrc = &app.PackageState{Item: "Flower", Quantity: 2, Unit: "Grams", OnHold: true}
	l.pkgs[lic+"/"+lblB] = held
	csv := "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n" +
		"LIC-1,R1,2026-11-27,Consumer," + lblA + ",1,Grams,2\n" +
		"LIC-1,R2,2026-11-27,Consumer," + lblB + ",1,Grams,2\n"
	res, err := Parse(strings.NewReader(csv), Receipts, l, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 0 || len(res.Problems) != 1 || res.Problems[0].Line != 3 ||
		!strings.Contains(res.Problems[0].Msg, "on hold in Metrc") {
		t.Fatalf("jobs %d, problems %v; want none queued and line 3 on hold", len(res.Jobs), res.Problems)
	}
}
