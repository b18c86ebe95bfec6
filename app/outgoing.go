package app

import (
	"context"
	"time"
)

// OutgoingTemplate is one object of POST /transfers/v2/templates/outgoing
// (job kind outgoing-transfer), with Metrc's field names.
type OutgoingTemplate struct {
	Name                             string                `json:"Name"`
	TransporterFacilityLicenseNumber string                `json:"TransporterFacilityLicenseNumber,omitempty"`
	DriverOccupationalLicenseNumber  string                `json:"DriverOccupationalLicenseNumber,omitempty"`
	DriverName                       string                `json:"DriverName,omitempty"`
	DriverLicenseNumber              string                `json:"DriverLicenseNumber,omitempty"`
	PhoneNumberForQuestions          string                `json:"PhoneNumberForQuestions,omitempty"`
	VehicleMake                      string                `json:"VehicleMake,omitempty"`
	VehicleModel                     string                `json:"VehicleModel,omitempty"`
	VehicleLicensePlateNumber        string                `json:"VehicleLicensePlateNumber,omitempty"`
	Destinations                     []TemplateDestination `json:"Destinations"`
}

// TemplateDestination is one recipient of an outgoing transfer template.
type TemplateDestination struct {
	RecipientLicenseNumber     string                `json:"RecipientLicenseNumber"`
	InvoiceNumber              string                `json:"InvoiceNumber,omitempty"`
	TransferTypeName           string                `json:"TransferTypeName"`
	PlannedRoute               string                `json:"PlannedRoute,omitempty"`
	EstimatedDepartureDateTime string                `json:"EstimatedDepartureDateTime"` // license-local, no offset
	EstimatedArrivalDateTime   string                `json:"EstimatedArrivalDateTime"`   // license-local, no offset
	Transporters               []TemplateTransporter `json:"Transporters,omitempty"`
	Packages                   []TemplatePackage     `json:"Packages"`
}

// TemplateTransporter is one transporter leg of a template destination.
type TemplateTransporter struct {
	TransporterFacilityLicenseNumber string `json:"TransporterFacilityLicenseNumber"`
	DriverOccupationalLicenseNumber  string `json:"DriverOccupationalLicenseNumber,omitempty"`
	DriverName                       string `json:"DriverName,omitempty"`
	DriverLicenseNumber              string `json:"DriverLicenseNumber,omitempty"`
	PhoneNumberForQuestions          string `json:"PhoneNumberForQuestions,omitempty"`
	VehicleMake                      string `json:"VehicleMake,omitempty"`
	VehicleModel                     string `json:"VehicleModel,omitempty"`
	VehicleLicensePlateNumber        string `json:"VehicleLicensePlateNumber,omitempty"`
	IsLayover                        bool   `json:"IsLayover"`
	EstimatedDepartureDateTime       string `json:"EstimatedDepartureDateTime,omitempty"`
	EstimatedArrivalDateTime         string `json:"EstimatedArrivalDateTime,omitempty"`
}

// TemplatePackage is one package on a template destination.
type TemplatePackage struct {
	PackageLabel          string   `json:"PackageLabel"`
	WholesalePrice        *float64 `json:"WholesalePrice,omitempty"`
	GrossWeight           *float64 `json:"GrossWeight,omitempty"`
	GrossUnitOfWeightName string   `json:"GrossUnitOfWeightName,omitempty"`
}

// MetrcTemplates is the Metrc port for outgoing transfer templates (the
// later outgoing-transfer kind). Errors follow Metrc's write contract: one
// per input object, in order.
type MetrcTemplates interface {
	CreateOutgoingTemplates(ctx context.Context, license string, t []OutgoingTemplate) []error
}

// MetrcReceipts lists a license's active sales receipts by sales date
// (reconciliation of sales). from and to are instants; the client sends
// them in the license's local time. Errors as in Metrc.
type MetrcReceipts interface {
	ActiveReceipts(ctx context.Context, license string, loc *time.Location, from, to time.Time) ([]Receipt, error)
}
