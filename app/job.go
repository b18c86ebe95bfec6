package app

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// JobKind is the kind of Metrc write a job performs.
type JobKind string

// The kinds of queued writes.
const (
	KindCreatePackage    JobKind = "create-package"    // an assembly: POST /packages/v2
	KindAdjust           JobKind = "adjust"            // POST /packages/v2/adjust
	KindChangeLocation   JobKind = "change-location"   // PUT /packages/v2/location
	KindFinish           JobKind = "finish"            // PUT /packages/v2/finish
	KindSalesReceipt     JobKind = "sales-receipt"     // POST /sales/v2/receipts
	KindOutgoingTransfer JobKind = "outgoing-transfer" // POST /transfers/v2/templates/outgoing (later)
)

// Kinds lists every job kind, in a stable order for menus and filters.
var Kinds = []JobKind{KindCreatePackage, KindAdjust, KindChangeLocation, KindFinish, KindSalesReceipt, KindOutgoingTransfer}

// Idempotent reports whether the kind is sent with PUT: resending it is
// harmless, so an unanswered send is simply retried (DESIGN.md, job states).
func (k JobKind) Idempotent() bool { return k == KindChangeLocation || k == KindFinish }

// Valid reports whether k is one of Kinds.
func (k JobKind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// JobState is where a job stands. The allowed moves are in transitions.
type JobState string

// The job states of DESIGN.md.
const (
	StatePending        JobState = "pending"
	StateSending        JobState = "sending"
	StateRetrying       JobState = "retrying"
	StateUnknown        JobState = "unknown"
	StateNeedsAttention JobState = "needs-attention"
	StateDone           JobState = "done"
	StateMatched        JobState = "matched"
	StateDiscarded      JobState = "discarded"
)

// States lists every state in a stable order.
var States = []JobState{StatePending, StateSending, StateRetrying, StateUnknown, StateNeedsAttention, StateDone, StateMatched, StateDiscarded}

// Final reports whether no transition leaves s.
func (s JobState) Final() bool { return s == StateDone || s == StateMatched || s == StateDiscarded }

// Valid reports whether s is one of States.
func (s JobState) Valid() bool {
	for _, x := range States {
		if x == s {
			return true
		}
	}
	return false
}

// transitions is DESIGN.md's job-state table: from -> allowed targets.
// sending -> retrying covers both "surely not applied" and PUT kinds;
// sending -> pending is the 401/403 pause.
var transitions = map[JobState][]JobState{
	StatePending:        {StateSending, StateMatched, StateDiscarded},
	StateRetrying:       {StateSending, StateMatched, StateDiscarded},
	StateSending:        {StateDone, StateRetrying, StateUnknown, StateNeedsAttention, StatePending},
	StateUnknown:        {StateDone, StateNeedsAttention, StateRetrying, StateMatched},
	StateNeedsAttention: {StateMatched, StatePending, StateDiscarded},
}

// CanTransition reports whether the table allows from -> to.
func CanTransition(from, to JobState) bool {
	for _, t := range transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// TransitionError is returned for a move the table does not allow.
type TransitionError struct {
	ID       uint64
	From, To JobState
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("job #%d: cannot move from %s to %s", e.ID, e.From, e.To)
}

// Is makes errors.Is(err, ErrBadTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrBadTransition }

// Attempt is one try at sending a job (or at verifying it), kept forever.
type Attempt struct {
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`           // e.g. "done", "timeout", "rejected", "verified: not found"
	HTTPStatus int       `json:"status,omitempty"`  // 0 when no HTTP answer came
	Message    string    `json:"message,omitempty"` // Metrc's message verbatim, or the transport error
}

// Job is one queued Metrc write. Body is one JSON object of Metrc's request
// array (PackageCreate, PackageAdjust, LocationChange, PackageFinish or
// SalesReceipt), without the job-id stamp, which the engine adds at send time.
type Job struct {
	ID           uint64          `json:"id"`
	License      string          `json:"license"`
	Kind         JobKind         `json:"kind"`
	Key          string          `json:"key"`
	Body         json.RawMessage `json:"body"`
	Reads        []string        `json:"reads,omitempty"`   // labels the write consumes or changes
	Creates      []string        `json:"creates,omitempty"` // labels the write creates
	State        JobState        `json:"state"`
	Attempts     []Attempt       `json:"attempts,omitempty"`
	NextAttempt  time.Time       `json:"next"`
	BusinessTime time.Time       `json:"businessTime"`     // SalesDateTime or ActualDate: the 24-hour deadline clock
	Reason       string          `json:"reason,omitempty"` // why needs-attention or discarded, in plain words
	Created      time.Time       `json:"created"`
	Updated      time.Time       `json:"updated"`
}

// Changes lists the labels a later job must wait for (DESIGN.md: "a job waits
// while an earlier unfinished job of its license creates or changes a label it
// reads"). Creating a package, adjusting, moving or finishing it change what a
// later write on that label sees; sales and ingredient use only draw quantity
// down, and Metrc has the last word on quantities, so they do not serialise.
func (j Job) Changes() []string {
	switch j.Kind {
	case KindAdjust, KindChangeLocation, KindFinish:
		return append(append([]string(nil), j.Creates...), j.Reads...)
	default:
		return j.Creates
	}
}

// LastAttempt returns the newest attempt, or the zero Attempt.
func (j Job) LastAttempt() Attempt {
	if len(j.Attempts) == 0 {
		return Attempt{}
	}
	return j.Attempts[len(j.Attempts)-1]
}

// transportWords are the attempt outcomes the engine records for a send
// that got no HTTP answer, named from the error's type (app/engine's
// attemptOutcome). They are lastError as they stand.
var transportWords = map[string]bool{
	OutcomeTimeout: true, OutcomeRefused: true, OutcomeReset: true,
	OutcomeClosed: true, OutcomeHostNotFound: true, OutcomeDNSFailure: true,
}

// transportClasses are the outcomes of a send without an HTTP answer whose
// failure the engine could not name (or that an older version recorded):
// the error classes' words of app.ErrorClass.
var transportClasses = map[string]bool{
	ClassAmbiguous.String(): true, ClassNotSent.String(): true,
}

// LastError is the last attempt's error in a line, as `jobs --json`'s
// lastError, the queue and the reports show it (DESIGN.md, "Command line"):
// "HTTP 400: <Metrc's message>" when Metrc answered, "timeout",
// "connection refused", ... when it did not, "" when the last attempt
// succeeded or there is none. A transport error's own text (Go's, with the
// request's method and URL) is never shown: it is no word for a person and
// a URL has no business in a script's output.
func (j Job) LastError() string {
	a := j.LastAttempt()
	switch {
	case a.Outcome == "" || a.Outcome == OutcomeDone:
		return ""
	case a.HTTPStatus != 0 && a.Message != "":
		return fmt.Sprintf("HTTP %d: %s", a.HTTPStatus, a.Message)
	case a.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", a.HTTPStatus)
	case transportWords[a.Outcome]:
		return a.Outcome
	case transportClasses[a.Outcome]:
		return transportText(a.Outcome, a.Message)
	case a.Message != "":
		return a.Message
	}
	return a.Outcome
}

// transportText names a transport failure from the text an attempt kept.
// Only attempts the engine could not name by the error's type come here
// (or ones recorded before it did), so the text is all there is to read.
func transportText(outcome, msg string) string {
	m := strings.ToLower(msg)
	switch {
	case msg == "":
		return outcome
	case strings.Contains(m, "deadline exceeded"), strings.Contains(m, "timeout"), strings.Contains(m, "timed out"):
		return OutcomeTimeout
	case strings.Contains(m, "connection refused"), strings.Contains(m, "actively refused"):
		return OutcomeRefused
	case strings.Contains(m, "connection reset"), strings.Contains(m, "forcibly closed"):
		return OutcomeReset
	case strings.Contains(m, "eof"):
		return OutcomeClosed
	case strings.Contains(m, "no such host"):
		return OutcomeHostNotFound
	case strings.Contains(m, "://"):
		return outcome // a Go error quoting the request's URL
	}
	return msg
}

// Attempt outcomes the engine records.
const (
	OutcomeDone = "done"

	// A send that got no HTTP answer, named from the error's type: lastError
	// shows these as they stand (DESIGN.md: "timeout", ...). The attempt's
	// Message keeps the transport error itself for the job's history.
	OutcomeTimeout      = "timeout"
	OutcomeRefused      = "connection refused"
	OutcomeReset        = "connection reset"
	OutcomeClosed       = "connection closed"
	OutcomeHostNotFound = "host not found"
	OutcomeDNSFailure   = "DNS lookup failed"
)

// Key builders (DESIGN.md "Keys"). Other kinds get a unique key from the
// store: UniqueKeyPrefix plus the job id.
func PackageKey(license, tag string) string      { return license + "/tag/" + tag }
func ReceiptKey(license, external string) string { return license + "/receipt/" + external }

const UniqueKeyPrefix = "job/"

// EnqueueStatus says what Enqueue did with one job.
type EnqueueStatus int

const (
	Queued   EnqueueStatus = iota // new job stored
	Skipped                       // same key, same content: already queued
	Conflict                      // same key, different content: not queued
)

func (s EnqueueStatus) String() string {
	switch s {
	case Queued:
		return "queued"
	case Skipped:
		return "already queued"
	case Conflict:
		return "conflict"
	}
	return "EnqueueStatus(" + strconv.Itoa(int(s)) + ")"
}

// EnqueueResult is Enqueue's answer for one job, in input order. ID is the
// new job's id, or the existing job's for Skipped and Conflict.
type EnqueueResult struct {
	ID     uint64
	Key    string
	Status EnqueueStatus
}

// Transition asks the store to move one job. The store checks the move against
// the table using the job's current state (whatever the caller believed).
type Transition struct {
	ID          uint64
	To          JobState
	At          time.Time // the Updated time
	Attempt     *Attempt  // appended to the history when non-nil
	NextAttempt time.Time // when it is due again (retrying, pending)
	Reason      string    // needs-attention / discarded: shown to people
	// Edit replaces the body (and reads/business time) on needs-attention ->
	// pending, after a person corrected it. The key must not change.
	Edit *JobEdit
}

// JobEdit is a person's correction of a needs-attention job.
type JobEdit struct {
	Body         json.RawMessage
	Reads        []string
	BusinessTime time.Time
}

// JobFilter selects jobs for lists. Zero fields match everything.
type JobFilter struct {
	License     string
	States      []JobState
	Search      string // substring of the key or a label the job reads/creates
	NewestFirst bool
	After       uint64 // paging cursor: ids after (or, NewestFirst, before) this one
	Limit       int    // 0 = 100
}

// JobPage is one page of a job list; Next is the cursor for the next page
// (0 when there is none).
type JobPage struct {
	Jobs []Job
	Next uint64
}

// JobStats are counts the status panel reads every second; the store keeps
// them up to date in the same transaction as each change.
type JobStats struct {
	ByState          map[JobState]int `json:"byState"`
	OldestUnfinished time.Time        `json:"oldestUnfinished"` // Created of the oldest non-final job
	OldestBusiness   time.Time        `json:"oldestBusiness"`   // smallest BusinessTime among non-final jobs
}

// Unfinished counts the jobs in non-final states.
func (s JobStats) Unfinished() int {
	n := 0
	for st, c := range s.ByState {
		if !st.Final() {
			n += c
		}
	}
	return n
}

// DueSelector picks jobs for "push now". Exactly one of IDs, License, All.
type DueSelector struct {
	IDs     []uint64
	License string
	All     bool
}

var noteStamp = regexp.MustCompile(`\[tracesync #(\d+)\]`)

// StampNote appends the job id to a free-text field (a package's Note, an
// adjustment's ReasonNote) so verification can find the exact record.
func StampNote(note string, id uint64) string {
	s := fmt.Sprintf("[tracesync #%d]", id)
	if note == "" {
		return s
	}
	return note + " " + s
}

// NoteJobID finds the job id StampNote put in a note.
func NoteJobID(note string) (uint64, bool) {
	m := noteStamp.FindStringSubmatch(note)
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseUint(m[1], 10, 64)
	return id, err == nil
}
