package metrcsim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds a write request's body.
const maxBody = 8 << 20

// applyFn validates every object of a write against l (with s.mu held) and,
// only when none has a problem, applies them all. It returns the new
// records' IDs or the problems.
type applyFn func(l *license, raw []json.RawMessage, now time.Time) (ids []int64, rows []rowError)

// write answers a write request: a JSON array of at most objectLimit
// objects, all validated before any is applied.
func (s *Sim) write(x *req, fn applyFn) {
	body, err := io.ReadAll(io.LimitReader(x.r.Body, maxBody))
	if err != nil {
		return // the client went away
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		s.message(x, http.StatusBadRequest, "The request body must be a JSON array of objects.")
		return
	}
	if len(raw) == 0 {
		s.message(x, http.StatusBadRequest, "No data was submitted.")
		return
	}
	if len(raw) > s.objectLimit {
		s.message(x, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Object Limiting: a request may contain at most %d objects; %d were submitted.", s.objectLimit, len(raw)))
		return
	}
	s.mu.Lock()
	ids, rows := fn(s.w.Licenses[x.lic], raw, x.now)
	s.mu.Unlock()
	if len(rows) > 0 {
		s.json(x, http.StatusBadRequest, rows)
		return
	}
	s.fmu.Lock()
	s.stats.WritesApplied++
	drop := s.chanceLocked(x.faults.DropAfterApply)
	s.fmu.Unlock()
	if drop {
		s.drop(x.w)
		return
	}
	if x.r.Method == http.MethodPut {
		s.empty(x)
		return
	}
	if ids == nil {
		ids = []int64{}
	}
	s.json(x, http.StatusOK, struct {
		Ids      []int64
		Warnings []string
	}{ids, nil})
}

// decodeRows decodes each object; undecodable ones become row problems.
func decodeRows[T any](raw []json.RawMessage) ([]T, []rowError) {
	out := make([]T, len(raw))
	var rows []rowError
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			rows = append(rows, rowError{i, fmt.Sprintf("The object could not be read: %v.", err)})
		}
	}
	return out, rows
}

// ledger tracks what earlier objects of the same request would change, so
// each object is validated against the state its predecessors leave.
type ledger struct {
	l      *license
	qty    map[string]float64 // label -> quantity left, in the package's unit
	tags   map[string]bool    // tags created by this request
	finish map[string]bool    // labels finished by this request
	w      *world
}

func newLedger(w *world, l *license) *ledger {
	return &ledger{l: l, w: w, qty: map[string]float64{}, tags: map[string]bool{}, finish: map[string]bool{}}
}

func (g *ledger) left(p *SimPackage) float64 {
	if q, ok := g.qty[p.Label]; ok {
		return q
	}
	return p.Quantity
}

// take finds an active package of the license able to give quantity q in
// unit u (a negative q adds); it returns the amount in the package's unit
// or a problem.
func (g *ledger) take(label string, q float64, u string, add bool) (*SimPackage, float64, string) {
	p := g.l.byLabel[label]
	switch {
	case label == "":
		return nil, 0, "Package label is required."
	case p == nil:
		return nil, 0, fmt.Sprintf("Package %s could not be found.", label)
	case !p.Active() || g.finish[label]:
		return nil, 0, fmt.Sprintf("Package %s is finished and cannot be changed.", label)
	case p.OnHold:
		return nil, 0, fmt.Sprintf("Package %s is on hold.", label)
	}
	if _, ok := findUnit(u); !ok {
		return nil, 0, fmt.Sprintf("Unit of Measure %q could not be found.", u)
	}
	if math.Abs(q) > maxQuantity {
		return nil, 0, fmt.Sprintf("The quantity for Package %s is too large.", label)
	}
	amt, ok := convert(q, u, p.UnitOfMeasure)
	if !ok {
		return nil, 0, fmt.Sprintf("Unit of Measure %s cannot be used with Package %s, which is measured in %s.", u, label, p.UnitOfMeasure)
	}
	if !add && amt <= 0 {
		return nil, 0, fmt.Sprintf("The quantity for Package %s must be greater than zero.", label)
	}
	delta := -amt
	if add {
		delta = amt
	}
	after := round(g.left(p) + delta)
	if after < 0 {
		return nil, 0, fmt.Sprintf("Package %s has insufficient quantity: %g %s available, %g %s requested.",
			label, g.left(p), p.UnitOfMeasure, math.Abs(amt), p.UnitOfMeasure)
	}
	g.qty[label] = after
	return p, amt, ""
}

// commit writes the ledger's quantities into the packages.
func (g *ledger) commit(now time.Time) {
	for label, q := range g.qty {
		p := g.l.byLabel[label]
		p.Quantity = q
		p.LastModified = now
	}
}

func validDate(d string) bool {
	_, err := parseTime(d, time.UTC)
	return err == nil
}

type createPackage struct {
	Tag           string
	Location      string
	Item          string
	Quantity      float64
	UnitOfMeasure string
	Note          string
	UseSameItem   bool
	ActualDate    string
	Ingredients   []struct {
		Package       string
		Quantity      float64
		UnitOfMeasure string
	}
}

// createPackages is POST /packages/v2: new packages from ingredients.
func (s *Sim) createPackages(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[createPackage](raw)
	if rows != nil {
		return nil, rows
	}
	g := newLedger(s.w, l)
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i := range objs {
		o := &objs[i]
		switch {
		case o.Tag == "":
			bad(i, "Package Tag is required.")
		case s.w.labels[o.Tag] != "" || g.tags[o.Tag]:
			bad(i, "Package Tag %s is already in use.", o.Tag)
		}
		g.tags[o.Tag] = true
		if o.UseSameItem && o.Item == "" && len(o.Ingredients) > 0 {
			if p := l.byLabel[o.Ingredients[0].Package]; p != nil {
				o.Item = p.Item
			}
		}
		it := l.item(o.Item)
		if it == nil {
			bad(i, "Item %q could not be found.", o.Item)
		}
		u, uok := findUnit(o.UnitOfMeasure)
		if !uok {
			bad(i, "Unit of Measure %q could not be found.", o.UnitOfMeasure)
		} else if it != nil {
			if iu, _ := findUnit(it.Unit); iu.Kind != u.Kind {
				bad(i, "Unit of Measure %s cannot be used with Item %s (%s).", u.Name, it.Name, iu.Kind)
			}
		}
		if o.Quantity <= 0 || o.Quantity > maxQuantity {
			bad(i, "Quantity must be greater than zero and at most %g.", float64(maxQuantity))
		}
		if o.Location != "" && l.location(o.Location) == nil {
			bad(i, "Location %q could not be found.", o.Location)
		}
		if !validDate(o.ActualDate) {
			bad(i, "ActualDate %q is not a valid date.", o.ActualDate)
		}
		if len(o.Ingredients) == 0 {
			bad(i, "At least one ingredient package is required.")
		}
		for _, in := range o.Ingredients {
			if _, _, msg := g.take(in.Package, in.Quantity, in.UnitOfMeasure, false); msg != "" {
				bad(i, "Ingredient: %s", msg)
			}
		}
	}
	if rows != nil {
		return nil, rows
	}
	g.commit(now)
	ids := make([]int64, 0, len(objs))
	for _, o := range objs {
		p := SimPackage{
			Label: o.Tag, Item: l.item(o.Item).Name, Quantity: round(o.Quantity), UnitOfMeasure: canonicalUnit(o.UnitOfMeasure),
			Note: o.Note, PackagedDate: o.ActualDate[:min(len(o.ActualDate), len(dateLayout))], LastModified: now,
		}
		if lo := l.location(o.Location); lo != nil {
			p.Location = lo.Name
		}
		for _, in := range o.Ingredients {
			p.SourcePackageLabels = append(p.SourcePackageLabels, in.Package)
		}
		ids = append(ids, s.w.addPackage(l.Number, p, now).ID)
	}
	return ids, nil
}

func canonicalUnit(n string) string {
	if u, ok := findUnit(n); ok {
		return u.Name
	}
	return n
}

type adjustPackage struct {
	Label            string
	Quantity         float64
	UnitOfMeasure    string
	AdjustmentReason string
	AdjustmentDate   string
	ReasonNote       string
}

// adjustPackages is POST /packages/v2/adjust: signed quantity changes.
func (s *Sim) adjustPackages(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[adjustPackage](raw)
	if rows != nil {
		return nil, rows
	}
	g := newLedger(s.w, l)
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i, o := range objs {
		if strings.TrimSpace(o.AdjustmentReason) == "" {
			bad(i, "Adjustment Reason is required.")
		}
		if !validDate(o.AdjustmentDate) {
			bad(i, "AdjustmentDate %q is not a valid date.", o.AdjustmentDate)
		}
		if o.Quantity == 0 {
			bad(i, "Quantity cannot be zero.")
			continue
		}
		if _, _, msg := g.take(o.Label, o.Quantity, o.UnitOfMeasure, true); msg != "" {
			bad(i, "%s", msg)
		}
	}
	if rows != nil {
		return nil, rows
	}
	g.commit(now)
	ids := make([]int64, 0, len(objs))
	for _, o := range objs {
		p := l.byLabel[o.Label]
		a := &SimAdjustment{
			ID: s.w.id(), PackageID: p.ID, PackageLabel: p.Label, Quantity: o.Quantity,
			UnitOfMeasure: canonicalUnit(o.UnitOfMeasure), Reason: o.AdjustmentReason, Note: o.ReasonNote,
			Date: o.AdjustmentDate, Recorded: now,
		}
		l.Adjustments = append(l.Adjustments, a)
		ids = append(ids, a.ID)
	}
	return ids, nil
}

type moveBody struct {
	Label    string
	Location string
	MoveDate string
}

// movePackages is PUT /packages/v2/location.
func (s *Sim) movePackages(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[moveBody](raw)
	if rows != nil {
		return nil, rows
	}
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i, o := range objs {
		p := l.byLabel[o.Label]
		switch {
		case p == nil:
			bad(i, "Package %s could not be found.", o.Label)
		case !p.Active():
			bad(i, "Package %s is finished and cannot be changed.", o.Label)
		}
		if l.location(o.Location) == nil {
			bad(i, "Location %q could not be found.", o.Location)
		}
		if o.MoveDate != "" && !validDate(o.MoveDate) {
			bad(i, "MoveDate %q is not a valid date.", o.MoveDate)
		}
	}
	if rows != nil {
		return nil, rows
	}
	for _, o := range objs {
		p := l.byLabel[o.Label]
		p.Location = l.location(o.Location).Name
		p.LastModified = now
	}
	return nil, nil
}

type finishBody struct {
	Label      string
	ActualDate string
}

// finishPackages is PUT /packages/v2/finish: only empty packages finish.
func (s *Sim) finishPackages(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[finishBody](raw)
	if rows != nil {
		return nil, rows
	}
	done := map[string]bool{}
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i, o := range objs {
		p := l.byLabel[o.Label]
		switch {
		case p == nil:
			bad(i, "Package %s could not be found.", o.Label)
		case !p.Active() || done[o.Label]:
			bad(i, "Package %s is already finished.", o.Label)
		case p.Quantity != 0:
			bad(i, "Package %s cannot be finished: it still holds %g %s.", o.Label, p.Quantity, p.UnitOfMeasure)
		}
		done[o.Label] = true
		if !validDate(o.ActualDate) {
			bad(i, "ActualDate %q is not a valid date.", o.ActualDate)
		}
	}
	if rows != nil {
		return nil, rows
	}
	for _, o := range objs {
		p := l.byLabel[o.Label]
		p.FinishedDate = o.ActualDate[:min(len(o.ActualDate), len(dateLayout))]
		p.LastModified = now
	}
	return nil, nil
}

type receiptBody struct {
	SalesDateTime         string
	SalesCustomerType     string
	ExternalReceiptNumber string
	Transactions          []struct {
		PackageLabel  string
		Quantity      float64
		UnitOfMeasure string
		TotalAmount   float64
	}
}

var customerTypes = []string{"Consumer", "Patient", "Caregiver", "ExternalPatient"}

// createReceipts is POST /sales/v2/receipts: sales deduct their packages.
func (s *Sim) createReceipts(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[receiptBody](raw)
	if rows != nil {
		return nil, rows
	}
	g := newLedger(s.w, l)
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i := range objs {
		o := &objs[i]
		if !validDate(o.SalesDateTime) {
			bad(i, "SalesDateTime %q is not a valid date and time.", o.SalesDateTime)
		}
		ct := ""
		for _, c := range customerTypes {
			if strings.EqualFold(c, o.SalesCustomerType) {
				ct = c
			}
		}
		if ct == "" {
			bad(i, "Sales Customer Type %q is not valid.", o.SalesCustomerType)
		}
		o.SalesCustomerType = ct
		if len(o.Transactions) == 0 {
			bad(i, "At least one transaction is required.")
		}
		for _, t := range o.Transactions {
			if t.TotalAmount < 0 || t.TotalAmount > maxQuantity {
				bad(i, "TotalAmount for Package %s must be from 0 to 1e9.", t.PackageLabel)
			}
			if _, _, msg := g.take(t.PackageLabel, t.Quantity, t.UnitOfMeasure, false); msg != "" {
				bad(i, "%s", msg)
			}
		}
	}
	if rows != nil {
		return nil, rows
	}
	g.commit(now)
	ids := make([]int64, 0, len(objs))
	for _, o := range objs {
		r := &SimReceipt{
			ID: s.w.id(), ExternalReceiptNumber: o.ExternalReceiptNumber, SalesDateTime: o.SalesDateTime,
			SalesCustomerType: o.SalesCustomerType, RecordedDateTime: now, LastModified: now,
		}
		for _, t := range o.Transactions {
			r.Transactions = append(r.Transactions, SimTransaction{
				PackageID: l.byLabel[t.PackageLabel].ID, PackageLabel: t.PackageLabel, Quantity: t.Quantity,
				UnitOfMeasure: canonicalUnit(t.UnitOfMeasure), TotalAmount: t.TotalAmount,
			})
		}
		l.Receipts = append(l.Receipts, r)
		ids = append(ids, r.ID)
	}
	return ids, nil
}

type templateBody struct {
	Name         string
	Destinations []struct {
		RecipientLicenseNumber string
		TransferTypeName       string
		Packages               []struct {
			PackageLabel string
		}
	}
}

// createTemplates is POST /transfers/v2/templates/outgoing.
func (s *Sim) createTemplates(l *license, raw []json.RawMessage, now time.Time) ([]int64, []rowError) {
	objs, rows := decodeRows[templateBody](raw)
	if rows != nil {
		return nil, rows
	}
	bad := func(i int, f string, a ...any) { rows = append(rows, rowError{i, fmt.Sprintf(f, a...)}) }
	for i, o := range objs {
		if strings.TrimSpace(o.Name) == "" {
			bad(i, "Template Name is required.")
		}
		if len(o.Destinations) == 0 {
			bad(i, "At least one destination is required.")
		}
		for _, d := range o.Destinations {
			if d.RecipientLicenseNumber == "" {
				bad(i, "Recipient License Number is required.")
			}
			for _, p := range d.Packages {
				pk := l.byLabel[p.PackageLabel]
				if pk == nil || !pk.Active() {
					bad(i, "Package %s could not be found.", p.PackageLabel)
				}
			}
		}
	}
	if rows != nil {
		return nil, rows
	}
	ids := make([]int64, 0, len(objs))
	for i, o := range objs {
		t := &SimTemplate{ID: s.w.id(), Name: o.Name, Body: append([]byte(nil), raw[i]...), Created: now}
		l.Templates = append(l.Templates, t)
		ids = append(ids, t.ID)
	}
	return ids, nil
}
