package metrcsim

import (
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Wire shapes of Metrc's v2 read answers (from the doc examples). Fields the
// simulator has no data for are kept, as null or their zero value, so the
// client meets the real shapes.

type wireFacility struct {
	FacilityId            int64
	HireDate              string
	IsOwner               bool
	IsManager             bool
	IsFinancialContact    bool
	Email                 *string
	Occupations           []string
	Name                  string
	Alias                 string
	DisplayName           string
	CredentialedDate      string
	SupportActivationDate *string
	SupportExpirationDate *string
	FacilityType          wireFacilityType
	License               wireLicense
}

type wireFacilityType struct {
	IsMedical                         bool
	IsRetail                          bool
	IsHemp                            bool
	CanGrowPlants                     bool
	CanAssignLocationsToPackages      bool
	CanUpdateLocationsOnPackages      bool
	CanTransferFromExternalFacilities bool
	CanSellToConsumers                bool
	CanSellToPatients                 bool
	CanTrackFinishedGoods             bool
}

type wireLicense struct {
	Number                string
	EmployeeLicenseNumber string
	StartDate             string
	EndDate               string
	LicenseType           string
}

func (s *Sim) getFacilities(x *req) {
	s.mu.Lock()
	ls := make([]*license, 0, len(s.w.Licenses))
	for _, l := range s.w.Licenses {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	sort.Slice(ls, func(i, j int) bool { return ls[i].Number < ls[j].Number })
	out := []wireFacility{}
	for _, l := range ls {
		if !s.hasAccess(l.Number) {
			continue
		}
		retail := l.Type == "Commercial - Retailer" || l.Type == "Commercial - Microbusiness"
		out = append(out, wireFacility{
			FacilityId: l.FacilityID, HireDate: "0001-01-01", IsManager: true, Occupations: []string{},
			Name: l.Name, Alias: l.Name, DisplayName: l.Name, CredentialedDate: "2019-01-02",
			FacilityType: wireFacilityType{IsRetail: retail, CanAssignLocationsToPackages: true,
				CanUpdateLocationsOnPackages: true, CanTransferFromExternalFacilities: true,
				CanSellToConsumers: retail, CanTrackFinishedGoods: true},
			License: wireLicense{Number: l.Number, EmployeeLicenseNumber: l.Number,
				StartDate: "2019-01-02", EndDate: "2027-01-01", LicenseType: l.Type},
		})
	}
	s.json(x, http.StatusOK, out)
}

type wireUnit struct {
	QuantityType string
	Name         string
	Abbreviation string
}

func (s *Sim) getUnits(x *req) {
	out := []wireUnit{}
	if x.segs[2] == "active" {
		for _, u := range units {
			out = append(out, wireUnit{u.Kind, u.Name, u.Abbrev})
		}
	}
	s.json(x, http.StatusOK, out)
}

type wireItem struct {
	Id                     int64
	Name                   string
	GlobalProductName      *string
	GlobalProductNumber    *string
	ProductCategoryName    string
	ProductCategoryType    string
	QuantityType           string
	DefaultLabTestingState string
	UnitOfMeasureName      string
	ApprovalStatus         string
	ApprovalStatusDateTime string
	StrainId               *int64
	StrainName             *string
	ItemBrandId            int64
	ItemBrandName          *string
	UnitThcContent         *float64
	UnitWeight             *float64
	UnitVolume             *float64
	ProductImages          []any
	LabelImages            []any
	PackagingImages        []any
	ProductPDFDocuments    []any
	IsUsed                 bool
	LabTestBatchNames      []string
}

func (s *Sim) getItems(x *req) {
	from, to, has, ok := s.window(x, "lastModifiedStart", "lastModifiedEnd")
	if !ok {
		return
	}
	s.mu.Lock()
	out := []wireItem{}
	for _, it := range s.w.Licenses[x.lic].Items {
		if has && !inWindow(it.LastModified, from, to) {
			continue
		}
		u, _ := findUnit(it.Unit)
		out = append(out, wireItem{
			Id: it.ID, Name: it.Name, ProductCategoryName: it.Category, ProductCategoryType: categoryType(it.Category),
			QuantityType: u.Kind, DefaultLabTestingState: "NotSubmitted", UnitOfMeasureName: it.Unit,
			ApprovalStatus: "Approved", ApprovalStatusDateTime: "0001-01-01T00:00:00+00:00",
			ProductImages: []any{}, LabelImages: []any{}, PackagingImages: []any{}, ProductPDFDocuments: []any{},
			IsUsed: true, LabTestBatchNames: []string{},
		})
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

type wireLocation struct {
	Id               int64
	Name             string
	LocationTypeId   int64
	LocationTypeName string
	ForPlantBatches  bool
	ForPlants        bool
	ForHarvests      bool
	ForPackages      bool
}

func (s *Sim) getLocations(x *req) {
	from, to, has, ok := s.window(x, "lastModifiedStart", "lastModifiedEnd")
	if !ok {
		return
	}
	s.mu.Lock()
	out := []wireLocation{}
	for _, lo := range s.w.Licenses[x.lic].Locations {
		if has && !inWindow(lo.LastModified, from, to) {
			continue
		}
		out = append(out, wireLocation{Id: lo.ID, Name: lo.Name, LocationTypeId: 1, LocationTypeName: lo.Type, ForPackages: true})
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

// wirePackage is a package read (GET /packages/v2/active, /{label}, ...).
type wirePackage struct {
	Id                                int64
	Label                             string
	ExternalId                        *string
	PackageType                       string
	SourceHarvestCount                int
	SourcePackageCount                int
	SourceProcessingJobCount          int
	SourceHarvestNames                *string
	SourcePackageLabels               *string
	LocationId                        *int64
	LocationName                      *string
	SublocationId                     *int64
	SublocationName                   *string
	LocationTypeName                  *string
	Quantity                          float64
	OriginalPackageQuantity           float64
	UnitOfMeasureName                 string
	UnitOfMeasureAbbreviation         string
	PatientLicenseNumber              *string
	ItemFromFacilityLicenseNumber     *string
	ItemFromFacilityName              *string
	Note                              *string
	PackagedDate                      string
	ExpirationDate                    *string
	SellByDate                        *string
	UseByDate                         *string
	InitialLabTestingState            string
	LabTestingState                   string
	LabTestingStateDate               string
	IsProductionBatch                 bool
	ProductionBatchNumber             *string
	IsTradeSample                     bool
	IsDonation                        bool
	IsTestingSample                   bool
	ProductRequiresRemediation        bool
	ReceivedDateTime                  *string
	ReceivedFromManifestNumber        *string
	ReceivedFromFacilityLicenseNumber *string
	ReceivedFromFacilityName          *string
	IsOnHold                          bool
	IsOnHoldCombined                  bool
	IsOnRecall                        *bool
	IsOnRecallCombined                bool
	ArchivedDate                      *string
	IsFinished                        bool
	FinishedDate                      *string
	IsFinishedGood                    bool
	LastModified                      string
	Item                              wirePackageItem
	ProductLabel                      wireProductLabel
}

// wirePackageItem is the Item nested in a package: its enums are numbers,
// as in the v2 doc examples (0 CountBased, 1 WeightBased, 2 VolumeBased).
type wirePackageItem struct {
	Id                     int64
	Name                   string
	ProductCategoryName    string
	ProductCategoryType    int
	QuantityType           int
	DefaultLabTestingState int
	UnitOfMeasureName      *string
	ApprovalStatus         int
	ApprovalStatusDateTime string
	StrainId               *int64
	StrainName             *string
	ItemBrandId            int64
}

type wireProductLabel struct {
	QrCount  int
	IsActive bool
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func kindNumber(k string) int {
	switch k {
	case "WeightBased":
		return 1
	case "VolumeBased":
		return 2
	}
	return 0
}

// wirePkg builds a package read; call with s.mu held.
func (l *license) wirePkg(p *SimPackage) wirePackage {
	u, _ := findUnit(p.UnitOfMeasure)
	wp := wirePackage{
		Id: p.ID, Label: p.Label, PackageType: "Product",
		SourcePackageCount: len(p.SourcePackageLabels),
		Quantity:           p.Quantity, OriginalPackageQuantity: p.Quantity,
		UnitOfMeasureName: p.UnitOfMeasure, UnitOfMeasureAbbreviation: u.Abbrev,
		Note: strp(p.Note), PackagedDate: p.PackagedDate,
		InitialLabTestingState: "TestPassed", LabTestingState: "TestPassed", LabTestingStateDate: p.PackagedDate,
		ReceivedFromManifestNumber: strp(p.ReceivedFromManifest),
		IsOnHold:                   p.OnHold, IsOnHoldCombined: p.OnHold,
		ArchivedDate: strp(p.ArchivedDate), IsFinished: p.FinishedDate != "", FinishedDate: strp(p.FinishedDate),
		LastModified: stamp(p.LastModified),
		ProductLabel: wireProductLabel{QrCount: 1, IsActive: true},
	}
	if len(p.SourcePackageLabels) > 0 {
		joined := ""
		for i, sl := range p.SourcePackageLabels {
			if i > 0 {
				joined += ", "
			}
			joined += sl
		}
		wp.SourcePackageLabels = &joined
	}
	if lo := l.location(p.Location); lo != nil {
		id, name, typ := lo.ID, lo.Name, lo.Type
		wp.LocationId, wp.LocationName, wp.LocationTypeName = &id, &name, &typ
	}
	wp.Item = wirePackageItem{Name: p.Item, ApprovalStatusDateTime: "0001-01-01T00:00:00+00:00"}
	if it := l.item(p.Item); it != nil {
		iu, _ := findUnit(it.Unit)
		wp.Item.Id = it.ID
		wp.Item.ProductCategoryName = it.Category
		wp.Item.QuantityType = kindNumber(iu.Kind)
		wp.Item.UnitOfMeasureName = strp(it.Unit)
	}
	return wp
}

func (s *Sim) getPackages(x *req, which string) {
	from, to, has, ok := s.window(x, "lastModifiedStart", "lastModifiedEnd")
	if !ok {
		return
	}
	pg, ok := s.pager(x)
	if !ok {
		return
	}
	s.mu.Lock()
	l := s.w.Licenses[x.lic]
	var sel []*SimPackage
	for _, p := range l.Packages {
		switch which {
		case "active":
			if !p.Active() {
				continue
			}
		case "inactive":
			if p.Active() {
				continue
			}
		case "onhold":
			if !p.Active() || !p.OnHold {
				continue
			}
		}
		if has && !inWindow(p.LastModified, from, to) {
			continue
		}
		sel = append(sel, p)
	}
	lo, hi := pg.bounds(len(sel))
	out := make([]wirePackage, 0, hi-lo)
	for _, p := range sel[lo:hi] {
		out = append(out, l.wirePkg(p))
	}
	s.mu.Unlock()
	writePage(s, x, pg, len(sel), out)
}

// getPackage answers GET /packages/v2/{label} (or /{id}): 401 when the
// package belongs to a license other than licenseNumber, 404 when it exists
// nowhere.
func (s *Sim) getPackage(x *req, key string) {
	s.mu.Lock()
	owner, ok := s.w.labels[key]
	if !ok {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		find:
			for n, l := range s.w.Licenses {
				for _, p := range l.Packages {
					if p.ID == id {
						owner, key, ok = n, p.Label, true
						break find
					}
				}
			}
		}
	}
	if !ok {
		s.mu.Unlock()
		s.notFound(x)
		return
	}
	if (x.lic != "" && owner != x.lic) || !s.hasAccessLocked(owner) {
		s.mu.Unlock()
		s.message(x, http.StatusUnauthorized, msgAuth)
		return
	}
	l := s.w.Licenses[owner]
	wp := l.wirePkg(l.byLabel[key])
	s.mu.Unlock()
	s.json(x, http.StatusOK, wp)
}

// hasAccessLocked is hasAccess for a caller holding s.mu.
func (s *Sim) hasAccessLocked(lic string) bool {
	if _, ok := s.w.Licenses[lic]; !ok {
		return false
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return !s.revoked[lic]
}

type wireAdjustment struct {
	PackageId                              int64
	PackageLabel                           string
	ItemName                               string
	ItemCategoryName                       string
	AdjustmentQuantity                     float64
	AdjustmentUnitOfMeasureName            string
	AdjustmentUnitOfMeasureAbbreviation    string
	AdjustmentReasonName                   string
	AdjustmentNote                         string
	AdjustmentDate                         string
	PackagedDate                           string
	AdjustedByUserName                     string
	PackageLabTestResultExpirationDateTime *string
}

func dateTimeZ(d string) string {
	if len(d) == len(dateLayout) {
		return d + "T00:00:00Z"
	}
	return d
}

func (s *Sim) getAdjustments(x *req) {
	s.mu.Lock()
	l := s.w.Licenses[x.lic]
	out := []wireAdjustment{}
	for _, a := range l.Adjustments {
		u, _ := findUnit(a.UnitOfMeasure)
		wa := wireAdjustment{
			PackageId: a.PackageID, PackageLabel: a.PackageLabel, AdjustmentQuantity: a.Quantity,
			AdjustmentUnitOfMeasureName: a.UnitOfMeasure, AdjustmentUnitOfMeasureAbbreviation: u.Abbrev,
			AdjustmentReasonName: a.Reason, AdjustmentNote: a.Note, AdjustmentDate: dateTimeZ(a.Date),
			AdjustedByUserName: "API",
		}
		if p := l.byLabel[a.PackageLabel]; p != nil {
			wa.ItemName = p.Item
			wa.PackagedDate = dateTimeZ(p.PackagedDate)
			if it := l.item(p.Item); it != nil {
				wa.ItemCategoryName = it.Category
			}
		}
		out = append(out, wa)
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

// adjustReasons are the reasons the simulator lists (any non-empty reason is
// accepted on writes).
var adjustReasons = []string{"Drying", "Entry Error", "Inventory Audit", "Scale Variance", "Spoilage", "Theft", "Waste", "Damage", "Mandatory State Destruction"}

type wireReason struct {
	Name         string
	RequiresNote bool
}

func (s *Sim) getAdjustReasons(x *req) {
	out := make([]wireReason, len(adjustReasons))
	for i, r := range adjustReasons {
		out[i] = wireReason{Name: r, RequiresNote: r == "Entry Error" || r == "Theft"}
	}
	paginate(s, x, out)
}

type wireReceipt struct {
	Id                            int64
	ReceiptNumber                 *string
	ExternalReceiptNumber         string
	SalesDateTime                 string
	SalesCustomerType             string
	PatientLicenseNumber          *string
	CaregiverLicenseNumber        *string
	IdentificationMethod          *string
	PatientRegistrationLocationId *int64
	TotalPackages                 int
	TotalPrice                    float64
	Transactions                  []wireTransaction
	IsFinal                       bool
	ArchivedDate                  *string
	RecordedDateTime              string
	RecordedByUserName            string
	LastModified                  string
}

// wireTransaction is a receipt line as read back. The doc examples only
// show empty Transactions; the names are Metrc's v1 read names, plus the
// write names (Quantity, UnitOfMeasure, TotalAmount) for convenience.
type wireTransaction struct {
	PackageId                 int64
	PackageLabel              string
	ProductName               string
	ProductCategoryName       string
	QuantitySold              float64
	UnitOfMeasureName         string
	UnitOfMeasureAbbreviation string
	TotalPrice                float64
	Quantity                  float64
	UnitOfMeasure             string
	TotalAmount               float64
	ArchivedDate              *string
	LastModified              string
}

// wireRcpt builds a receipt read; lines only when full (single lookups: the
// lists answer "Transactions": [] as Metrc's examples do).
func (l *license) wireRcpt(r *SimReceipt, full bool) wireReceipt {
	wr := wireReceipt{
		Id: r.ID, ExternalReceiptNumber: r.ExternalReceiptNumber, SalesDateTime: r.SalesDateTime,
		SalesCustomerType: r.SalesCustomerType, TotalPackages: len(r.Transactions),
		Transactions: []wireTransaction{}, RecordedDateTime: stamp(r.RecordedDateTime),
		RecordedByUserName: "API", LastModified: stamp(r.LastModified),
	}
	total := 0.0
	for _, t := range r.Transactions {
		total += t.TotalAmount
		if !full {
			continue
		}
		u, _ := findUnit(t.UnitOfMeasure)
		wt := wireTransaction{
			PackageId: t.PackageID, PackageLabel: t.PackageLabel, QuantitySold: t.Quantity,
			UnitOfMeasureName: t.UnitOfMeasure, UnitOfMeasureAbbreviation: u.Abbrev, TotalPrice: t.TotalAmount,
			Quantity: t.Quantity, UnitOfMeasure: t.UnitOfMeasure, TotalAmount: t.TotalAmount,
			LastModified: stamp(r.LastModified),
		}
		if p := l.byLabel[t.PackageLabel]; p != nil {
			wt.ProductName = p.Item
			if it := l.item(p.Item); it != nil {
				wt.ProductCategoryName = it.Category
			}
		}
		wr.Transactions = append(wr.Transactions, wt)
	}
	wr.TotalPrice = round(total)
	return wr
}

func (s *Sim) getReceipts(x *req, active bool) {
	hasLM := x.q.Get("lastModifiedStart") != "" || x.q.Get("lastModifiedEnd") != ""
	hasSD := x.q.Get("salesDateStart") != "" || x.q.Get("salesDateEnd") != ""
	if hasLM && hasSD {
		s.message(x, http.StatusBadRequest, "The last modified and sales date parameters cannot be specified together.")
		return
	}
	from, to, has, ok := s.window(x, "lastModifiedStart", "lastModifiedEnd")
	if !ok {
		return
	}
	var sFrom, sTo time.Time
	if hasSD {
		a, b := x.q.Get("salesDateStart"), x.q.Get("salesDateEnd")
		var err1, err2 error
		sFrom, err1 = parseTime(a, time.UTC)
		sTo, err2 = parseTime(b, time.UTC)
		if a == "" || b == "" || err1 != nil || err2 != nil {
			s.message(x, http.StatusBadRequest, "Both salesDateStart and salesDateEnd must be valid dates.")
			return
		}
		// a date-only end means the whole day
		if len(b) == len(dateLayout) {
			sTo = sTo.Add(24*time.Hour - time.Nanosecond)
		}
	}
	s.mu.Lock()
	l := s.w.Licenses[x.lic]
	out := []wireReceipt{}
	if active {
		for _, r := range l.Receipts {
			if has && !inWindow(r.LastModified, from, to) {
				continue
			}
			if hasSD {
				// SalesDateTime is facility-local; compare wall clocks
				st, err := parseTime(r.SalesDateTime, time.UTC)
				if err != nil {
					continue
				}
				st = time.Date(st.Year(), st.Month(), st.Day(), st.Hour(), st.Minute(), st.Second(), st.Nanosecond(), time.UTC)
				if !inWindow(st, wall(sFrom), wall(sTo)) {
					continue
				}
			}
			out = append(out, l.wireRcpt(r, false))
		}
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// findReceipt answers a single receipt lookup: 401 when it belongs to
// another license, 404 when it exists nowhere. match picks the receipt.
func (s *Sim) findReceipt(x *req, match func(*SimReceipt) bool) {
	s.mu.Lock()
	var found *SimReceipt
	var owner *license
	if l := s.w.Licenses[x.lic]; l != nil {
		for _, r := range l.Receipts {
			if match(r) {
				found, owner = r, l
				break
			}
		}
	}
	if found == nil {
		names := make([]string, 0, len(s.w.Licenses))
		for n := range s.w.Licenses {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n == x.lic {
				continue
			}
			for _, r := range s.w.Licenses[n].Receipts {
				if match(r) {
					found, owner = r, s.w.Licenses[n]
					break
				}
			}
			if found != nil {
				break
			}
		}
	}
	if found == nil {
		s.mu.Unlock()
		s.notFound(x)
		return
	}
	if (x.lic != "" && owner.Number != x.lic) || !s.hasAccessLocked(owner.Number) {
		s.mu.Unlock()
		s.message(x, http.StatusUnauthorized, msgAuth)
		return
	}
	wr := owner.wireRcpt(found, true)
	s.mu.Unlock()
	s.json(x, http.StatusOK, wr)
}

func (s *Sim) getReceiptByExternal(x *req, number string) {
	s.findReceipt(x, func(r *SimReceipt) bool { return r.ExternalReceiptNumber == number })
}

func (s *Sim) getReceiptByID(x *req, key string) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		s.notFound(x)
		return
	}
	s.findReceipt(x, func(r *SimReceipt) bool { return r.ID == id })
}

type wireTransfer struct {
	Id                               int64
	ManifestNumber                   string
	ShipmentLicenseType              int
	ShipperFacilityLicenseNumber     string
	ShipperFacilityName              string
	TransporterFacilityLicenseNumber string
	TransporterFacilityName          string
	DriverName                       string
	DriverOccupationalLicenseNumber  string
	DriverVehicleLicenseNumber       string
	VehicleMake                      string
	VehicleModel                     string
	VehicleLicensePlateNumber        string
	DeliveryCount                    int
	ReceivedDeliveryCount            int
	PackageCount                     int
	ReceivedPackageCount             int
	CreatedDateTime                  string
	LastModified                     string
	DeliveryId                       int64
	RecipientFacilityLicenseNumber   string
	RecipientFacilityName            string
	ShipmentTypeName                 string
	ShipmentTransactionType          string
	EstimatedDepartureDateTime       string
	EstimatedArrivalDateTime         string
	DeliveryPackageCount             int
	DeliveryReceivedPackageCount     int
	ReceivedDateTime                 *string
}

func received(t *SimTransfer) int {
	n := 0
	for _, p := range t.Packages {
		if p.State == "Accepted" {
			n++
		}
	}
	return n
}

func (s *Sim) getIncoming(x *req) {
	from, to, has, ok := s.window(x, "lastModifiedStart", "lastModifiedEnd")
	if !ok {
		return
	}
	s.mu.Lock()
	l := s.w.Licenses[x.lic]
	out := []wireTransfer{}
	for _, t := range l.Transfers {
		if has && !inWindow(t.LastModified, from, to) {
			continue
		}
		rc := received(t)
		wt := wireTransfer{
			Id: t.ID, ManifestNumber: t.ManifestNumber,
			ShipperFacilityLicenseNumber: t.ShipperLicense, ShipperFacilityName: t.ShipperName,
			TransporterFacilityLicenseNumber: t.ShipperLicense, TransporterFacilityName: t.ShipperName,
			DriverName: "J. Rivera", VehicleMake: "Ford", VehicleModel: "Transit", VehicleLicensePlateNumber: "8ABC123",
			DeliveryCount: 1, PackageCount: len(t.Packages), ReceivedPackageCount: rc,
			CreatedDateTime: t.Created.Format(time.RFC3339), LastModified: stamp(t.LastModified),
			DeliveryId: t.DeliveryID, RecipientFacilityLicenseNumber: l.Number, RecipientFacilityName: l.Name,
			ShipmentTypeName: "Transfer", ShipmentTransactionType: "Wholesale",
			EstimatedDepartureDateTime: t.Created.Format("2006-01-02T15:04:05.000"),
			EstimatedArrivalDateTime:   t.Created.Add(3 * time.Hour).Format("2006-01-02T15:04:05.000"),
			DeliveryPackageCount:       len(t.Packages), DeliveryReceivedPackageCount: rc,
		}
		if !t.Received.IsZero() {
			wt.ReceivedDeliveryCount = 1
			wt.ReceivedDateTime = strp(t.Received.Format(time.RFC3339))
		}
		out = append(out, wt)
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

// transferFor finds a transfer by a matcher among the licenses the user
// may see (and licenseNumber, when given). It answers 404 itself.
func (s *Sim) transferFor(x *req, match func(*SimTransfer) bool) (*license, *SimTransfer, bool) {
	for _, l := range s.w.Licenses {
		if x.lic != "" && l.Number != x.lic {
			continue
		}
		for _, t := range l.Transfers {
			if match(t) && s.hasAccessLocked(l.Number) {
				return l, t, true
			}
		}
	}
	return nil, nil, false
}

type wireDelivery struct {
	Id                             int64
	DeliveryNumber                 int
	RecipientFacilityLicenseNumber string
	RecipientFacilityName          string
	ShipmentTypeName               string
	ShipmentTransactionType        string
	EstimatedDepartureDateTime     string
	EstimatedArrivalDateTime       string
	PlannedRoute                   string
	DeliveryPackageCount           int
	DeliveryReceivedPackageCount   int
	ReceivedDateTime               *string
}

func (s *Sim) getDeliveries(x *req, key string) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		s.notFound(x)
		return
	}
	s.mu.Lock()
	l, t, ok := s.transferFor(x, func(t *SimTransfer) bool { return t.ID == id })
	if !ok {
		s.mu.Unlock()
		s.notFound(x)
		return
	}
	d := wireDelivery{
		Id: t.DeliveryID, DeliveryNumber: 1, RecipientFacilityLicenseNumber: l.Number, RecipientFacilityName: l.Name,
		ShipmentTypeName: "Transfer", ShipmentTransactionType: "Wholesale",
		EstimatedDepartureDateTime: t.Created.Format("2006-01-02T15:04:05.000"),
		EstimatedArrivalDateTime:   t.Created.Add(3 * time.Hour).Format("2006-01-02T15:04:05.000"),
		PlannedRoute:               "Highway 99 to the store's loading dock.",
		DeliveryPackageCount:       len(t.Packages), DeliveryReceivedPackageCount: received(t),
	}
	if !t.Received.IsZero() {
		d.ReceivedDateTime = strp(t.Received.Format(time.RFC3339))
	}
	s.mu.Unlock()
	paginate(s, x, []wireDelivery{d})
}

type wireDeliveryPackage struct {
	PackageId                 int64
	PackageLabel              string
	PackageType               string
	ItemId                    int64
	ItemName                  string
	ItemCategoryName          string
	LabTestingState           string
	ShipmentPackageState      string
	ShippedQuantity           float64
	ShippedUnitOfMeasureName  string
	ReceivedQuantity          *float64
	ReceivedUnitOfMeasureName *string
	ProductLabel              wireProductLabel
}

func (s *Sim) getDeliveryPackages(x *req, key string) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		s.notFound(x)
		return
	}
	s.mu.Lock()
	l, t, ok := s.transferFor(x, func(t *SimTransfer) bool { return t.DeliveryID == id })
	if !ok {
		s.mu.Unlock()
		s.notFound(x)
		return
	}
	out := []wireDeliveryPackage{}
	for _, p := range t.Packages {
		wp := wireDeliveryPackage{
			PackageId: p.PackageID, PackageLabel: p.Label, PackageType: "Product", ItemName: p.Item,
			LabTestingState: "TestPassed", ShipmentPackageState: p.State,
			ShippedQuantity: p.Quantity, ShippedUnitOfMeasureName: p.UnitOfMeasure,
			ProductLabel: wireProductLabel{QrCount: 1, IsActive: true},
		}
		if it := l.item(p.Item); it != nil {
			wp.ItemId, wp.ItemCategoryName = it.ID, it.Category
		}
		if p.State == "Accepted" {
			q, u := p.Quantity, p.UnitOfMeasure
			wp.ReceivedQuantity, wp.ReceivedUnitOfMeasureName = &q, &u
		}
		out = append(out, wp)
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

type wireTemplate struct {
	Id           int64
	Name         string
	LastModified string
}

func (s *Sim) getTemplates(x *req) {
	s.mu.Lock()
	out := []wireTemplate{}
	for _, t := range s.w.Licenses[x.lic].Templates {
		out = append(out, wireTemplate{t.ID, t.Name, stamp(t.Created)})
	}
	s.mu.Unlock()
	paginate(s, x, out)
}

// categoryType maps a category name to Metrc's ProductCategoryType name.
func categoryType(c string) string {
	switch c {
	case "Flower", "Buds":
		return "Buds"
	case "Pre-Roll Flower", "Pre-Roll Infused":
		return "InfusedPreRoll"
	case "Edible (weight - each)", "Edible (volume - each)":
		return "InfusedEdible"
	case "Concentrate", "Concentrate (each)", "Vape Cartridge (weight - each)":
		return "Concentrate"
	case "Tincture (volume - each)", "Topical (weight - each)":
		return "InfusedNonEdible"
	}
	return "Other"
}
