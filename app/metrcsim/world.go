package metrcsim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

const dateLayout = "2006-01-02"

// world is everything the simulator knows; it is what Save writes.
type world struct {
	Version  int
	NextID   int64
	Licenses map[string]*license

	labels map[string]string // label -> license number (every license)
}

type license struct {
	Number      string
	Name        string
	Type        string
	FacilityID  int64
	Items       []*simItem
	Locations   []*simLocation
	Packages    []*SimPackage
	Adjustments []*SimAdjustment
	Receipts    []*SimReceipt
	Transfers   []*SimTransfer
	Templates   []*SimTemplate

	byLabel map[string]*SimPackage
}

type simItem struct {
	ID           int64
	Name         string
	Category     string
	Unit         string
	LastModified time.Time
}

type simLocation struct {
	ID           int64
	Name         string
	Type         string
	LastModified time.Time
}

func newWorld() *world {
	return &world{Version: 1, NextID: 1000, Licenses: map[string]*license{}, labels: map[string]string{}}
}

func (w *world) id() int64 {
	w.NextID++
	return w.NextID
}

// reindex rebuilds the lookup maps (after Load).
func (w *world) reindex() {
	w.labels = map[string]string{}
	for n, l := range w.Licenses {
		l.byLabel = map[string]*SimPackage{}
		for _, p := range l.Packages {
			l.byLabel[p.Label] = p
			w.labels[p.Label] = n
		}
	}
}

func (w *world) addLicense(number, name, typ string) *license {
	if l := w.Licenses[number]; l != nil {
		return l
	}
	if typ == "" {
		typ = licenseType(number)
	}
	l := &license{Number: number, Name: name, Type: typ, FacilityID: w.id(), byLabel: map[string]*SimPackage{}}
	w.Licenses[number] = l
	return l
}

// licenseType guesses a California license type from the number's prefix.
func licenseType(number string) string {
	switch {
	case strings.HasPrefix(number, "C10"), strings.HasPrefix(number, "CML"):
		return "Commercial - Retailer"
	case strings.HasPrefix(number, "C11"):
		return "Commercial - Distributor"
	case strings.HasPrefix(number, "C12"):
		return "Commercial - Microbusiness"
	case strings.HasPrefix(number, "CCL"):
		return "Cultivator - Medium Outdoor"
	}
	return "Commercial - Retailer"
}

func (w *world) lic(number string) *license {
	l := w.Licenses[number]
	if l == nil {
		l = w.addLicense(number, number, "")
	}
	return l
}

func (w *world) addItem(lic, name, category, unit string, now time.Time) {
	l := w.lic(lic)
	if l.item(name) != nil {
		return
	}
	l.Items = append(l.Items, &simItem{ID: w.id(), Name: name, Category: category, Unit: unit, LastModified: now})
}

func (w *world) addLocation(lic, name string, now time.Time) {
	l := w.lic(lic)
	if l.location(name) != nil {
		return
	}
	l.Locations = append(l.Locations, &simLocation{ID: w.id(), Name: name, Type: "Default", LastModified: now})
}

func (w *world) addPackage(lic string, p SimPackage, now time.Time) *SimPackage {
	l := w.lic(lic)
	p = clonePackage(p)
	if p.ID == 0 {
		p.ID = w.id()
	} else if p.ID > w.NextID {
		w.NextID = p.ID
	}
	if p.LastModified.IsZero() {
		p.LastModified = now
	}
	if p.PackagedDate == "" {
		p.PackagedDate = now.Format(dateLayout)
	}
	if old := l.byLabel[p.Label]; old != nil {
		*old = p
		return old
	}
	if prev := w.labels[p.Label]; prev != "" && prev != lic {
		w.Licenses[prev].remove(p.Label) // labels are unique: the package moved
	}
	np := &p
	l.Packages = append(l.Packages, np)
	l.byLabel[p.Label] = np
	w.labels[p.Label] = lic
	return np
}

func (w *world) pkg(lic, label string) *SimPackage {
	if l := w.Licenses[lic]; l != nil {
		return l.byLabel[label]
	}
	return nil
}

func (w *world) addTransfer(t SimTransfer, now time.Time) *SimTransfer {
	l := w.lic(t.Recipient)
	t = cloneTransfer(t)
	if t.ID == 0 {
		t.ID = w.id()
	}
	if t.DeliveryID == 0 {
		t.DeliveryID = w.id()
	}
	if t.ManifestNumber == "" {
		t.ManifestNumber = fmt.Sprintf("%010d", t.ID)
	}
	if t.Created.IsZero() {
		t.Created = now
	}
	if t.LastModified.IsZero() {
		t.LastModified = now
	}
	for i := range t.Packages {
		tp := &t.Packages[i]
		if tp.PackageID == 0 {
			tp.PackageID = w.id()
		}
		if tp.State == "" {
			tp.State = "Shipped"
		}
		if tp.State == "Accepted" && l.byLabel[tp.Label] == nil {
			w.addPackage(t.Recipient, SimPackage{
				ID: tp.PackageID, Label: tp.Label, Item: tp.Item, Quantity: tp.Quantity,
				UnitOfMeasure: tp.UnitOfMeasure, PackagedDate: t.Created.Format(dateLayout),
				ReceivedFromManifest: t.ManifestNumber, LastModified: t.LastModified,
			}, now)
		}
	}
	nt := &t
	l.Transfers = append(l.Transfers, nt)
	return nt
}

func (l *license) remove(label string) {
	for i, p := range l.Packages {
		if p.Label == label {
			l.Packages = append(l.Packages[:i:i], l.Packages[i+1:]...)
			break
		}
	}
	delete(l.byLabel, label)
}

func (l *license) item(name string) *simItem {
	for _, it := range l.Items {
		if strings.EqualFold(it.Name, name) {
			return it
		}
	}
	return nil
}

func (l *license) location(name string) *simLocation {
	for _, lo := range l.Locations {
		if strings.EqualFold(lo.Name, name) {
			return lo
		}
	}
	return nil
}

// unit is a unit of measure and its size in its kind's base unit.
type unit struct {
	Name, Abbrev, Kind string // Kind: CountBased, WeightBased, VolumeBased
	base               float64
}

// units are Metrc's active units of measure (the doc example's list plus
// volume units).
var units = []unit{
	{"Each", "ea", "CountBased", 1},
	{"Fluid Ounces", "fl oz", "VolumeBased", 29.5735},
	{"Gallons", "gal", "VolumeBased", 3785.41},
	{"Grams", "g", "WeightBased", 1},
	{"Kilograms", "kg", "WeightBased", 1000},
	{"Liters", "l", "VolumeBased", 1000},
	{"Milligrams", "mg", "WeightBased", 0.001},
	{"Milliliters", "ml", "VolumeBased", 1},
	{"Ounces", "oz", "WeightBased", 28.349523125},
	{"Pints", "pt", "VolumeBased", 473.176},
	{"Pounds", "lb", "WeightBased", 453.59237},
	{"Quarts", "qt", "VolumeBased", 946.353},
}

func findUnit(name string) (unit, bool) {
	for _, u := range units {
		if strings.EqualFold(u.Name, name) || strings.EqualFold(u.Abbrev, name) {
			return u, true
		}
	}
	return unit{}, false
}

// convert expresses q of unit from in unit to; ok is false across kinds.
func convert(q float64, from, to string) (float64, bool) {
	if strings.EqualFold(from, to) {
		return q, true
	}
	f, ok1 := findUnit(from)
	t, ok2 := findUnit(to)
	if !ok1 || !ok2 || f.Kind != t.Kind {
		return 0, false
	}
	return round(q * f.base / t.base), true
}

// round keeps quantities to Metrc's precision and avoids float dust.
func round(q float64) float64 { return math.Round(q*1e6) / 1e6 }

// maxQuantity bounds the quantities the simulator accepts.
const maxQuantity = 1e9
