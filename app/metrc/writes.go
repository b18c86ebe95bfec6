package metrc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"tracesync/app"
)

// CreatePackages records assemblies (POST /packages/v2).
func (c *Client) CreatePackages(ctx context.Context, license string, p []app.PackageCreate) []error {
	return writeAll(ctx, c, http.MethodPost, "/packages/v2", license, p, nil)
}

// AdjustPackages records adjustments (POST /packages/v2/adjust).
func (c *Client) AdjustPackages(ctx context.Context, license string, a []app.PackageAdjust) []error {
	return writeAll(ctx, c, http.MethodPost, "/packages/v2/adjust", license, a, nil)
}

// ChangeLocations moves packages (PUT /packages/v2/location).
func (c *Client) ChangeLocations(ctx context.Context, license string, l []app.LocationChange) []error {
	return writeAll(ctx, c, http.MethodPut, "/packages/v2/location", license, l, nil)
}

// FinishPackages finishes packages (PUT /packages/v2/finish).
func (c *Client) FinishPackages(ctx context.Context, license string, f []app.PackageFinish) []error {
	return writeAll(ctx, c, http.MethodPut, "/packages/v2/finish", license, f, nil)
}

// CreateReceipts records sales receipts (POST /sales/v2/receipts). Each
// SalesDateTime must already be license-local without an offset, as Metrc
// requires; one that is not is rejected here (ClassPermanent) and not sent.
func (c *Client) CreateReceipts(ctx context.Context, license string, r []app.SalesReceipt) []error {
	return writeAll(ctx, c, http.MethodPost, "/sales/v2/receipts", license, r, func(r app.SalesReceipt) string {
		if !localNoOffset(r.SalesDateTime) {
			return fmt.Sprintf("SalesDateTime %q must be the license's local time without offset (%s)", r.SalesDateTime, app.SalesDateTimeLayout)
		}
		return ""
	})
}

// CreateOutgoingTemplates records outgoing transfer templates
// (POST /transfers/v2/templates/outgoing).
func (c *Client) CreateOutgoingTemplates(ctx context.Context, license string, t []app.OutgoingTemplate) []error {
	return writeAll(ctx, c, http.MethodPost, "/transfers/v2/templates/outgoing", license, t, nil)
}

// writeAll encodes the objects, drops those check rejects (check may be
// nil) and sends the rest in chunks.
func writeAll[T any](ctx context.Context, c *Client, method, path, license string, objs []T, check func(T) string) []error {
	endpoint := method + " " + path
	w := &writer{
		c: c, ctx: ctx, f: c.lim.facility(license),
		k:    call{method: method, path: path, endpoint: endpoint, license: license, query: url.Values{"licenseNumber": {license}}},
		objs: make([]json.RawMessage, len(objs)),
		errs: make([]error, len(objs)),
	}
	for i, o := range objs {
		if check != nil {
			if msg := check(o); msg != "" {
				w.errs[i] = &app.MetrcError{Class: app.ClassPermanent, Endpoint: endpoint, Messages: []string{msg}}
				continue
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			w.errs[i] = &app.MetrcError{Class: app.ClassPermanent, Endpoint: endpoint, Err: fmt.Errorf("encode object: %w", err)}
			continue
		}
		w.objs[i] = b
		w.idx = append(w.idx, i)
	}
	w.size = w.f.chunkSize(c.chunk)
	w.run(0, len(w.idx))
	return w.errs
}

// writer sends one write call's objects. Positions lo..hi index idx, the
// input indices still to send.
type writer struct {
	c    *Client
	ctx  context.Context
	f    *facility
	k    call
	objs []json.RawMessage
	idx  []int
	errs []error
	size int
	// stop, once set, is why the remaining objects are not sent.
	stop *app.MetrcError
}

func (w *writer) run(lo, hi int) {
	for lo < hi {
		if w.stop != nil {
			for p := lo; p < hi; p++ {
				w.errs[w.idx[p]] = w.unsent()
			}
			return
		}
		end := min(lo+w.size, hi)
		e, eb := w.send(lo, end)
		switch {
		case e == nil:
		case e.Status == http.StatusRequestEntityTooLarge && end-lo > 1:
			// Too many objects for Metrc: halve, keep the size for the
			// facility, and resend the same objects.
			w.size = max(1, (end-lo)/2)
			w.f.learnChunk(w.size)
			continue
		case e.Status == http.StatusBadRequest:
			rows := rowsWithin(eb, end-lo)
			if len(rows) == 0 && end-lo > 1 {
				// Metrc did not say which object is wrong, and nothing of
				// a rejected request is applied: find it by halves.
				mid := lo + (end-lo)/2
				w.run(lo, mid)
				w.run(mid, end)
				break
			}
			w.reject(lo, end, e, rows, eb.Messages)
		case e.Class == app.ClassPermanent && e.Status != http.StatusRequestEntityTooLarge:
			// 404, 405, 415...: the endpoint itself is refused.
			w.fill(lo, end, e)
			w.stop = e
		default:
			w.fill(lo, end, e)
			if e.Class != app.ClassPermanent {
				w.stop = e
			}
		}
		lo = end
	}
}

// send posts objects lo..hi as one request.
func (w *writer) send(lo, hi int) (*app.MetrcError, errorBody) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for p := lo; p < hi; p++ {
		if p > lo {
			buf.WriteByte(',')
		}
		buf.Write(w.objs[w.idx[p]])
	}
	buf.WriteByte(']')
	k := w.k
	k.body = buf.Bytes()
	r, err := w.c.do(w.ctx, k)
	if err == nil {
		return nil, errorBody{}
	}
	var e *app.MetrcError
	if errors.As(err, &e) {
		return e, r.errBody
	}
	return &app.MetrcError{Class: app.ClassAmbiguous, Endpoint: w.k.endpoint, Err: err}, r.errBody
}

// fill gives every object lo..hi its own copy of e.
func (w *writer) fill(lo, hi int, e *app.MetrcError) {
	for p := lo; p < hi; p++ {
		cp := *e
		cp.Messages = append([]string(nil), e.Messages...)
		w.errs[w.idx[p]] = &cp
	}
}

// reject maps a 400 to the objects it names (rows are positions within the
// request); the others of the request were not applied: not sent.
func (w *writer) reject(lo, hi int, e *app.MetrcError, rows map[int][]string, general []string) {
	if len(rows) == 0 { // a single object: it is the one
		w.fill(lo, hi, e)
		return
	}
	named := make([]int, 0, len(rows))
	for r := range rows {
		named = append(named, r)
	}
	sort.Ints(named)
	for p := lo; p < hi; p++ {
		if msgs, ok := rows[p-lo]; ok {
			w.errs[w.idx[p]] = &app.MetrcError{Class: app.ClassPermanent, Status: e.Status, Endpoint: e.Endpoint,
				Messages: append(append([]string(nil), msgs...), general...)}
			continue
		}
		w.errs[w.idx[p]] = &app.MetrcError{Class: app.ClassNotSent, Status: e.Status, Endpoint: e.Endpoint,
			Err: fmt.Errorf("not applied: Metrc rejected the request because of another object (%s)", rowList(w.idx, lo, named))}
	}
}

// unsent is the error of an object left unsent after w.stop: the same
// class (the engine treats it the same way), no HTTP status of its own.
func (w *writer) unsent() error {
	st := w.stop
	if st.Class == app.ClassAmbiguous {
		return &app.MetrcError{Class: app.ClassNotSent, Endpoint: st.Endpoint,
			Err: errors.New("not sent: an earlier request of this call got no answer")}
	}
	why := fmt.Sprintf("HTTP %d", st.Status)
	if st.Status == 0 && st.Err != nil {
		why = st.Err.Error()
	}
	return &app.MetrcError{Class: st.Class, RetryAfter: st.RetryAfter, Endpoint: st.Endpoint,
		Messages: append([]string(nil), st.Messages...), Err: fmt.Errorf("not sent: an earlier request of this call failed (%s)", why)}
}

func rowList(idx []int, lo int, rows []int) string {
	s := ""
	for i, r := range rows {
		if i > 0 {
			s += ", "
		}
		if lo+r < len(idx) {
			s += fmt.Sprintf("input %d", idx[lo+r])
		}
	}
	return s
}

// rowsWithin keeps the rows of a 400 that name one of the n objects sent.
func rowsWithin(eb errorBody, n int) map[int][]string {
	rows := map[int][]string{}
	for r, msgs := range eb.Rows {
		if r >= 0 && r < n {
			rows[r] = msgs
		}
	}
	return rows
}
