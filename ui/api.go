package ui

import (
	"context"
	"io"
	"time"

	"tracesync/app"
)

// The interfaces below are what each screen needs. Their method names and
// signatures match the engine facade (app/engine) and the reconciler
// (app/reconcile), so *engine.Engine and *reconcile.Reconciler satisfy them
// without adapters; ui imports neither package.

// statusEngine is what the Status screen, the tray and the sidebar need.
type statusEngine interface {
	Health() []app.Health
	Subscribe(fn func([]app.Health)) (cancel func())
	APIDown() (down bool, since time.Time)
	PushNow(sel app.DueSelector) (int, error)
	SetPaused(license string, paused bool) error
}

// queueEngine is what the Queue screen changes jobs through.
type queueEngine interface {
	PushNow(sel app.DueSelector) (int, error)
	Discard(id uint64, reason string) error
	Resend(id uint64, edit app.JobEdit) error
}

// inventoryEngine is what the Inventory screen queues work through.
type inventoryEngine interface {
	Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error)
}

// EngineAPI is the part of the engine facade the UI uses
// (*engine.Engine implements it).
type EngineAPI interface {
	statusEngine
	queueEngine
	inventoryEngine
	Outages(license string, from, to time.Time) ([]app.OutageWindow, error)
	PullNow(license string)
}

// jobReader is what the Queue screen reads jobs through (the store).
type jobReader interface {
	ListJobs(f app.JobFilter) (app.JobPage, error)
	Job(id uint64) (app.Job, error)
	WaitingOn(id uint64) (uint64, error)
	Stats(license string) (app.JobStats, error)
}

// packageReader is what the Inventory screen reads packages through.
type packageReader interface {
	Packages(license, search, after string, limit int) ([]app.Package, error)
	Package(license, label string) (app.Package, error)
	RefData(license string) (app.RefData, error)
}

// latencyReader is what the response-time screen reads (app.MonitorStore).
type latencyReader interface {
	LatencyMinutes(license string, from, to time.Time) ([]app.LatencyRow, error)
	LatencyHours(license string, from, to time.Time) ([]app.LatencyRow, error)
	Outages(license string, from, to time.Time) ([]app.OutageWindow, error)
}

// StoreAPI is what the UI reads directly from the store (lists the engine
// facade does not page through). *store.Store implements it.
type StoreAPI interface {
	jobReader
	packageReader
	latencyReader
	Licenses() ([]app.License, error)
}

// SettingsAPI keeps the non-secret settings and the licenses
// (app.LicenseStore; *store.Store implements it). API keys never go here.
type SettingsAPI interface {
	Licenses() ([]app.License, error)
	PutLicense(l app.License) error
	Setting(key string, v any) error
	PutSetting(key string, v any) error
}

// ReconcileAPI is the audit feed and reports (*reconcile.Reconciler
// implements it).
type ReconcileAPI interface {
	AuditItems(open bool) ([]app.AuditItem, error)
	AcceptMetrc(id uint64) error
	RequeueLocal(id uint64) (uint64, error)
	Resolve(id uint64, note string) error
	Repairs(from, to time.Time) ([]app.Repair, error)
	Undo(repairID uint64) error
	ReportDates() ([]string, error)
	Report(date string) (app.Report, error)
	Outbox() ([]app.OutboxMail, error) // report mails, sent and waiting
}

// AuditChecker runs reconciliation for one license at once (the CLI adapts
// (*reconcile.Reconciler).RunNow): the repairs it made and the new audit
// items it opened.
type AuditChecker interface {
	CheckNow(ctx context.Context, license string) (repairs, opened int, err error)
}

// DemoAPI acts on the simulator of demo mode (the CLI adapts *demo.Demo).
type DemoAPI interface {
	SetOutage(on bool)
	SetSlow(on bool)
	Set429(on bool)
	Set500(on bool)
	SetLostResponses(on bool)
	SetSales(on bool)
	Reset() error
}

// ImportAPI validates a CSV file and queues its jobs (the CLI adapts
// app/importcsv + the engine). kind is "receipts" or "assemblies".
// When the summary lists problems, nothing was queued.
type ImportAPI interface {
	Import(ctx context.Context, kind string, r io.Reader, progress func(rows int)) (ImportSummary, error)
}

// ImportSummary is what an import did.
type ImportSummary struct {
	Rows     int
	Queued   int
	Skipped  int // already queued with the same content
	Problems []ImportProblem
	Warnings []ImportProblem
}

// ImportProblem is one bad line of a CSV file.
type ImportProblem struct {
	Line int
	Msg  string
}

// Keyring keeps the Metrc keys (the OS keyring in the app, a map in tests).
// Get returns ErrNoKey when the key is absent.
type Keyring interface {
	Get(name string) (string, error)
	Set(name, value string) error
	Delete(name string) error
}

// Autostart is "start tracesync when I log in".
type Autostart interface {
	Enabled() bool
	Enable() error
	Disable() error
}

// ReportTools renders and mails reports; the CLI wires reconcile.RenderCSV,
// RenderHTML and the mailer. Nil disables export and sending.
type ReportTools struct {
	Render func(w io.Writer, rep app.Report, format string) error // format "csv" or "html"
	Send   func(ctx context.Context, date string) error
}

// Keyring entry names of the Metrc keys.
const (
	KeyVendor = app.KeyringVendorKey
	KeyUser   = app.KeyringUserKey
)
