package app

import "time"

// JobStore keeps the queue durably (store.Store implements it).
//
// Every method that changes jobs is one transaction, fsynced before it
// returns: when it returns nil, the change survives a crash.
type JobStore interface {
	// Enqueue stores new jobs (State pending, due at once) in one
	// transaction. A create-package or sales-receipt whose Key is already
	// queued is Skipped when Kind and Body are the same; when they differ it
	// is a Conflict, and then nothing of the batch is stored and the error
	// is ErrConflict. Other kinds get a unique key. Results are in input order.
	Enqueue(jobs ...Job) ([]EnqueueResult, error)
	// Apply performs the transitions in one transaction and returns the jobs
	// as they now are. A move the table forbids fails the whole call with a
	// *TransitionError (errors.Is ErrBadTransition); an unknown id with
	// ErrNotFound. Discarding a job moves the unfinished jobs of its license
	// that read a label it creates or changes to needs-attention ("input #N
	// was discarded"), in the same transaction.
	Apply(ts ...Transition) ([]Job, error)
	// Job returns one job, or ErrNotFound.
	Job(id uint64) (Job, error)
	// JobByKey returns the job with that key, or ErrNotFound.
	JobByKey(key string) (Job, error)
	// Due returns up to limit jobs of the license in pending or retrying
	// whose NextAttempt is not after now and that no earlier unfinished job
	// of the license blocks (Job.Changes ∩ Reads), in id order.
	Due(license string, now time.Time, limit int) ([]Job, error)
	// NextDue returns the earliest NextAttempt among the license's pending
	// and retrying jobs (zero when there are none), for the push loop's timer.
	NextDue(license string) (time.Time, error)
	// WaitingOn returns the id of the earliest unfinished job of the same
	// license that blocks job id, or 0.
	WaitingOn(id uint64) (uint64, error)
	// MakeDue sets NextAttempt = now on the selected retrying, pending and
	// unknown jobs ("push now") and returns how many it touched.
	MakeDue(now time.Time, sel DueSelector) (int, error)
	// Recover is called once at start: jobs left in sending become unknown
	// (POST kinds) or retrying (PUT kinds). Returns how many moved.
	Recover(now time.Time) (int, error)
	// ListJobs pages through jobs by filter.
	ListJobs(f JobFilter) (JobPage, error)
	// Stats returns the maintained counts of one license ("" = every license).
	Stats(license string) (JobStats, error)
}

// LicenseStore keeps the licenses and non-secret settings.
type LicenseStore interface {
	Licenses() ([]License, error)
	PutLicense(l License) error
	// Setting reads a JSON setting into v; ErrNotFound when absent.
	Setting(key string, v any) error
	PutSetting(key string, v any) error
}

// TransferStore keeps the incoming transfers Metrc reported (the pull's
// snapshot of what is on its way to each license).
type TransferStore interface {
	// SaveTransfers stores these transfers (replacing earlier versions of
	// the same ids), pulled at the given time, in one transaction.
	SaveTransfers(license string, pulledAt time.Time, ts []Transfer) error
	// Transfers lists a license's stored transfers, newest id first.
	Transfers(license string) ([]StoredTransfer, error)
}

// StoredTransfer is an incoming transfer with the time it was pulled.
type StoredTransfer struct {
	Transfer
	PulledAt time.Time
}

// PackageStore keeps the local inventory and Metrc snapshots.
type PackageStore interface {
	Package(license, label string) (Package, error) // ErrNotFound
	// Packages lists a license's packages in label order, paging after the
	// given label; search is a substring of label, item or location.
	Packages(license, search, after string, limit int) ([]Package, error)
	// PutPackages writes whole records (one transaction).
	PutPackages(p ...Package) error
	// SaveSnapshots stores Metrc's view of these packages (pulled at the
	// given time), creating records for labels not yet known, in one transaction.
	SaveSnapshots(license string, pulledAt time.Time, pkgs []MetrcPackage) error
	RefData(license string) (RefData, error)
	PutRefData(license string, r RefData) error
}
