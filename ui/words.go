package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// This file is the one place where errors and states become words a
// back-office person understands. The technical detail stays one click away.

// ErrNoKey is what a Keyring returns for an absent entry.
var ErrNoKey = errors.New("no such key in the keyring")

// ErrNoKeyring says the OS keyring cannot be reached (no Secret Service).
var ErrNoKeyring = errors.New("the system keyring is not available")

// plainError says in plain words what went wrong.
func plainError(err error) string {
	var me *app.MetrcError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, app.ErrLocked):
		return "Another tracesync window is already open on this data. Use that one."
	case errors.Is(err, app.ErrConflict):
		return "Something with the same number is already queued with different values. Nothing was queued."
	case errors.Is(err, app.ErrBadTransition):
		return "This record changed in the meantime (it may have been sent already). The list has been refreshed."
	case errors.Is(err, app.ErrOnHold):
		return "Metrc holds this package: lift the hold in Metrc first, then try again."
	case errors.Is(err, app.ErrNotFound):
		return "This record no longer exists here."
	case errors.Is(err, app.ErrCorrupt):
		return "A saved record could not be read. Nothing was changed; please tell your administrator."
	case errors.Is(err, ErrNoKeyring):
		return "This computer has no keyring tracesync can use. Set the keys in the environment " +
			"variables TRACESYNC_VENDOR_KEY and TRACESYNC_USER_KEY instead."
	case errors.Is(err, ErrNoKey):
		return "No key is saved yet."
	case errors.Is(err, context.DeadlineExceeded):
		return "This took too long and was stopped. Try again in a moment."
	case errors.Is(err, context.Canceled):
		return "Stopped."
	case errors.As(err, &me):
		return metrcWords(me)
	case errors.As(err, &ne):
		return "Metrc could not be reached (network problem). tracesync keeps trying; nothing is lost."
	}
	return genericWords
}

// genericWords is plainError's answer for an error it has no words for;
// the dialog's details, or errorLine's text, then carry the error itself.
const genericWords = "Something went wrong. Nothing was lost; see the details."

func metrcWords(me *app.MetrcError) string {
	switch me.Class {
	case app.ClassAuth:
		return "Metrc rejected the API keys. Check the user key in Settings, then resume the license."
	case app.ClassRateLimited:
		return "Metrc asked us to slow down. tracesync waits and tries again by itself."
	case app.ClassPermanent:
		return "Metrc refused this record. Its message is below."
	case app.ClassAmbiguous:
		return "Metrc did not answer in time. tracesync checks whether it arrived before sending again."
	}
	return "Metrc could not be reached. tracesync keeps trying; nothing is lost."
}

// stateWords names a job state for people.
func stateWords(s app.JobState) string {
	switch s {
	case app.StatePending:
		return "Waiting to send"
	case app.StateSending:
		return "Sending"
	case app.StateRetrying:
		return "Will retry"
	case app.StateUnknown:
		return "Checking with Metrc"
	case app.StateNeedsAttention:
		return "Needs attention"
	case app.StateDone:
		return "Sent"
	case app.StateMatched:
		return "Already in Metrc"
	case app.StateDiscarded:
		return "Discarded"
	}
	return string(s)
}

// kindWords names a job kind for people.
func kindWords(k app.JobKind) string {
	switch k {
	case app.KindCreatePackage:
		return "New package"
	case app.KindAdjust:
		return "Adjustment"
	case app.KindChangeLocation:
		return "Move"
	case app.KindFinish:
		return "Finish"
	case app.KindSalesReceipt:
		return "Sales receipt"
	case app.KindOutgoingTransfer:
		return "Outgoing transfer"
	}
	return string(k)
}

// jobHint is the plain-words line shown above Metrc's verbatim message, and
// what to do about it.
func jobHint(j app.Job) string {
	a := j.LastAttempt()
	msg := strings.ToLower(a.Message)
	switch {
	case j.State == app.StateDone || j.State == app.StateMatched:
		return "Metrc has this record. Nothing to do."
	case j.State == app.StateDiscarded:
		return "Discarded by a person; it will not be sent. Nothing to do."
	case a.HTTPStatus == 401 || a.HTTPStatus == 403:
		return "Metrc rejected the API keys. Check the user key in Settings, then resume the license."
	case a.HTTPStatus == 429:
		return "Metrc asked us to slow down. tracesync waits and sends it again. Nothing to do."
	case a.HTTPStatus >= 500:
		return "Metrc had a problem on its side. tracesync checks and sends it again. Nothing to do."
	case strings.Contains(msg, "already") && (strings.Contains(msg, "tag") || strings.Contains(msg, "label") || strings.Contains(msg, "use")):
		return "Metrc says the tag is already used: this package may have been entered in Metrc directly. Compare it in Inventory audit."
	case strings.Contains(msg, "quantity") || strings.Contains(msg, "insufficient"):
		return "Metrc says the quantity does not fit what it has for this package. Check the quantity, then edit and resend."
	case strings.Contains(msg, "location"):
		return "Metrc does not know this location. Pick one Metrc knows, then edit and resend."
	case strings.Contains(msg, "item"):
		return "Metrc does not accept this item here. Pick the right item, then edit and resend."
	case strings.Contains(msg, "unit"):
		return "Metrc does not accept this unit of measure. Pick the right unit, then edit and resend."
	case strings.Contains(msg, "date"):
		return "Metrc does not accept this date. Correct it, then edit and resend."
	case strings.Contains(msg, "hold"):
		return "Metrc holds this package. Lift the hold in Metrc, then resend."
	case strings.Contains(msg, "finished") || strings.Contains(msg, "archived") || strings.Contains(msg, "inactive"):
		return "Metrc says the package is no longer active. Compare it in Inventory audit; discard this if it is no longer needed."
	case j.State == app.StateNeedsAttention && j.Reason != "":
		return j.Reason
	case j.State == app.StateNeedsAttention:
		return "Metrc refused this record. Read its message below, edit and resend, or discard it with a reason."
	case j.State == app.StateUnknown:
		return "Sent, but Metrc did not answer. tracesync checks whether it arrived before sending again. Nothing to do."
	case j.State == app.StateRetrying:
		return "Not sent yet: Metrc could not be reached. tracesync keeps trying. Nothing to do."
	case j.State == app.StatePending:
		return "Waiting its turn to be sent. Nothing to do."
	}
	return ""
}

// showError shows what went wrong in plain words, the detail behind a
// button, and logs nothing secret (errors never carry keys).
func showError(w fyne.Window, what string, err error) {
	if w == nil || err == nil {
		return
	}
	words := widget.NewLabel(plainError(err))
	words.Wrapping = fyne.TextWrapWord
	detail := widget.NewLabel(err.Error())
	detail.Wrapping = fyne.TextWrapWord
	detail.Hide()
	var more *widget.Button
	more = widget.NewButton("Show details", func() {
		detail.Show()
		more.Hide()
	})
	content := container.NewVBox(words, more, detail)
	d := dialog.NewCustom(what, "Close", content, w)
	d.Resize(fyne.NewSize(480, 200))
	d.Show()
}

// errorLine is a one-line plain-words message, for places without room for
// a dialog; an error without plain words is shown itself (errors never
// carry keys), so the detail is never more than a glance away.
func errorLine(what string, err error) string {
	if words := plainError(err); words != genericWords {
		return fmt.Sprintf("%s: %s", what, words)
	}
	return fmt.Sprintf("%s: %v. Nothing was lost.", what, err)
}

// smtpCode finds the SMTP reply codes in an error text (a 4xx or 5xx
// standing alone, as in `451 "try again later"` or "535 5.7.8 ..."), not
// digits of a port or an address.
var smtpCode = regexp.MustCompile(`(?:^|[\s:(])([45][0-9][0-9])(?:[\s-]|$)`)

// mailWords says in plain words why the mail server did not take a report
// mail, from its error text ("" when the text is not about mail). The
// outbox keeps errors as text, so the text is what is classified.
func mailWords(msg string) string {
	m := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(m, sub) {
				return true
			}
		}
		return false
	}
	code := map[string]bool{}
	for _, c := range smtpCode.FindAllStringSubmatch(m, -1) {
		code[c[1]] = true
	}
	anyCode := func(cs ...string) bool {
		for _, c := range cs {
			if code[c] {
				return true
			}
		}
		return false
	}
	switch {
	case m == "":
		return ""
	case has("smtp is not set up"):
		return "The mail server (SMTP) is not set up. Fill in the mail settings in Settings."
	case has("smtp password", "keyring"):
		return "The SMTP password could not be read from the system keyring. Enter it again in Settings."
	case anyCode("530", "534", "535") || has("authentication", "auth failed", "username and password"):
		return "The mail server did not accept the SMTP user name or password. Check them in Settings."
	case has("x509", "certificate", "starttls", "tls:"):
		return "No secure connection (STARTTLS) to the mail server could be made. Check the SMTP host and port in Settings."
	case has("connection refused", "no such host", "network is unreachable", "host is unreachable", "dial tcp", "connection reset"):
		return "The mail server could not be reached. Check the SMTP host and port in Settings, and the network."
	case has("deadline exceeded", "timeout", "timed out"):
		return "The mail server did not answer in time."
	case anyCode("550", "551", "552", "553", "554") || has("recipient", "mailbox", "mail sender"):
		return "The mail server refused the mail or an address. Check the sender and admin addresses in Settings."
	case anyCode("421", "450", "451", "452") || has("try again"):
		return "The mail server is busy and asked to try again later."
	case has("smtp", "send mail"):
		return "The mail server did not accept it."
	}
	return ""
}
