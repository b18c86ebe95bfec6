package metrcsim

import (
	"math/rand"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Keys the simulator accepts when Options leaves them empty (and the ones
// `tracesync sim` prints).
const (
	DemoVendorKey = "demo-vendor-key"
	DemoUserKey   = "demo-user-key"
)

// Licenses of the "demo" seed.
const (
	DemoRetailLicense      = "CML-000001"
	DemoRetailName         = "Green Leaf Retail"
	DemoDistributorLicense = "C11-000002"
	DemoDistributorName    = "Valley Distribution"
)

// DefaultObjectLimit is how many objects one write request may carry before
// the simulator answers 413.
const DefaultObjectLimit = 10

// Options configure a Sim.
type Options struct {
	// Seed is "demo" (two licenses with items, locations, a few hundred
	// packages, receipts and incoming transfers) or "empty"/"" (nothing:
	// tests build their own world with AddLicense, AddItem, ...).
	Seed string
	// VendorKey and UserKey are the Basic auth credentials accepted;
	// empty means DemoVendorKey / DemoUserKey.
	VendorKey, UserKey string
	// ObjectLimit is the most objects per write request (0 = 10).
	ObjectLimit int
	// RandSeed seeds the source fault probabilities are drawn from.
	RandSeed int64
	// Now is the simulator's clock (nil = time.Now).
	Now func() time.Time
}

// Sim is a simulated Metrc API. It is safe for concurrent use.
type Sim struct {
	vendorKey, userKey string
	objectLimit        int
	now                func() time.Time

	mu sync.Mutex // guards w
	w  *world

	fmu     sync.Mutex // guards the fields below
	faults  Faults
	phases  []Phase   // schedule, sorted by After
	schedAt time.Time // when the schedule started
	rng     *rand.Rand
	buckets map[string]*bucket
	stats   SimStats
	revoked map[string]bool
}

// SimPackage is a package as the simulator holds it.
type SimPackage struct {
	ID                   int64
	Label                string
	Item                 string
	Quantity             float64
	UnitOfMeasure        string
	Location             string // "" = none
	Note                 string
	PackagedDate         string // 2006-01-02
	OnHold               bool
	FinishedDate         string // "" = not finished
	ArchivedDate         string // "" = not archived
	SourcePackageLabels  []string
	ReceivedFromManifest string
	LastModified         time.Time
}

// Active reports whether the package is listed by /packages/v2/active.
func (p SimPackage) Active() bool { return p.FinishedDate == "" && p.ArchivedDate == "" }

// SimReceipt is a sales receipt as the simulator holds it.
type SimReceipt struct {
	ID                    int64
	ExternalReceiptNumber string
	SalesDateTime         string // exactly as sent
	SalesCustomerType     string
	Transactions          []SimTransaction
	RecordedDateTime      time.Time
	LastModified          time.Time
}

// SimTransaction is one line of a SimReceipt.
type SimTransaction struct {
	PackageID     int64
	PackageLabel  string
	Quantity      float64
	UnitOfMeasure string
	TotalAmount   float64
}

// SimAdjustment is one entry of a license's package adjustments.
type SimAdjustment struct {
	ID            int64
	PackageID     int64
	PackageLabel  string
	Quantity      float64
	UnitOfMeasure string
	Reason        string
	Note          string
	Date          string // 2006-01-02 as sent
	Recorded      time.Time
}

// SimTransfer is an incoming transfer (one delivery) to a license.
type SimTransfer struct {
	ID             int64
	DeliveryID     int64
	ManifestNumber string
	ShipperLicense string
	ShipperName    string
	Recipient      string // license number
	Created        time.Time
	Received       time.Time // zero = not received
	LastModified   time.Time
	Packages       []SimTransferPackage
}

// SimTransferPackage is one package on a SimTransfer.
type SimTransferPackage struct {
	PackageID     int64
	Label         string
	Item          string
	Quantity      float64
	UnitOfMeasure string
	State         string // Shipped, Accepted, Rejected, Returned
}

// SimTemplate is an outgoing transfer template as posted.
type SimTemplate struct {
	ID      int64
	Name    string
	Body    []byte // the posted JSON object
	Created time.Time
}

// SimStats counts what the simulator answered.
type SimStats struct {
	Requests      map[string]int // "GET 200", "POST 400", ...
	RateLimited   int            // 429s answered
	WritesApplied int            // write requests whose objects were applied
	Dropped       int            // connections closed without an answer
	Hung          int            // requests held until the client gave up
	Failed500     int            // injected 500s
}

// New returns a simulator with the world chosen by o.Seed.
func New(o Options) *Sim {
	s := newSim(o)
	if o.Seed == "demo" {
		seedDemo(s.w, s.now())
	}
	return s
}

func newSim(o Options) *Sim {
	s := &Sim{
		vendorKey:   o.VendorKey,
		userKey:     o.UserKey,
		objectLimit: o.ObjectLimit,
		now:         o.Now,
		w:           newWorld(),
		rng:         rand.New(rand.NewSource(o.RandSeed)),
		buckets:     map[string]*bucket{},
		revoked:     map[string]bool{},
	}
	s.stats.Requests = map[string]int{}
	if s.vendorKey == "" {
		s.vendorKey = DemoVendorKey
	}
	if s.userKey == "" {
		s.userKey = DemoUserKey
	}
	if s.objectLimit <= 0 {
		s.objectLimit = DefaultObjectLimit
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// ServeHTTP answers one Metrc API (or /sim/ control) request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r) }

// AddLicense adds a facility the user has access to (a no-op if it exists).
func (s *Sim) AddLicense(number, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.addLicense(number, name, "")
}

// SetLicenseAccess grants or takes away the user's access to a license:
// without access every call for it answers 401.
func (s *Sim) SetLicenseAccess(license string, allowed bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.revoked[license] = !allowed
}

// AddItem adds an item the license may package; unit must be a known unit
// of measure name (e.g. "Grams", "Each").
func (s *Sim) AddItem(license, name, category, unit string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.addItem(license, name, category, unit, now)
}

// AddLocation adds a location to the license.
func (s *Sim) AddLocation(license, name string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.addLocation(license, name, now)
}

// AddPackage puts a package into the license directly (as if someone had
// worked in Metrc's own screens). A zero ID is assigned; a zero LastModified
// becomes now; PackagedDate defaults to today. A label that exists replaces
// that package (labels are unique across licenses: it moves to license).
func (s *Sim) AddPackage(license string, p SimPackage) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.addPackage(license, p, now)
}

// Package returns the license's package with the label.
func (s *Sim) Package(license, label string) (SimPackage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.w.pkg(license, label)
	if p == nil {
		return SimPackage{}, false
	}
	return clonePackage(*p), true
}

// SetPackageQuantity sets a package's quantity directly.
func (s *Sim) SetPackageQuantity(license, label string, q float64) {
	s.touch(license, label, func(p *SimPackage) { p.Quantity = q })
}

// FinishPackage marks a package finished (today) directly.
func (s *Sim) FinishPackage(license, label string) {
	day := s.now().Format(dateLayout)
	s.touch(license, label, func(p *SimPackage) { p.FinishedDate = day })
}

// SetOnHold puts a package on hold (or releases it) directly; packages on
// hold cannot be sold, adjusted or used as ingredients.
func (s *Sim) SetOnHold(license, label string, on bool) {
	s.touch(license, label, func(p *SimPackage) { p.OnHold = on })
}

func (s *Sim) touch(license, label string, f func(*SimPackage)) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.w.pkg(license, label); p != nil {
		f(p)
		p.LastModified = now
	}
}

// Packages returns the license's packages (active and inactive) by ID.
func (s *Sim) Packages(license string) []SimPackage {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.w.Licenses[license]
	if l == nil {
		return nil
	}
	out := make([]SimPackage, 0, len(l.Packages))
	for _, p := range l.Packages {
		out = append(out, clonePackage(*p))
	}
	return out
}

// Receipts returns the license's sales receipts in the order recorded.
func (s *Sim) Receipts(license string) []SimReceipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.w.Licenses[license]
	if l == nil {
		return nil
	}
	out := make([]SimReceipt, 0, len(l.Receipts))
	for _, r := range l.Receipts {
		c := *r
		c.Transactions = append([]SimTransaction(nil), r.Transactions...)
		out = append(out, c)
	}
	return out
}

// Adjustments returns the license's package adjustments in the order recorded.
func (s *Sim) Adjustments(license string) []SimAdjustment {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.w.Licenses[license]
	if l == nil {
		return nil
	}
	out := make([]SimAdjustment, len(l.Adjustments))
	for i, a := range l.Adjustments {
		out[i] = *a
	}
	return out
}

// Templates returns the license's outgoing transfer templates.
func (s *Sim) Templates(license string) []SimTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.w.Licenses[license]
	if l == nil {
		return nil
	}
	out := make([]SimTemplate, len(l.Templates))
	for i, t := range l.Templates {
		out[i] = *t
		out[i].Body = append([]byte(nil), t.Body...)
	}
	return out
}

// AddTransfer adds an incoming transfer to t.Recipient (IDs, ManifestNumber,
// times are assigned when zero). Accepted packages also become the
// recipient's packages. It returns the stored transfer.
func (s *Sim) AddTransfer(t SimTransfer) SimTransfer {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneTransfer(*s.w.addTransfer(t, now))
}

// Transfers returns the license's incoming transfers.
func (s *Sim) Transfers(license string) []SimTransfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.w.Licenses[license]
	if l == nil {
		return nil
	}
	out := make([]SimTransfer, len(l.Transfers))
	for i, t := range l.Transfers {
		out[i] = cloneTransfer(*t)
	}
	return out
}

// CountReceipts counts the license's receipts with the external number;
// more than one means a duplicate reached "Metrc".
func (s *Sim) CountReceipts(license, external string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if l := s.w.Licenses[license]; l != nil {
		for _, r := range l.Receipts {
			if r.ExternalReceiptNumber == external {
				n++
			}
		}
	}
	return n
}

// CountPackagesByTag counts the license's packages created with the tag
// (more than one means a duplicate create reached "Metrc").
func (s *Sim) CountPackagesByTag(license, tag string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if l := s.w.Licenses[license]; l != nil {
		for _, p := range l.Packages {
			if p.Label == tag {
				n++
			}
		}
	}
	return n
}

// Licenses returns the license numbers of the world, sorted.
func (s *Sim) Licenses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.w.Licenses))
	for n := range s.w.Licenses {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() SimStats {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	c := s.stats
	c.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	return c
}

func clonePackage(p SimPackage) SimPackage {
	p.SourcePackageLabels = append([]string(nil), p.SourcePackageLabels...)
	return p
}

func cloneTransfer(t SimTransfer) SimTransfer {
	t.Packages = append([]SimTransferPackage(nil), t.Packages...)
	return t
}
