// Package reconcile compares the local inventory with Metrc's, repairs what
// is safe, lists the rest in the inventory-audit feed, matches queued
// assemblies that already exist in Metrc, and builds the nightly report
// (DESIGN.md rules 7 and 8).
//
// Compare (compare.go) is pure: packages (local record beside the Metrc
// snapshot) and unfinished jobs in, a Plan of repairs, matches and findings
// out. The Reconciler (reconcile.go) reads the store, calls Compare and
// applies the plan.
//
// Metrc is the system of record, except where an unfinished local job is
// about to change a package: then the local record is compared with "Metrc
// plus the pending change". A snapshot pulled before the label's
// LastJobFinished is not compared (the next pull will show that job).
//
// The rules:
//
//	| difference (no unfinished job on the label)          | action                                              |
//	|------------------------------------------------------|-----------------------------------------------------|
//	| quantity differs                                     | repair: take Metrc's quantity                       |
//	| location differs                                     | repair: take Metrc's location                       |
//	| finished or archived in Metrc, active locally        | repair: finish locally                              |
//	| on hold in Metrc                                     | repair: mark on hold locally (app.CheckWritable     |
//	|                                                      | then refuses new jobs on it with a clear message)   |
//	| in Metrc, not local                                  | repair: import it (created in Metrc during outage)  |
//	| item or unit differs                                 | audit: may be a mislabel — a person decides         |
//	| local and active, not in Metrc, no pending create    | audit: lost or never reported                       |
//	| a pending job conflicts with what Metrc now shows    | audit, both sides shown                             |
//	| (double entry with differences)                      |                                                     |
//
// With unfinished jobs on the label, each row compares against Metrc plus
// their changes (quantity deltas of adjustments, sales and ingredient use;
// moves; finishes; the new package of a create). A field a pending job
// changes that still differs is the last row: a conflict for a person, never
// a repair, because Metrc was changed behind the job's back (or the job was
// already applied: a job being sent or whose answer was lost is accepted in
// either view). Fields no pending job touches follow the other rows. Metrc
// finishing a package a pending job still changes is a conflict too.
//
// Beyond the table: a lifted hold is taken from Metrc like a new one; a
// package finished locally but active in Metrc with no pending finish is an
// audit item (finished-here); a field a person restored with Undo (pinned)
// raises an audit item instead of a repair, and is unpinned once both sides
// agree again.
//
// Assembly matching: a queued create-package whose item, unit, quantity and
// label already exist in Metrc becomes matched and is never sent; the same
// label with other values is an audit item "entered twice with differences".
//
// Audit items close by themselves when their difference disappears; a person
// may accept Metrc's values, re-queue the local value (a new job), or resolve
// with a note. Every repair is logged and can be undone.
package reconcile
