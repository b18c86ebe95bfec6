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
//
// # The nightly report
//
// A report covers one date for all licenses together (app.Report, stored
// under its date, one mail per date): each license's part is that date in
// the license's own time zone, midnight to midnight. So the report of a
// date is complete only once the day is over in every license's zone, and
// it comes due at ReportTime ("02:00") of the next day in every license's
// zone: the latest of those instants, which is ReportTime in the zone
// furthest west. With licenses in New York and Los Angeles at 02:00, the
// report of the 10th comes due at 02:00 on the 11th in Los Angeles (05:00
// in New York); at 02:00 in New York Los Angeles still has an hour of the
// 10th left (23:00). No license's part is made before its own report time,
// nor before its day ended. Licenses in one zone get exactly ReportTime
// there. Only with no license configured does Params.ReportZone count.
//
// Storing a report and delivering it are separate. Report(date) stores a
// finished day whenever someone asks (`tracesync report`, the Reports
// screen); a stored report is never rebuilt, so what was mailed stays what
// is shown. Delivery (Nightly) is: exported to <data>/reports as HTML and
// CSV, and a mail of it in the outbox, sent or waiting. A date counts as
// delivered when both export files exist (with a data folder) and the
// outbox holds a mail of that date (with SMTP set) - whoever stored the
// report. RunReports delivers every due date after the last delivered one
// (the newest export, or the newest mail without a data folder), so a
// start after nights off catches up on each missed day, at most
// CatchUpDays of the latest; in a new data folder only the last due date.
// A day someone already mailed with "Send by email now" is exported but
// not mailed again. A catch-up report lists the repairs and matches of its
// day, and the open audit items, jobs needing attention and unfinished
// jobs as they stand when it is built.
//
// Mail goes through the outbox: a failed send stays there with its error
// and is retried with backoff (a minute, doubling, at most an hour);
// RetryMail and SendNow return the send errors so the window can say so.
package reconcile
