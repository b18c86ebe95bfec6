package app

import (
	"encoding/json"
	"fmt"
	"time"
)

// The constructors below build jobs the same way wherever work is entered
// (inventory screen, CSV import, demo sales generator), so keys, the labels a
// job reads and creates, and the business time agree everywhere. now is the
// creation time; the store assigns ids.

func newJob(license string, kind JobKind, key string, body any, reads, creates []string, business, now time.Time) (Job, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return Job{}, fmt.Errorf("encode %s body: %w", kind, err)
	}
	return Job{
		License: license, Kind: kind, Key: key, Body: b,
		Reads: reads, Creates: creates, State: StatePending,
		NextAttempt: now, BusinessTime: business, Created: now, Updated: now,
	}, nil
}

// NewReceiptJob queues a sales receipt; sold is its SalesDateTime as an
// instant (rendered in loc, the license's zone, without offset).
func NewReceiptJob(license string, loc *time.Location, r SalesReceipt, sold, now time.Time) (Job, error) {
	r.SalesDateTime = sold.In(loc).Format(SalesDateTimeLayout)
	reads := make([]string, 0, len(r.Transactions))
	for _, t := range r.Transactions {
		reads = append(reads, t.PackageLabel)
	}
	return newJob(license, KindSalesReceipt, ReceiptKey(license, r.ExternalReceiptNumber), r, uniq(reads), nil, sold, now)
}

// NewAssemblyJob queues a package created from ingredients; made is its
// ActualDate as an instant in the license's zone.
func NewAssemblyJob(license string, loc *time.Location, p PackageCreate, made, now time.Time) (Job, error) {
	p.ActualDate = made.In(loc).Format(DateLayout)
	reads := make([]string, 0, len(p.Ingredients))
	for _, in := range p.Ingredients {
		reads = append(reads, in.Package)
	}
	return newJob(license, KindCreatePackage, PackageKey(license, p.Tag), p, uniq(reads), []string{p.Tag}, made, now)
}

// NewAdjustJob queues a quantity adjustment (qty signed).
func NewAdjustJob(license string, loc *time.Location, a PackageAdjust, when, now time.Time) (Job, error) {
	a.AdjustmentDate = when.In(loc).Format(DateLayout)
	return newJob(license, KindAdjust, "", a, []string{a.Label}, nil, when, now)
}

// NewMoveJob queues a change of location.
func NewMoveJob(license string, loc *time.Location, c LocationChange, when, now time.Time) (Job, error) {
	c.MoveDate = when.In(loc).Format(DateLayout)
	return newJob(license, KindChangeLocation, "", c, []string{c.Label}, nil, when, now)
}

// NewFinishJob queues finishing a package.
func NewFinishJob(license string, loc *time.Location, f PackageFinish, when, now time.Time) (Job, error) {
	f.ActualDate = when.In(loc).Format(DateLayout)
	return newJob(license, KindFinish, "", f, []string{f.Label}, nil, when, now)
}

func uniq(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
