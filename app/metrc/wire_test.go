package metrc

import (
	"encoding/json"
	"testing"
)

// TestLenientDecoding: enum-like fields come as numbers (v2 examples) or
// strings (v1); ids and quantities sometimes as strings; anything may be null.
func TestLenientDecoding(t *testing.T) {
	var u []wireUnit
	if err := json.Unmarshal([]byte(`[{"Name":"Grams","QuantityType":1},{"Name":"Each","QuantityType":"CountBased"},{"Name":null,"QuantityType":null}]`), &u); err != nil {
		t.Fatal(err)
	}
	if u[0].domain().QuantityType != "1" || u[1].domain().QuantityType != "CountBased" || u[2].domain().Name != "" {
		t.Errorf("units %+v", u)
	}
	var p wirePackage
	body := `{"Id":"42","Label":"L","Item":"Buds","Quantity":"1.5","IsOnHold":1,"IsFinished":null,"FinishedDate":"2026-01-02","ArchivedDate":null,"LastModified":"bad"}`
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	d := p.domain()
	if d.ID != 42 || d.Item != "Buds" || d.Quantity != 1.5 || !d.OnHold || !d.Finished || d.Archived || !d.LastModified.IsZero() {
		t.Errorf("package %+v", d)
	}
	var tp wireTransferPackage
	if err := json.Unmarshal([]byte(`{"PackageLabel":"L","ShipmentPackageState":2,"ShippedQuantity":3}`), &tp); err != nil {
		t.Fatal(err)
	}
	if tp.domain().State != "2" || tp.domain().Quantity != 3 {
		t.Errorf("transfer package %+v", tp.domain())
	}
	items, pages, err := decodeList[wireItem]([]byte(`{"Data":[{"Id":1}],"TotalRecords":45,"PageSize":20}`))
	if err != nil || len(items) != 1 || pages != 3 {
		t.Errorf("envelope without TotalPages: %v pages, %v", pages, err)
	}
}
