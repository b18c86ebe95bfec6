package app

import (
	"errors"
	"fmt"
	"time"
)

// This file holds what reconciliation (app/reconcile) keeps: the repair log,
// the inventory-audit feed, nightly reports and the mail outbox, and the
// AuditStore port store/ implements for them.

// ErrOnHold is returned by CheckWritable for a package Metrc holds: no new
// job may be queued on it until the hold is lifted in Metrc.
var ErrOnHold = errors.New("package is on hold in Metrc")

// CheckWritable says whether new work may be queued on the package. The
// inventory screen and the CSV import call it before building a job, so a
// package Metrc put on hold is refused with a clear message instead of a 400
// hours later.
func CheckWritable(p Package) error {
	if p.Local != nil && p.Local.OnHold || p.Metrc != nil && p.Metrc.OnHold {
		return fmt.Errorf("package %s: %w; lift the hold in Metrc first", p.Label, ErrOnHold)
	}
	return nil
}

// Repair fields: which part of a package's local record a repair changed
// (also the names used in Package.Pinned).
const (
	FieldQuantity = "quantity"
	FieldLocation = "location"
	FieldFinished = "finished"
	FieldOnHold   = "onHold"
	FieldRecord   = "record" // the whole record: imported from Metrc
)

// Repair is one change reconciliation made to the local record, logged so a
// person can read it in the report and undo it.
type Repair struct {
	ID      uint64    `json:"id"`
	License string    `json:"license"`
	Label   string    `json:"label"`
	Field   string    `json:"field"`  // FieldQuantity, ...
	Before  string    `json:"before"` // the local value before, rendered ("" = none)
	After   string    `json:"after"`  // the value taken from Metrc
	At      time.Time `json:"at"`
	Rule    string    `json:"rule"` // the rules-table row, in words
	// BeforeState is the whole local record before the repair (nil: there
	// was none), so Undo restores exactly what was there.
	BeforeState *PackageState `json:"beforeState,omitempty"`
	Undone      bool          `json:"undone,omitempty"`
	UndoneAt    time.Time     `json:"undoneAt,omitzero"`
}

// AuditKind says why a difference was listed for a person instead of repaired.
type AuditKind string

// The kinds of audit items (the rules table in app/reconcile).
const (
	AuditMislabel     AuditKind = "mislabel"      // item or unit differs
	AuditLost         AuditKind = "lost"          // local and active, not in Metrc, no pending create
	AuditConflict     AuditKind = "conflict"      // a pending job conflicts with what Metrc shows
	AuditEnteredTwice AuditKind = "entered-twice" // a queued create-package exists in Metrc with other values
	AuditPinned       AuditKind = "pinned"        // a field a person restored (undo) differs again
	AuditFinishedHere AuditKind = "finished-here" // finished locally, active in Metrc, no pending finish
)

// AuditStatus is where an audit item stands.
type AuditStatus string

// Audit statuses: open items wait for a person; closed ones closed by
// themselves (the difference disappeared); resolved ones a person handled.
const (
	AuditOpen     AuditStatus = "open"
	AuditClosed   AuditStatus = "closed"
	AuditResolved AuditStatus = "resolved"
)

// AuditAction is one line of an item's history.
type AuditAction struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"` // opened, changed, closed, accepted-metrc, requeued, resolved
	Note   string    `json:"note,omitempty"`
	JobID  uint64    `json:"jobId,omitempty"` // the job re-queued or discarded
}

// AuditItem is one difference reconciliation did not repair.
type AuditItem struct {
	ID      uint64    `json:"id"`
	Key     string    `json:"key"` // license|label|kind|field: one live item per key
	License string    `json:"license"`
	Label   string    `json:"label"`
	Kind    AuditKind `json:"kind"`
	Field   string    `json:"field,omitempty"`
	// Local and Metrc are both sides as last seen (nil: absent on that side).
	Local *PackageState `json:"local,omitempty"`
	Metrc *PackageState `json:"metrc,omitempty"`
	// Expected is Metrc plus the unfinished jobs' changes, when a job is pending.
	Expected  *PackageState `json:"expected,omitempty"`
	JobID     uint64        `json:"jobId,omitempty"` // the pending job involved, if any
	Why       string        `json:"why"`             // why it was not repaired, in plain words
	FirstSeen time.Time     `json:"firstSeen"`
	LastSeen  time.Time     `json:"lastSeen"`
	Status    AuditStatus   `json:"status"`
	History   []AuditAction `json:"history,omitempty"`
}

// AuditKey builds an AuditItem's Key.
func AuditKey(license, label string, kind AuditKind, field string) string {
	return license + "|" + label + "|" + string(kind) + "|" + field
}

// JobSummary is a job as a report lists it.
type JobSummary struct {
	ID        uint64    `json:"id"`
	Kind      JobKind   `json:"kind"`
	Key       string    `json:"key"`
	Labels    []string  `json:"labels,omitempty"`
	State     JobState  `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// SummarizeJob builds a JobSummary.
func SummarizeJob(j Job) JobSummary {
	labels := append(append([]string(nil), j.Creates...), j.Reads...)
	return JobSummary{ID: j.ID, Kind: j.Kind, Key: j.Key, Labels: labels, State: j.State,
		Reason: j.Reason, LastError: j.LastError(), Created: j.Created, Updated: j.Updated}
}

// ReportVersion is the schema version of stored reports.
const ReportVersion = 1

// Report is the nightly report of one day: per license, that day in the
// license's own time zone.
type Report struct {
	Version   int             `json:"version"`
	Date      string          `json:"date"` // YYYY-MM-DD
	Generated time.Time       `json:"generated"`
	Licenses  []LicenseReport `json:"licenses"`
}

// LicenseReport is one license's part of a Report.
type LicenseReport struct {
	License  string    `json:"license"`
	Name     string    `json:"name"`
	TimeZone string    `json:"timeZone"`
	From     time.Time `json:"from"` // the day's start in the license's zone
	To       time.Time `json:"to"`   // the next day's start

	Repairs        []Repair       `json:"repairs"`
	Matches        []JobSummary   `json:"matches"`
	OpenAudit      []AuditItem    `json:"openAudit"`
	NeedsAttention []JobSummary   `json:"needsAttention"`
	Unfinished     int            `json:"unfinished"`
	Oldest         *JobSummary    `json:"oldestUnfinished,omitempty"`
	Outages        []OutageWindow `json:"outages"`
	// OutagesUnknown is set when the outage windows could not be read.
	OutagesUnknown string `json:"outagesUnknown,omitempty"`
}

// OutboxMail is a report mail waiting to be sent (or sent). A failed send
// stays here, is retried, and its status is shown; nothing is dropped.
type OutboxMail struct {
	ID        uint64    `json:"id"`
	Date      string    `json:"date"` // the report's date
	Subject   string    `json:"subject"`
	Created   time.Time `json:"created"`
	Attempts  int       `json:"attempts"`
	LastTry   time.Time `json:"lastTry,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	NextTry   time.Time `json:"nextTry,omitzero"`
	SentAt    time.Time `json:"sentAt,omitzero"` // zero while unsent
}

// AuditTx is one read-write transaction over the records reconciliation
// changes together: a repair, the package it changes and the audit items
// of that label are written atomically.
type AuditTx interface {
	// Package and PutPackage read and write a whole package record
	// (Package returns ErrNotFound).
	Package(license, label string) (Package, error)
	PutPackage(p Package) error
	// AuditItem returns an item by id, or ErrNotFound.
	AuditItem(id uint64) (AuditItem, error)
	// LiveAuditItems lists the license's items that still hold their key:
	// open ones, and resolved ones whose difference has not yet disappeared.
	LiveAuditItems(license string) ([]AuditItem, error)
	// PutAuditItem stores the item, assigning ID when 0. Unless release is
	// set the item holds its Key, so LiveAuditItems lists it; release frees
	// the key (the difference disappeared), and a later difference with the
	// same key opens a new item.
	PutAuditItem(it *AuditItem, release bool) error
	// Repair returns a logged repair, or ErrNotFound.
	Repair(id uint64) (Repair, error)
	// PutRepair stores a repair, assigning ID when 0.
	PutRepair(r *Repair) error
}

// AuditStore keeps reconciliation's records (store.Store implements it).
// Errors: ErrNotFound for an absent record; anything else is an I/O or
// decoding failure, wrapped.
type AuditStore interface {
	// UpdateAudit runs fn in one read-write transaction, fsynced before it
	// returns; when fn returns an error nothing of it is kept. fn must not
	// block (no network).
	UpdateAudit(fn func(tx AuditTx) error) error
	// AuditItem returns one item, or ErrNotFound.
	AuditItem(id uint64) (AuditItem, error)
	// AuditItems lists items of a license ("" = all), only open ones when
	// open is set, newest first.
	AuditItems(license string, open bool) ([]AuditItem, error)
	// Repairs lists the repairs of a license ("" = all) made in [from, to),
	// oldest first.
	Repairs(license string, from, to time.Time) ([]Repair, error)
	// PutReport stores a report under its date, replacing any before.
	PutReport(r Report) error
	// Report returns the stored report of a date, or ErrNotFound.
	Report(date string) (Report, error)
	// ReportDates lists the dates of stored reports, oldest first.
	ReportDates() ([]string, error)
	// PutOutbox stores a mail of the outbox, assigning ID when 0.
	PutOutbox(m *OutboxMail) error
	// Outbox lists the outbox, oldest first; unsent only when unsent is set.
	Outbox(unsent bool) ([]OutboxMail, error)
}
