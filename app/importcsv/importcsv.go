// Package importcsv reads a day of sales receipts or assemblies from a CSV
// file (DESIGN.md "Command line") and turns it into queued jobs.
//
// The whole file is validated before anything is returned as work: headers,
// required fields, numbers, dates, labels, units and items known for the
// license, rows of one receipt or one package agreeing with each other. Every
// problem is listed with its line number; a caller enqueues nothing when there
// is any. Quantities drawn from local inventory are checked too, but only as
// warnings: Metrc has the last word on quantities.
package importcsv

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tracesync/app"
)

// Kind is what a file holds.
type Kind int

// The kinds of CSV files.
const (
	Receipts Kind = iota + 1
	Assemblies
)

func (k Kind) String() string {
	switch k {
	case Receipts:
		return "receipts"
	case Assemblies:
		return "assemblies"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind reads "receipts" or "assemblies".
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "receipts":
		return Receipts, nil
	case "assemblies":
		return Assemblies, nil
	}
	return 0, fmt.Errorf("unknown import kind %q (want receipts or assemblies)", s)
}

// Columns lists each kind's headers: Metrc's field names.
var Columns = map[Kind][]string{
	Receipts:   {"LicenseNumber", "ExternalReceiptNumber", "SalesDateTime", "SalesCustomerType", "PackageLabel", "Quantity", "UnitOfMeasure", "TotalAmount"},
	Assemblies: {"LicenseNumber", "Tag", "Item", "Quantity", "UnitOfMeasure", "Location", "ActualDate", "IngredientPackage", "IngredientQuantity", "IngredientUnitOfMeasure"},
}

// optional columns may be absent from the header or empty in a row.
var optional = map[string]bool{"location": true, "totalamount": true}

// Lookup is what the import knows of the licenses tracesync syncs. A nil
// Lookup accepts every license, in UTC, and checks no units, items or
// inventory.
type Lookup interface {
	// License returns a license tracesync syncs; false when it syncs no such license.
	License(number string) (app.License, bool)
	// RefData returns the items, locations and units of the license's last
	// pull; false when there has been none (then they are not checked).
	RefData(license string) (app.RefData, bool)
	// Package returns the local record of a label; false when unknown.
	Package(license, label string) (app.Package, bool)
}

// Problem is one finding, with the file's line number (1 = the header; 0 =
// the whole file).
type Problem struct {
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Result is a parsed file. Any Problems mean nothing may be enqueued.
type Result struct {
	Kind     Kind
	Rows     int // data rows read
	Jobs     []app.Job
	Problems []Problem
	Warnings []Problem
	// MoreProblems counts problems left out of Problems to keep it readable.
	MoreProblems int
}

// MaxProblems is how many problems Result lists; the rest are counted.
const MaxProblems = 1000

// ErrTooLarge is returned for a file over MaxBytes.
var ErrTooLarge = errors.New("file too large")

// MaxBytes bounds what Parse reads (a day of sales is far smaller).
const MaxBytes = 512 << 20

// customerTypes are Metrc's SalesCustomerType values.
var customerTypes = []string{"Consumer", "Patient", "Caregiver", "ExternalPatient"}

// Parse reads a whole CSV file of the given kind. now is the jobs' creation
// time and bounds business dates (none may be in the future); progress, when
// not nil, is called every few thousand rows and at the end. The error is
// only for failures to read; bad content is reported in Result.Problems.
func Parse(r io.Reader, kind Kind, lookup Lookup, now time.Time, progress func(rows int)) (Result, error) {
	if _, ok := Columns[kind]; !ok {
		return Result{}, fmt.Errorf("parse csv: unknown kind %d", int(kind))
	}
	p := &parser{kind: kind, lookup: lookup, now: now, res: Result{Kind: kind}}
	p.lic = map[string]licInfo{}
	lr := &limitReader{r: r, n: MaxBytes}
	br := bufio.NewReaderSize(lr, 64<<10)
	// A byte-order mark is not part of the first header.
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if err := p.header(cr); err != nil {
		if lr.over {
			return p.res, ErrTooLarge
		}
		return p.res, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.problem(pe.Line, fmt.Sprintf("not valid CSV: %v", pe.Err))
				continue
			}
			if lr.over {
				return p.res, ErrTooLarge
			}
			return p.res, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		p.res.Rows++
		if progress != nil && p.res.Rows%5000 == 0 {
			progress(p.res.Rows)
		}
		if len(rec) != len(p.cols) {
			p.problem(line, fmt.Sprintf("has %d fields, the header has %d", len(rec), len(p.cols)))
			continue
		}
		switch kind {
		case Receipts:
			p.receiptRow(line, rec)
		case Assemblies:
			p.assemblyRow(line, rec)
		}
	}
	if p.res.Rows == 0 && len(p.res.Problems) == 0 {
		p.problem(0, "the file has no data rows")
	}
	p.finish()
	if progress != nil {
		progress(p.res.Rows)
	}
	return p.res, nil
}

type licInfo struct {
	ok     bool
	loc    *time.Location
	ref    app.RefData
	hasRef bool
	units  map[string]string // lower name or abbreviation -> Metrc name
	items  map[string]app.Item
	locs   map[string]string
}

type parser struct {
	kind   Kind
	lookup Lookup
	now    time.Time
	res    Result

	cols []string       // canonical lower-case name per column index ("" = unknown)
	idx  map[string]int // lower-case name -> column index

	lic map[string]licInfo

	receipts map[string]*receipt // license + "\x00" + external
	packages map[string]*assembly
	order    []string

	draws map[drawKey]*draw // inventory drawn, for warnings
}

type receipt struct {
	line    int
	license string
	when    time.Time
	whenRaw string
	ctype   string
	r       app.SalesReceipt
	bad     bool
}

type assembly struct {
	line     int
	license  string
	when     time.Time
	whenRaw  string
	p        app.PackageCreate
	qtyRaw   string
	bad      bool
	ingLines map[string]int
}

type drawKey struct{ license, label string }

type draw struct {
	line int
	qty  float64
	unit string
}

func (p *parser) problem(line int, msg string) {
	if len(p.res.Problems) >= MaxProblems {
		p.res.MoreProblems++
		return
	}
	p.res.Problems = append(p.res.Problems, Problem{Line: line, Msg: msg})
}

func (p *parser) warn(line int, msg string) {
	if len(p.res.Warnings) >= MaxProblems {
		return
	}
	p.res.Warnings = append(p.res.Warnings, Problem{Line: line, Msg: msg})
}

func (p *parser) header(cr *csv.Reader) error {
	rec, err := cr.Read()
	if err == io.EOF {
		p.problem(0, "the file is empty: the first line must name the columns")
		return nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.problem(pe.Line, fmt.Sprintf("header is not valid CSV: %v", pe.Err))
			return nil
		}
		return fmt.Errorf("read csv header: %w", err)
	}
	want := map[string]string{}
	for _, c := range Columns[p.kind] {
		want[strings.ToLower(c)] = c
	}
	p.idx = map[string]int{}
	p.cols = make([]string, len(rec))
	for i, h := range rec {
		h = strings.TrimSpace(h)
		lh := strings.ToLower(h)
		if _, ok := want[lh]; !ok {
			if h == "" {
				p.warn(1, fmt.Sprintf("column %d has no name: ignored", i+1))
			} else {
				p.warn(1, fmt.Sprintf("unknown column %q: ignored", h))
			}
			continue
		}
		if _, dup := p.idx[lh]; dup {
			p.problem(1, fmt.Sprintf("column %s appears twice", want[lh]))
			continue
		}
		p.idx[lh] = i
		p.cols[i] = lh
	}
	var missing []string
	for _, c := range Columns[p.kind] {
		if _, ok := p.idx[strings.ToLower(c)]; !ok && !optional[strings.ToLower(c)] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		p.problem(1, fmt.Sprintf("missing column(s) %s; a %s file needs %s", strings.Join(missing, ", "), p.kind, strings.Join(Columns[p.kind], ",")))
	}
	return nil
}

// stop reports whether the header was unusable, so rows are not checked.
func (p *parser) stop() bool {
	return p.cols == nil || len(p.res.Problems) > 0 && p.res.Problems[0].Line <= 1
}

func (p *parser) field(rec []string, name string) string {
	i, ok := p.idx[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// license checks a row's license number and returns what is known of it.
func (p *parser) license(line int, num string) (licInfo, bool) {
	if num == "" {
		p.problem(line, "LicenseNumber is empty")
		return licInfo{}, false
	}
	li, seen := p.lic[num]
	if !seen {
		li = licInfo{ok: true, loc: time.UTC}
		if p.lookup != nil {
			l, ok := p.lookup.License(num)
			li.ok = ok
			if ok {
				li.loc = l.Location()
				if rd, ok := p.lookup.RefData(num); ok {
					li.hasRef = true
					li.ref = rd
					li.units = map[string]string{}
					for _, u := range rd.Units {
						li.units[strings.ToLower(u.Name)] = u.Name
						if u.Abbreviation != "" {
							li.units[strings.ToLower(u.Abbreviation)] = u.Name
						}
					}
					li.items = map[string]app.Item{}
					for _, it := range rd.Items {
						li.items[strings.ToLower(it.Name)] = it
					}
					li.locs = map[string]string{}
					for _, l := range rd.Locations {
						li.locs[strings.ToLower(l.Name)] = l.Name
					}
				}
			}
		}
		p.lic[num] = li
	}
	if !li.ok {
		p.problem(line, fmt.Sprintf("license %s is not one tracesync syncs", num))
		return li, false
	}
	return li, true
}

// unit checks a unit of measure against the license's last pull and returns
// Metrc's spelling.
func (p *parser) unit(line int, li licInfo, col, u string) (string, bool) {
	if u == "" {
		p.problem(line, col+" is empty")
		return "", false
	}
	if !li.hasRef || len(li.units) == 0 {
		return u, true
	}
	if name, ok := li.units[strings.ToLower(u)]; ok {
		return name, true
	}
	p.problem(line, fmt.Sprintf("%s %q is not a unit Metrc knows", col, u))
	return "", false
}

func (p *parser) quantity(line int, col, s string, allowZero bool) (float64, bool) {
	if s == "" {
		p.problem(line, col+" is empty")
		return 0, false
	}
	q, err := parseNumber(s)
	if err != nil {
		p.problem(line, fmt.Sprintf("%s %q is not a number", col, s))
		return 0, false
	}
	if q < 0 || (q == 0 && !allowZero) {
		p.problem(line, fmt.Sprintf("%s must be more than zero, not %s", col, s))
		return 0, false
	}
	return q, true
}

func (p *parser) label(line int, col, s string) (string, bool) {
	if s == "" {
		p.problem(line, col+" is empty")
		return "", false
	}
	if err := checkLabel(s); err != nil {
		p.problem(line, fmt.Sprintf("%s %q %v", col, s, err))
		return "", false
	}
	return strings.ToUpper(s), true
}

// checkLabel accepts Metrc's 24-character tags and labels.
func checkLabel(s string) error {
	if n := utf8.RuneCountInString(s); n != 24 {
		return fmt.Errorf("is %d characters long; Metrc labels have 24", n)
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return fmt.Errorf("has %q; Metrc labels have only letters and digits", c)
		}
	}
	return nil
}

func (p *parser) date(line int, li licInfo, col, s string) (time.Time, bool) {
	if s == "" {
		p.problem(line, col+" is empty")
		return time.Time{}, false
	}
	t, dateOnly, err := ParseTime(s, li.loc)
	if err != nil {
		p.problem(line, fmt.Sprintf("%s %q is not a date (use 2006-01-02T15:04:05, 2006-01-02 15:04:05, 1/2/2006 3:04 PM, 2006-01-02 or 1/2/2006)", col, s))
		return time.Time{}, false
	}
	limit := p.now
	if dateOnly {
		y, m, d := p.now.In(li.loc).Date()
		limit = time.Date(y, m, d, 23, 59, 59, 0, li.loc)
	}
	if !p.now.IsZero() && t.After(limit.Add(time.Minute)) {
		p.problem(line, fmt.Sprintf("%s %s is in the future", col, s))
		return time.Time{}, false
	}
	return t, true
}

func (p *parser) receiptRow(line int, rec []string) {
	if p.stop() {
		return
	}
	if p.receipts == nil {
		p.receipts = map[string]*receipt{}
	}
	before := len(p.res.Problems) + p.res.MoreProblems
	num := p.field(rec, "licensenumber")
	li, licOK := p.license(line, num)
	ext := p.field(rec, "externalreceiptnumber")
	if ext == "" {
		p.problem(line, "ExternalReceiptNumber is empty")
	} else if len(ext) > 100 {
		p.problem(line, "ExternalReceiptNumber is longer than 100 characters")
	}
	whenRaw := p.field(rec, "salesdatetime")
	var when time.Time
	if licOK {
		when, _ = p.date(line, li, "SalesDateTime", whenRaw)
	}
	ctypeRaw := p.field(rec, "salescustomertype")
	ctype := ""
	if ctypeRaw == "" {
		p.problem(line, "SalesCustomerType is empty")
	} else {
		for _, c := range customerTypes {
			if strings.EqualFold(c, ctypeRaw) {
				ctype = c
			}
		}
		if ctype == "" {
			p.problem(line, fmt.Sprintf("SalesCustomerType %q is not one of %s", ctypeRaw, strings.Join(customerTypes, ", ")))
		}
	}
	label, labelOK := p.label(line, "PackageLabel", p.field(rec, "packagelabel"))
	qty, qtyOK := p.quantity(line, "Quantity", p.field(rec, "quantity"), false)
	unit := ""
	if licOK {
		unit, _ = p.unit(line, li, "UnitOfMeasure", p.field(rec, "unitofmeasure"))
	}
	amount := 0.0
	if s := p.field(rec, "totalamount"); s != "" {
		amount, _ = p.quantity(line, "TotalAmount", strings.TrimPrefix(s, "$"), true)
	}
	ok := len(p.res.Problems)+p.res.MoreProblems == before
	if !licOK || ext == "" {
		return
	}
	key := num + "\x00" + ext
	r := p.receipts[key]
	if r == nil {
		r = &receipt{line: line, license: num, when: when, whenRaw: whenRaw, ctype: ctype}
		r.r.ExternalReceiptNumber = ext
		r.r.SalesCustomerType = ctype
		p.receipts[key] = r
		p.order = append(p.order, key)
	} else {
		if !when.IsZero() && !r.when.IsZero() && !when.Equal(r.when) {
			p.problem(line, fmt.Sprintf("receipt %s has SalesDateTime %s here but %s on line %d", ext, whenRaw, r.whenRaw, r.line))
			ok = false
		}
		if ctype != "" && r.ctype != "" && ctype != r.ctype {
			p.problem(line, fmt.Sprintf("receipt %s has SalesCustomerType %s here but %s on line %d", ext, ctype, r.ctype, r.line))
			ok = false
		}
	}
	if !ok {
		r.bad = true
		return
	}
	r.r.Transactions = append(r.r.Transactions, app.SalesTransaction{PackageLabel: label, Quantity: qty, UnitOfMeasure: unit, TotalAmount: amount})
	if labelOK && qtyOK {
		p.addDraw(line, num, label, qty, unit)
	}
}

func (p *parser) assemblyRow(line int, rec []string) {
	if p.stop() {
		return
	}
	if p.packages == nil {
		p.packages = map[string]*assembly{}
	}
	before := len(p.res.Problems) + p.res.MoreProblems
	num := p.field(rec, "licensenumber")
	li, licOK := p.license(line, num)
	tag, tagOK := p.label(line, "Tag", p.field(rec, "tag"))
	item := p.field(rec, "item")
	if item == "" {
		p.problem(line, "Item is empty")
	} else if licOK && li.hasRef && len(li.items) > 0 {
		if it, ok := li.items[strings.ToLower(item)]; ok {
			item = it.Name
		} else {
			p.problem(line, fmt.Sprintf("Item %q is not an item of license %s in Metrc", item, num))
		}
	}
	qtyRaw := p.field(rec, "quantity")
	qty, _ := p.quantity(line, "Quantity", qtyRaw, false)
	unit := ""
	if licOK {
		unit, _ = p.unit(line, li, "UnitOfMeasure", p.field(rec, "unitofmeasure"))
	}
	location := p.field(rec, "location")
	if location != "" && licOK && li.hasRef && len(li.locs) > 0 {
		if l, ok := li.locs[strings.ToLower(location)]; ok {
			location = l
		} else {
			p.problem(line, fmt.Sprintf("Location %q is not a location of license %s in Metrc", location, num))
		}
	}
	whenRaw := p.field(rec, "actualdate")
	var when time.Time
	if licOK {
		when, _ = p.date(line, li, "ActualDate", whenRaw)
	}
	ing, ingOK := p.label(line, "IngredientPackage", p.field(rec, "ingredientpackage"))
	iqty, iqtyOK := p.quantity(line, "IngredientQuantity", p.field(rec, "ingredientquantity"), false)
	iunit := ""
	if licOK {
		iunit, _ = p.unit(line, li, "IngredientUnitOfMeasure", p.field(rec, "ingredientunitofmeasure"))
	}
	if tagOK && ingOK && tag == ing {
		p.problem(line, fmt.Sprintf("package %s cannot be its own ingredient", tag))
	}
	ok := len(p.res.Problems)+p.res.MoreProblems == before
	if !tagOK {
		return
	}
	a := p.packages[tag]
	if a == nil {
		a = &assembly{line: line, license: num, when: when, whenRaw: whenRaw, qtyRaw: qtyRaw, ingLines: map[string]int{}}
		a.p = app.PackageCreate{Tag: tag, Location: location, Item: item, Quantity: qty, UnitOfMeasure: unit}
		p.packages[tag] = a
		p.order = append(p.order, tag)
	} else {
		differ := func(what, here, there string) {
			p.problem(line, fmt.Sprintf("package %s has %s %s here but %s on line %d", tag, what, quoteEmpty(here), quoteEmpty(there), a.line))
			ok = false
		}
		switch {
		case num != a.license:
			differ("LicenseNumber", num, a.license)
		case !strings.EqualFold(item, a.p.Item):
			differ("Item", item, a.p.Item)
		case qty != a.p.Quantity:
			differ("Quantity", qtyRaw, a.qtyRaw)
		case !strings.EqualFold(unit, a.p.UnitOfMeasure):
			differ("UnitOfMeasure", unit, a.p.UnitOfMeasure)
		case !strings.EqualFold(location, a.p.Location):
			differ("Location", location, a.p.Location)
		case !when.Equal(a.when):
			differ("ActualDate", whenRaw, a.whenRaw)
		}
	}
	if ingOK {
		if first, dup := a.ingLines[ing]; dup {
			p.problem(line, fmt.Sprintf("ingredient %s of package %s is already listed on line %d", ing, tag, first))
			ok = false
		} else {
			a.ingLines[ing] = line
		}
	}
	if !ok {
		a.bad = true
		return
	}
	a.p.Ingredients = append(a.p.Ingredients, app.Ingredient{Package: ing, Quantity: iqty, UnitOfMeasure: iunit})
	if ingOK && iqtyOK {
		p.addDraw(line, num, ing, iqty, iunit)
	}
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func (p *parser) addDraw(line int, license, label string, qty float64, unit string) {
	if p.draws == nil {
		p.draws = map[drawKey]*draw{}
	}
	k := drawKey{license, label}
	d := p.draws[k]
	if d == nil {
		p.draws[k] = &draw{line: line, qty: qty, unit: unit}
		return
	}
	d.qty += qty
}

// finish builds the jobs and checks inventory, unless there were problems.
func (p *parser) finish() {
	if len(p.res.Problems) > 0 || p.res.MoreProblems > 0 {
		return
	}
	// Assembly tags must not already exist locally (Metrc would refuse).
	for _, key := range p.order {
		if p.kind != Assemblies {
			break
		}
		a := p.packages[key]
		if p.lookup != nil {
			if pk, ok := p.lookup.Package(a.license, a.p.Tag); ok && pk.Metrc != nil {
				p.problem(a.line, fmt.Sprintf("tag %s is already a package in Metrc", a.p.Tag))
			}
		}
	}
	if len(p.res.Problems) > 0 {
		return
	}
	p.inventoryWarnings()
	p.res.Jobs = make([]app.Job, 0, len(p.order))
	for _, key := range p.order {
		var (
			j   app.Job
			err error
		)
		switch p.kind {
		case Receipts:
			r := p.receipts[key]
			j, err = app.NewReceiptJob(r.license, p.lic[r.license].loc, r.r, r.when, p.now)
			if err != nil {
				p.problem(r.line, err.Error())
			}
		case Assemblies:
			a := p.packages[key]
			j, err = app.NewAssemblyJob(a.license, p.lic[a.license].loc, a.p, a.when, p.now)
			if err != nil {
				p.problem(a.line, err.Error())
			}
		}
		if err == nil {
			p.res.Jobs = append(p.res.Jobs, j)
		}
	}
	if len(p.res.Problems) > 0 {
		p.res.Jobs = nil
	}
}

// inventoryWarnings compares what the file draws from each package with the
// local inventory. Metrc has the last word, so these are warnings only —
// except a package on hold, on which no new work may be queued (a problem).
func (p *parser) inventoryWarnings() {
	if p.lookup == nil {
		return
	}
	keys := make([]drawKey, 0, len(p.draws))
	for k := range p.draws {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return p.draws[keys[i]].line < p.draws[keys[j]].line })
	made := map[string]bool{}
	for _, a := range p.packages {
		made[a.license+"\x00"+a.p.Tag] = true
	}
	for _, k := range keys {
		d := p.draws[k]
		if made[k.license+"\x00"+k.label] {
			continue // made by this file
		}
		pk, ok := p.lookup.Package(k.license, k.label)
		if !ok {
			p.warn(d.line, fmt.Sprintf("package %s is not in the local inventory of %s", k.label, k.license))
			continue
		}
		st := pk.Local
		if st == nil {
			st = pk.Metrc
		}
		if st == nil {
			p.warn(d.line, fmt.Sprintf("package %s is not in the local inventory of %s", k.label, k.license))
			continue
		}
		if st.Finished {
			p.warn(d.line, fmt.Sprintf("package %s is finished", k.label))
		}
		if err := app.CheckWritable(pk); err != nil {
			// Metrc refuses work on a held package: block it here, clearly,
			// instead of a 400 hours later (reconcile rules, "on hold").
			p.problem(d.line, err.Error())
		}
		if st.Unit != "" && d.unit != "" && !strings.EqualFold(st.Unit, d.unit) {
			p.warn(d.line, fmt.Sprintf("package %s is counted in %s, the file uses %s", k.label, st.Unit, d.unit))
			continue
		}
		if d.qty > st.Quantity+1e-9 {
			p.warn(d.line, fmt.Sprintf("the file takes %s %s from package %s, which has %s", fmtNum(d.qty), d.unit, k.label, fmtNum(st.Quantity)))
		}
	}
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// parseNumber reads a decimal number, allowing thousands separators.
func parseNumber(s string) (float64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return 0, fmt.Errorf("out of range")
	}
	return f, nil
}

var timeLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"1/2/2006 3:04 PM",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04", // what Excel writes for a date-time cell
	"1/2/2006 15:04:05",
}

var dateLayouts = []string{"2006-01-02", "1/2/2006"}

// ParseTime reads the accepted date layouts in loc; dateOnly is true when
// no time of day was given (then it is midnight).
func ParseTime(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, strings.ToUpper(s), loc); err == nil {
			return t, false, nil
		}
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("not a date: %q", s)
}

type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}

// StoreLookup answers Lookup from the licenses tracesync syncs and the
// store's last pull and local inventory.
type StoreLookup struct {
	Licenses []app.License
	Store    app.PackageStore
	// Any accepts licenses not in Licenses (nothing synced yet), in Zone
	// (an IANA name; "" = UTC).
	Any  bool
	Zone string
}

// License implements Lookup.
func (s StoreLookup) License(number string) (app.License, bool) {
	for _, l := range s.Licenses {
		if l.Number == number {
			return l, true
		}
	}
	if s.Any {
		return app.License{Number: number, TimeZone: s.Zone}, true
	}
	return app.License{}, false
}

// RefData implements Lookup.
func (s StoreLookup) RefData(license string) (app.RefData, bool) {
	if s.Store == nil {
		return app.RefData{}, false
	}
	rd, err := s.Store.RefData(license)
	if err != nil || rd.Pulled.IsZero() && len(rd.Units) == 0 && len(rd.Items) == 0 {
		return app.RefData{}, false
	}
	return rd, true
}

// Package implements Lookup.
func (s StoreLookup) Package(license, label string) (app.Package, bool) {
	if s.Store == nil {
		return app.Package{}, false
	}
	p, err := s.Store.Package(license, label)
	if err != nil {
		return app.Package{}, false
	}
	return p, true
}
