package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"tracesync/app"
)

// Errors of the audit actions.
var (
	// ErrNotOpen: the item was already closed or resolved.
	ErrNotOpen = errors.New("audit item is not open")
	// ErrCannotRequeue: tracesync has no Metrc write for this difference
	// (an item or unit, a lost package, a package entered twice).
	ErrCannotRequeue = errors.New("this difference cannot be sent to Metrc as a job; accept Metrc's values or resolve it with a note")
	// ErrUndone: the repair was already undone.
	ErrUndone = errors.New("repair already undone")
	// ErrChanged: the local value changed since the repair, so undo would
	// overwrite newer work.
	ErrChanged = errors.New("the local value changed since the repair")
	// ErrNoteRequired: resolving needs a note.
	ErrNoteRequired = errors.New("a note is required")
)

// AdjustReason is the Metrc adjustment reason of a re-queued quantity.
const AdjustReason = "Entry Error"

// AuditItems lists the audit feed: open items only, or every item.
func (r *Reconciler) AuditItems(open bool) ([]app.AuditItem, error) {
	return r.p.Store.AuditItems("", open)
}

// Repairs lists the repairs made in [from, to), oldest first.
func (r *Reconciler) Repairs(from, to time.Time) ([]app.Repair, error) {
	return r.p.Store.Repairs("", from, to)
}

// ReportDates lists the dates with a stored report.
func (r *Reconciler) ReportDates() ([]string, error) { return r.p.Store.ReportDates() }

// Outbox lists report mails, unsent ones with their last error: the mail
// status the UI and `tracesync status` show.
func (r *Reconciler) Outbox() ([]app.OutboxMail, error) { return r.p.Store.Outbox(false) }

// AcceptMetrc takes Metrc's values for an open item's label (Metrc plus the
// pending changes when a job is pending): the local record is replaced, the
// change logged as a repair, pins on the label lifted. For a package entered
// twice, the queued create-package is discarded first.
func (r *Reconciler) AcceptMetrc(id uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	it, err := r.item(id)
	if err != nil {
		return err
	}
	if it.Kind == app.AuditEnteredTwice && it.JobID != 0 {
		_, err := r.p.Store.Apply(app.Transition{ID: it.JobID, To: app.StateDiscarded, At: now,
			Reason: fmt.Sprintf("Metrc's values accepted (audit item #%d): already entered in Metrc", id)})
		if err != nil {
			return fmt.Errorf("accept Metrc for audit #%d: discard job #%d: %w", id, it.JobID, err)
		}
	}
	return r.p.Store.UpdateAudit(func(tx app.AuditTx) error {
		it, err := tx.AuditItem(id)
		if err != nil {
			return err
		}
		if it.Status != app.AuditOpen {
			return fmt.Errorf("audit #%d: %w", id, ErrNotOpen)
		}
		target := it.Metrc
		if it.Expected != nil && it.Kind != app.AuditEnteredTwice {
			target = it.Expected
		}
		p, err := tx.Package(it.License, it.Label)
		if err != nil {
			return fmt.Errorf("audit #%d: package %s: %w", id, it.Label, err)
		}
		before := clone(p.Local)
		p.Local, p.LocalUpdated, p.Pinned = clone(target), now, nil
		if err := tx.PutPackage(p); err != nil {
			return err
		}
		rep := app.Repair{License: it.License, Label: it.Label, Field: app.FieldRecord, Before: renderPtr(before),
			After: renderPtr(target), At: now, Rule: fmt.Sprintf("Metrc's values accepted by a person (audit #%d)", id),
			BeforeState: before}
		if err := tx.PutRepair(&rep); err != nil {
			return err
		}
		it.Status = app.AuditResolved
		it.History = append(it.History, app.AuditAction{At: now, Action: "accepted-metrc", JobID: it.JobID})
		return tx.PutAuditItem(&it, true)
	})
}

// RequeueLocal queues a job that sends the local value to Metrc (an
// adjustment for a quantity, a move for a location, a finish) and resolves
// the item. The job goes through the normal queue.
func (r *Reconciler) RequeueLocal(id uint64) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	it, err := r.item(id)
	if err != nil {
		return 0, err
	}
	job, err := r.requeueJob(it, now)
	if err != nil {
		return 0, err
	}
	res, err := r.enqueue(job)
	if err != nil {
		return 0, fmt.Errorf("re-queue audit #%d: %w", id, err)
	}
	jobID := res[0].ID
	err = r.p.Store.UpdateAudit(func(tx app.AuditTx) error {
		it, err := tx.AuditItem(id)
		if err != nil {
			return err
		}
		if p, err := tx.Package(it.License, it.Label); err == nil {
			if i := slices.Index(p.Pinned, it.Field); i >= 0 {
				p.Pinned = slices.Delete(p.Pinned, i, i+1)
				if err := tx.PutPackage(p); err != nil {
					return err
				}
			}
		}
		it.Status = app.AuditResolved
		it.History = append(it.History, app.AuditAction{At: now, Action: "requeued",
			Note: fmt.Sprintf("local value re-queued as job #%d", jobID), JobID: jobID})
		return tx.PutAuditItem(&it, true)
	})
	if err != nil {
		return jobID, fmt.Errorf("re-queue audit #%d: job #%d queued, item not updated: %w", id, jobID, err)
	}
	return jobID, nil
}

// requeueJob builds the job that carries an item's local value to Metrc.
func (r *Reconciler) requeueJob(it app.AuditItem, now time.Time) (app.Job, error) {
	if it.Local == nil {
		return app.Job{}, fmt.Errorf("audit #%d: %w", it.ID, ErrCannotRequeue)
	}
	ref := it.Metrc
	if it.Expected != nil {
		ref = it.Expected
	}
	loc := r.license(it.License).Location()
	note := fmt.Sprintf("re-queued from audit item #%d", it.ID)
	switch {
	case it.Kind == app.AuditFinishedHere:
		return app.NewFinishJob(it.License, loc, app.PackageFinish{Label: it.Label}, now, now)
	case it.Kind != app.AuditConflict && it.Kind != app.AuditPinned || ref == nil:
	case it.Field == app.FieldQuantity:
		d := it.Local.Quantity - ref.Quantity
		return app.NewAdjustJob(it.License, loc, app.PackageAdjust{Label: it.Label, Quantity: d,
			UnitOfMeasure: it.Local.Unit, AdjustmentReason: AdjustReason, ReasonNote: note}, now, now)
	case it.Field == app.FieldLocation:
		return app.NewMoveJob(it.License, loc, app.LocationChange{Label: it.Label, Location: it.Local.Location}, now, now)
	case it.Field == app.FieldFinished && it.Local.Finished:
		return app.NewFinishJob(it.License, loc, app.PackageFinish{Label: it.Label}, now, now)
	}
	return app.Job{}, fmt.Errorf("audit #%d (%s %s): %w", it.ID, it.Kind, it.Field, ErrCannotRequeue)
}

// Resolve closes an open item with a person's note. While the same
// difference lasts it stays resolved; a new difference opens a new item.
func (r *Reconciler) Resolve(id uint64, note string) error {
	if note == "" {
		return fmt.Errorf("resolve audit #%d: %w", id, ErrNoteRequired)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	return r.p.Store.UpdateAudit(func(tx app.AuditTx) error {
		it, err := tx.AuditItem(id)
		if err != nil {
			return fmt.Errorf("resolve audit #%d: %w", id, err)
		}
		if it.Status != app.AuditOpen {
			return fmt.Errorf("resolve audit #%d: %w", id, ErrNotOpen)
		}
		it.Status = app.AuditResolved
		it.History = append(it.History, app.AuditAction{At: now, Action: "resolved", Note: note})
		return tx.PutAuditItem(&it, false)
	})
}

// Undo restores the local value a repair replaced and pins that field of
// the label, so the next run lists the difference instead of repairing it.
func (r *Reconciler) Undo(repairID uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	return r.p.Store.UpdateAudit(func(tx app.AuditTx) error {
		rep, err := tx.Repair(repairID)
		if err != nil {
			return fmt.Errorf("undo repair #%d: %w", repairID, err)
		}
		if rep.Undone {
			return fmt.Errorf("undo repair #%d: %w", repairID, ErrUndone)
		}
		p, err := tx.Package(rep.License, rep.Label)
		if err != nil {
			return fmt.Errorf("undo repair #%d: %w", repairID, err)
		}
		if fieldValue(p.Local, rep.Field) != rep.After {
			return fmt.Errorf("undo repair #%d of %s: %w", repairID, rep.Label, ErrChanged)
		}
		if rep.Field == app.FieldRecord || rep.BeforeState == nil || p.Local == nil {
			p.Local = clone(rep.BeforeState)
		} else {
			b := rep.BeforeState
			switch rep.Field {
			case app.FieldQuantity:
				p.Local.Quantity = b.Quantity
			case app.FieldLocation:
				p.Local.Location = b.Location
			case app.FieldFinished:
				p.Local.Finished = b.Finished
			case app.FieldOnHold:
				p.Local.OnHold = b.OnHold
			}
		}
		p.LocalUpdated = now
		if !slices.Contains(p.Pinned, rep.Field) {
			p.Pinned = append(p.Pinned, rep.Field)
		}
		if err := tx.PutPackage(p); err != nil {
			return err
		}
		rep.Undone, rep.UndoneAt = true, now
		return tx.PutRepair(&rep)
	})
}

// item reads one audit item and checks it is open.
func (r *Reconciler) item(id uint64) (app.AuditItem, error) {
	it, err := r.p.Store.AuditItem(id)
	if err != nil {
		return it, err
	}
	if it.Status != app.AuditOpen {
		return it, fmt.Errorf("audit #%d: %w", id, ErrNotOpen)
	}
	return it, nil
}

// fieldValue renders a local field the way the repair log wrote it.
func fieldValue(s *app.PackageState, field string) string {
	if field == app.FieldRecord {
		return renderPtr(s)
	}
	if s == nil {
		return ""
	}
	switch field {
	case app.FieldQuantity:
		return fmtQty(s.Quantity)
	case app.FieldLocation:
		return s.Location
	case app.FieldFinished:
		if s.Finished {
			return "finished"
		}
		return "active"
	case app.FieldOnHold:
		if s.OnHold {
			return "on hold"
		}
		return "not on hold"
	}
	return ""
}

func renderPtr(s *app.PackageState) string {
	if s == nil {
		return ""
	}
	return render(*s)
}
