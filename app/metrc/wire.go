package metrc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"tracesync/app"
)

// The wire types below are Metrc's answers as documented, decoded leniently:
// enum-like fields come as numbers in v2 examples and strings in v1, ids and
// quantities sometimes as strings, and most fields may be null.

// flexString decodes a JSON string, number, bool or null into text.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '{' || b[0] == '[':
		// An object where text was expected: take its Name when it has one.
		var v struct {
			Name flexString `json:"Name"`
		}
		if b[0] == '{' && json.Unmarshal(b, &v) == nil {
			*s = v.Name
		} else {
			*s = ""
		}
	default:
		*s = flexString(b) // number or bool, as written
	}
	return nil
}

// flexFloat decodes a number, a numeric string or null.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil {
		return nil // unreadable: zero, not a failed page
	}
	*f = flexFloat(v)
	return nil
}

// flexInt decodes an integer, a numeric string or null.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var f flexFloat
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	*n = flexInt(f)
	return nil
}

// flexBool decodes a bool, "true"/"false", a number or null.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "true", "1", "yes":
		*v = true
	default:
		*v = false
	}
	return nil
}

// page is the v2 list envelope.
type page[T any] struct {
	Data          []T     `json:"Data"`
	Total         flexInt `json:"Total"`
	TotalRecords  flexInt `json:"TotalRecords"`
	PageSize      flexInt `json:"PageSize"`
	RecordsOnPage flexInt `json:"RecordsOnPage"`
	Page          flexInt `json:"Page"`
	CurrentPage   flexInt `json:"CurrentPage"`
	TotalPages    flexInt `json:"TotalPages"`
}

// decodeList reads a v2 envelope, or a bare array (pagination off, v1
// style), and reports the number of pages (0 when unknown).
func decodeList[T any](body []byte) ([]T, int, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var v []T
		err := json.Unmarshal(body, &v)
		return v, 1, err
	}
	var p page[T]
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, 0, err
	}
	pages := int(p.TotalPages)
	if pages <= 0 && p.PageSize > 0 {
		total := max(p.TotalRecords, p.Total)
		pages = int((total + p.PageSize - 1) / p.PageSize)
	}
	return p.Data, pages, nil
}

type wireFacility struct {
	Name        flexString `json:"Name"`
	Alias       flexString `json:"Alias"`
	DisplayName flexString `json:"DisplayName"`
	License     struct {
		Number flexString `json:"Number"`
	} `json:"License"`
	LicenseNumber flexString `json:"LicenseNumber"` // not documented; tolerated
}

func (w wireFacility) domain() app.Facility {
	f := app.Facility{License: string(w.License.Number), Name: string(w.Name), DisplayName: string(w.DisplayName)}
	if f.License == "" {
		f.License = string(w.LicenseNumber)
	}
	if f.DisplayName == "" {
		f.DisplayName = string(w.Alias)
	}
	return f
}

type wireUnit struct {
	Name         flexString `json:"Name"`
	Abbreviation flexString `json:"Abbreviation"`
	QuantityType flexString `json:"QuantityType"`
}

func (w wireUnit) domain() app.Unit {
	return app.Unit{Name: string(w.Name), Abbreviation: string(w.Abbreviation), QuantityType: string(w.QuantityType)}
}

type wireItem struct {
	ID                  flexInt    `json:"Id"`
	Name                flexString `json:"Name"`
	ProductCategoryName flexString `json:"ProductCategoryName"`
	UnitOfMeasureName   flexString `json:"UnitOfMeasureName"`
}

func (w wireItem) domain() app.Item {
	return app.Item{ID: int64(w.ID), Name: string(w.Name), Category: string(w.ProductCategoryName), UnitOfMeasure: string(w.UnitOfMeasureName)}
}

type wireLocation struct {
	ID   flexInt    `json:"Id"`
	Name flexString `json:"Name"`
}

func (w wireLocation) domain() app.Location {
	return app.Location{ID: int64(w.ID), Name: string(w.Name)}
}

type wirePackage struct {
	ID                flexInt    `json:"Id"`
	Label             flexString `json:"Label"`
	Item              flexString `json:"Item"` // an object: its Name
	ItemName          flexString `json:"ItemName"`
	ProductName       flexString `json:"ProductName"`
	Quantity          flexFloat  `json:"Quantity"`
	UnitOfMeasureName flexString `json:"UnitOfMeasureName"`
	LocationName      flexString `json:"LocationName"`
	Note              flexString `json:"Note"`
	PackagedDate      flexString `json:"PackagedDate"`
	IsOnHold          flexBool   `json:"IsOnHold"`
	IsFinished        flexBool   `json:"IsFinished"`
	FinishedDate      flexString `json:"FinishedDate"`
	ArchivedDate      flexString `json:"ArchivedDate"`
	LastModified      flexString `json:"LastModified"`
}

func (w wirePackage) domain() app.MetrcPackage {
	item := string(w.Item)
	if item == "" {
		item = string(w.ItemName)
	}
	if item == "" {
		item = string(w.ProductName)
	}
	return app.MetrcPackage{
		ID:            int64(w.ID),
		Label:         string(w.Label),
		Item:          item,
		Quantity:      float64(w.Quantity),
		UnitOfMeasure: string(w.UnitOfMeasureName),
		Location:      string(w.LocationName),
		Note:          string(w.Note),
		PackagedDate:  dateOnly(string(w.PackagedDate)),
		OnHold:        bool(w.IsOnHold),
		Finished:      bool(w.IsFinished) || strings.TrimSpace(string(w.FinishedDate)) != "",
		Archived:      strings.TrimSpace(string(w.ArchivedDate)) != "",
		LastModified:  instant(string(w.LastModified)),
	}
}

type wireAdjustment struct {
	PackageLabel                flexString `json:"PackageLabel"`
	AdjustmentQuantity          flexFloat  `json:"AdjustmentQuantity"`
	AdjustmentUnitOfMeasureName flexString `json:"AdjustmentUnitOfMeasureName"`
	AdjustmentReasonName        flexString `json:"AdjustmentReasonName"`
	AdjustmentNote              flexString `json:"AdjustmentNote"`
	ReasonNote                  flexString `json:"ReasonNote"` // the request's name, tolerated
	AdjustmentDate              flexString `json:"AdjustmentDate"`
}

func (w wireAdjustment) domain() app.Adjustment {
	note := string(w.AdjustmentNote)
	if note == "" {
		note = string(w.ReasonNote)
	}
	return app.Adjustment{
		PackageLabel:  string(w.PackageLabel),
		Quantity:      float64(w.AdjustmentQuantity),
		UnitOfMeasure: string(w.AdjustmentUnitOfMeasureName),
		Reason:        string(w.AdjustmentReasonName),
		Note:          note,
		Date:          dateOnly(string(w.AdjustmentDate)),
	}
}

type wireTransaction struct {
	PackageLabel      flexString `json:"PackageLabel"`
	Quantity          flexFloat  `json:"Quantity"`
	QuantitySold      flexFloat  `json:"QuantitySold"`
	UnitOfMeasure     flexString `json:"UnitOfMeasure"`
	UnitOfMeasureName flexString `json:"UnitOfMeasureName"`
	TotalAmount       flexFloat  `json:"TotalAmount"`
	TotalPrice        flexFloat  `json:"TotalPrice"`
}

func (w wireTransaction) domain() app.SalesTransaction {
	t := app.SalesTransaction{
		PackageLabel:  string(w.PackageLabel),
		Quantity:      float64(w.Quantity),
		UnitOfMeasure: string(w.UnitOfMeasure),
		TotalAmount:   float64(w.TotalAmount),
	}
	if t.Quantity == 0 {
		t.Quantity = float64(w.QuantitySold)
	}
	if t.UnitOfMeasure == "" {
		t.UnitOfMeasure = string(w.UnitOfMeasureName)
	}
	if t.TotalAmount == 0 {
		t.TotalAmount = float64(w.TotalPrice)
	}
	return t
}

type wireReceipt struct {
	ID                    flexInt           `json:"Id"`
	ExternalReceiptNumber flexString        `json:"ExternalReceiptNumber"`
	SalesDateTime         flexString        `json:"SalesDateTime"`
	SalesCustomerType     flexString        `json:"SalesCustomerType"`
	Transactions          []wireTransaction `json:"Transactions"`
	LastModified          flexString        `json:"LastModified"`
}

func (w wireReceipt) domain() app.Receipt {
	r := app.Receipt{
		ID:                    int64(w.ID),
		ExternalReceiptNumber: string(w.ExternalReceiptNumber),
		SalesDateTime:         string(w.SalesDateTime),
		SalesCustomerType:     string(w.SalesCustomerType),
		LastModified:          instant(string(w.LastModified)),
	}
	for _, t := range w.Transactions {
		r.Transactions = append(r.Transactions, t.domain())
	}
	return r
}

type wireTransfer struct {
	ID                           flexInt    `json:"Id"`
	ManifestNumber               flexString `json:"ManifestNumber"`
	ShipperFacilityLicenseNumber flexString `json:"ShipperFacilityLicenseNumber"`
	ShipperFacilityName          flexString `json:"ShipperFacilityName"`
	DeliveryID                   flexInt    `json:"DeliveryId"`
	LastModified                 flexString `json:"LastModified"`
}

type wireDelivery struct {
	ID                             flexInt    `json:"Id"`
	RecipientFacilityLicenseNumber flexString `json:"RecipientFacilityLicenseNumber"`
}

type wireTransferPackage struct {
	PackageLabel             flexString `json:"PackageLabel"`
	ItemName                 flexString `json:"ItemName"`
	ProductName              flexString `json:"ProductName"`
	ShippedQuantity          flexFloat  `json:"ShippedQuantity"`
	ShippedUnitOfMeasureName flexString `json:"ShippedUnitOfMeasureName"`
	ShipmentPackageState     flexString `json:"ShipmentPackageState"`
}

func (w wireTransferPackage) domain() app.TransferPackage {
	item := string(w.ItemName)
	if item == "" {
		item = string(w.ProductName)
	}
	return app.TransferPackage{
		Label:         string(w.PackageLabel),
		Item:          item,
		Quantity:      float64(w.ShippedQuantity),
		UnitOfMeasure: string(w.ShippedUnitOfMeasureName),
		State:         string(w.ShipmentPackageState),
	}
}

// writeResult is a v2 write answer: {"Ids":[...],"Warnings":null}.
type writeResult struct {
	Ids      []flexInt `json:"Ids"`
	Warnings any       `json:"Warnings"`
}
