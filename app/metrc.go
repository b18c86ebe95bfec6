package app

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The write bodies below are Metrc's request objects, with Metrc's field names,
// so a job's Body is exactly what goes into the request array.

// PackageCreate is one object of POST /packages/v2 (an assembly from ingredients).
type PackageCreate struct {
	Tag           string       `json:"Tag"`
	Location      string       `json:"Location,omitempty"`
	Item          string       `json:"Item"`
	Quantity      float64      `json:"Quantity"`
	UnitOfMeasure string       `json:"UnitOfMeasure"`
	Note          string       `json:"Note,omitempty"`
	ActualDate    string       `json:"ActualDate"` // 2006-01-02, license-local
	Ingredients   []Ingredient `json:"Ingredients"`
}

// Ingredient is a source package an assembly draws from.
type Ingredient struct {
	Package       string  `json:"Package"`
	Quantity      float64 `json:"Quantity"`
	UnitOfMeasure string  `json:"UnitOfMeasure"`
}

// PackageAdjust is one object of POST /packages/v2/adjust.
type PackageAdjust struct {
	Label            string  `json:"Label"`
	Quantity         float64 `json:"Quantity"` // signed
	UnitOfMeasure    string  `json:"UnitOfMeasure"`
	AdjustmentReason string  `json:"AdjustmentReason"`
	AdjustmentDate   string  `json:"AdjustmentDate"` // 2006-01-02
	ReasonNote       string  `json:"ReasonNote,omitempty"`
}

// LocationChange is one object of PUT /packages/v2/location.
type LocationChange struct {
	Label    string `json:"Label"`
	Location string `json:"Location"`
	MoveDate string `json:"MoveDate"` // 2006-01-02
}

// PackageFinish is one object of PUT /packages/v2/finish.
type PackageFinish struct {
	Label      string `json:"Label"`
	ActualDate string `json:"ActualDate"` // 2006-01-02
}

// SalesReceipt is one object of POST /sales/v2/receipts.
type SalesReceipt struct {
	SalesDateTime         string             `json:"SalesDateTime"` // license-local, no offset: 2006-01-02T15:04:05.000
	SalesCustomerType     string             `json:"SalesCustomerType"`
	ExternalReceiptNumber string             `json:"ExternalReceiptNumber"`
	Transactions          []SalesTransaction `json:"Transactions"`
}

// SalesTransaction is one line of a receipt.
type SalesTransaction struct {
	PackageLabel  string  `json:"PackageLabel"`
	Quantity      float64 `json:"Quantity"`
	UnitOfMeasure string  `json:"UnitOfMeasure"`
	TotalAmount   float64 `json:"TotalAmount"`
}

// Layouts Metrc uses in write bodies.
const (
	DateLayout          = "2006-01-02"
	SalesDateTimeLayout = "2006-01-02T15:04:05.000"
)

// The read models below are what the engine keeps of Metrc's answers.

// Facility is one of the user's licenses as Metrc lists it.
type Facility struct {
	License     string
	Name        string
	DisplayName string
}

// Unit is a unit of measure.
type Unit struct {
	Name         string
	Abbreviation string
	QuantityType string // e.g. WeightBased, CountBased, VolumeBased
}

// Item is a product the license may package.
type Item struct {
	ID            int64
	Name          string
	Category      string
	UnitOfMeasure string
}

// Location is a place packages can be.
type Location struct {
	ID   int64
	Name string
}

// MetrcPackage is a package as Metrc reports it.
type MetrcPackage struct {
	ID            int64
	Label         string
	Item          string
	Quantity      float64
	UnitOfMeasure string
	Location      string
	Note          string
	PackagedDate  string
	OnHold        bool
	Finished      bool // FinishedDate set
	Archived      bool // ArchivedDate set
	LastModified  time.Time
}

// Adjustment is one entry of Metrc's package adjustments list.
type Adjustment struct {
	PackageLabel  string
	Quantity      float64
	UnitOfMeasure string
	Reason        string
	Note          string
	Date          string
}

// Receipt is a sales receipt as Metrc reports it.
type Receipt struct {
	ID                    int64
	ExternalReceiptNumber string
	SalesDateTime         string // as Metrc sent it (license-local)
	SalesCustomerType     string
	Transactions          []SalesTransaction
	LastModified          time.Time
}

// Transfer is an incoming transfer with its deliveries' packages flattened.
type Transfer struct {
	ID             int64
	ManifestNumber string
	ShipperLicense string
	ShipperName    string
	LastModified   time.Time
	Packages       []TransferPackage
}

// TransferPackage is one package on an incoming transfer.
type TransferPackage struct {
	Label         string
	Item          string
	Quantity      float64
	UnitOfMeasure string
	State         string // Metrc's ShipmentPackageState, e.g. Shipped, Accepted
}

// Metrc is the port through which the engine talks to the Metrc API. The
// implementation (app/metrc) enforces rate limits, timeouts and the object
// limit (chunks of at most 10, halving on 413).
//
// Errors: every failure is (or wraps) a *MetrcError whose Class tells the
// engine what to do. Lookups of one record return ErrNotFound when Metrc has
// no such record. Write calls return one error per input object, in order
// (nil = accepted); a request that Metrc rejected because of one object gives
// that object ClassPermanent and the others ClassNotSent.
type Metrc interface {
	Facilities(ctx context.Context) ([]Facility, error)
	Units(ctx context.Context) ([]Unit, error)
	Items(ctx context.Context, license string) ([]Item, error)
	Locations(ctx context.Context, license string) ([]Location, error)
	// Packages lists active (or inactive) packages modified in [from, to);
	// zero times mean all. Windows over 24 h are split by the client.
	Packages(ctx context.Context, license string, active bool, from, to time.Time) ([]MetrcPackage, error)
	PackageByLabel(ctx context.Context, license, label string) (MetrcPackage, error)
	Adjustments(ctx context.Context, license, label string) ([]Adjustment, error)
	IncomingTransfers(ctx context.Context, license string, from, to time.Time) ([]Transfer, error)
	ReceiptByExternalNumber(ctx context.Context, license, number string) (Receipt, error)

	CreatePackages(ctx context.Context, license string, p []PackageCreate) []error
	AdjustPackages(ctx context.Context, license string, a []PackageAdjust) []error
	ChangeLocations(ctx context.Context, license string, c []LocationChange) []error
	FinishPackages(ctx context.Context, license string, f []PackageFinish) []error
	CreateReceipts(ctx context.Context, license string, r []SalesReceipt) []error
}

// ErrorClass is what a failed Metrc call means for the job that caused it
// (DESIGN.md's job-state table).
type ErrorClass int

const (
	// ClassNotSent: surely not applied (connection refused, DNS, rejected
	// along with another object of the batch): retry.
	ClassNotSent ErrorClass = iota + 1
	// ClassAmbiguous: sent, no trustworthy answer (timeout, reset, EOF, 5xx):
	// a POST must be verified before any resend.
	ClassAmbiguous
	// ClassRateLimited: 429; RetryAfter says how long when Metrc said.
	ClassRateLimited
	// ClassPermanent: 400; Metrc's messages are kept for a person.
	ClassPermanent
	// ClassAuth: 401/403: credentials rejected; the license is paused.
	ClassAuth
)

func (c ErrorClass) String() string {
	switch c {
	case ClassNotSent:
		return "not sent"
	case ClassAmbiguous:
		return "no answer"
	case ClassRateLimited:
		return "rate limited"
	case ClassPermanent:
		return "rejected"
	case ClassAuth:
		return "credentials rejected"
	}
	return fmt.Sprintf("ErrorClass(%d)", int(c))
}

// MetrcError is the one error type the engine switches on. It never contains
// API keys.
type MetrcError struct {
	Class      ErrorClass
	Status     int           // HTTP status, 0 when none came
	Messages   []string      // Metrc's messages verbatim (for this object, on writes)
	RetryAfter time.Duration // 429 Retry-After, 0 when absent
	Endpoint   string        // e.g. "POST /sales/v2/receipts"
	Err        error         // the transport error, when there is one
}

func (e *MetrcError) Error() string {
	var b strings.Builder
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	default:
		b.WriteString(e.Class.String())
	}
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *MetrcError) Unwrap() error { return e.Err }

// Call is one Metrc request, reported to the observer after it ends.
type Call struct {
	License  string // "" for calls without a license (facilities, units)
	Endpoint string // method and path template, e.g. "GET /packages/v2/active"
	Start    time.Time
	Duration time.Duration
	Status   int   // HTTP status, 0 if none
	Err      error // nil on 2xx
}

// CallObserver receives every Metrc call (the latency monitor, health).
type CallObserver func(Call)
