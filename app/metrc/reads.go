package metrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"tracesync/app"
)

// maxPages stops a list whose envelope keeps promising more pages.
const maxPages = 5000

// get runs one GET and returns its body.
func (c *Client) get(ctx context.Context, license, endpoint, path string, q url.Values) ([]byte, error) {
	r, err := c.do(ctx, call{method: http.MethodGet, path: path, endpoint: endpoint, license: license, query: q})
	return r.body, err
}

// decodeErr is a 2xx answer the client could not read: Metrc answered, but
// nothing trustworthy came back.
func decodeErr(endpoint string, err error) error {
	return &app.MetrcError{Class: app.ClassAmbiguous, Status: http.StatusOK, Endpoint: endpoint,
		Err: fmt.Errorf("unreadable answer: %w", err)}
}

// list fetches every page of a v2 list.
func list[T any](ctx context.Context, c *Client, license, endpoint, path string, q url.Values) ([]T, error) {
	var all []T
	for n := 1; n <= maxPages; n++ {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("pageNumber", strconv.Itoa(n))
		pq.Set("pageSize", strconv.Itoa(PageSize))
		body, err := c.get(ctx, license, endpoint, path, pq)
		if err != nil {
			return nil, err
		}
		items, pages, err := decodeList[T](body)
		if err != nil {
			return nil, decodeErr(endpoint, err)
		}
		all = append(all, items...)
		if n >= pages || len(items) == 0 {
			return all, nil
		}
	}
	// A silently cut list would make a lookup say "not found" and a POST be
	// sent again: say that the answer is incomplete instead.
	return nil, decodeErr(endpoint, fmt.Errorf("more than %d pages", maxPages))
}

// listWindows fetches a list over lastModified windows of at most 24 h.
// A zero from means no filter (everything); a zero to means now.
func listWindows[T any](ctx context.Context, c *Client, license, endpoint, path string, from, to time.Time) ([]T, error) {
	q := url.Values{"licenseNumber": {license}}
	if from.IsZero() {
		return list[T](ctx, c, license, endpoint, path, q)
	}
	if to.IsZero() {
		to = c.now()
	}
	var all []T
	for _, w := range windows(from, to) {
		wq := url.Values{"licenseNumber": {license}}
		wq.Set("lastModifiedStart", queryTime(w.start))
		wq.Set("lastModifiedEnd", queryTime(w.end))
		items, err := list[T](ctx, c, license, endpoint, path, wq)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

func mapAll[W interface{ domain() D }, D any](ws []W) []D {
	out := make([]D, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.domain())
	}
	return out
}

// Facilities lists the licenses the user key may use.
func (c *Client) Facilities(ctx context.Context) ([]app.Facility, error) {
	const ep = "GET /facilities/v2"
	body, err := c.get(ctx, "", ep, "/facilities/v2", nil)
	if err != nil {
		return nil, err
	}
	ws, _, err := decodeList[wireFacility](body)
	if err != nil {
		return nil, decodeErr(ep, err)
	}
	return mapAll[wireFacility, app.Facility](ws), nil
}

// Units lists the active units of measure.
func (c *Client) Units(ctx context.Context) ([]app.Unit, error) {
	const ep = "GET /unitsofmeasure/v2/active"
	body, err := c.get(ctx, "", ep, "/unitsofmeasure/v2/active", nil)
	if err != nil {
		return nil, err
	}
	ws, _, err := decodeList[wireUnit](body)
	if err != nil {
		return nil, decodeErr(ep, err)
	}
	return mapAll[wireUnit, app.Unit](ws), nil
}

// Items lists the license's active items.
func (c *Client) Items(ctx context.Context, license string) ([]app.Item, error) {
	ws, err := list[wireItem](ctx, c, license, "GET /items/v2/active", "/items/v2/active", url.Values{"licenseNumber": {license}})
	if err != nil {
		return nil, err
	}
	return mapAll[wireItem, app.Item](ws), nil
}

// Locations lists the license's active locations.
func (c *Client) Locations(ctx context.Context, license string) ([]app.Location, error) {
	ws, err := list[wireLocation](ctx, c, license, "GET /locations/v2/active", "/locations/v2/active", url.Values{"licenseNumber": {license}})
	if err != nil {
		return nil, err
	}
	return mapAll[wireLocation, app.Location](ws), nil
}

// Packages lists active (or inactive) packages modified in [from, to), in
// windows of at most 24 h; zero times mean all. A package seen in two
// windows (the bounds overlap by rounding) is listed once, newest wins.
func (c *Client) Packages(ctx context.Context, license string, active bool, from, to time.Time) ([]app.MetrcPackage, error) {
	path := "/packages/v2/inactive"
	if active {
		path = "/packages/v2/active"
	}
	ws, err := listWindows[wirePackage](ctx, c, license, "GET "+path, path, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]app.MetrcPackage, 0, len(ws))
	seen := make(map[string]int, len(ws))
	for _, w := range ws {
		p := w.domain()
		if from.IsZero() && !to.IsZero() && !p.LastModified.Before(to) {
			continue
		}
		if i, ok := seen[p.Label]; ok {
			if p.LastModified.After(out[i].LastModified) {
				out[i] = p
			}
			continue
		}
		seen[p.Label] = len(out)
		out = append(out, p)
	}
	return out, nil
}

// PackageByLabel returns one package of the license. A label Metrc does
// not know is app.ErrNotFound; so is a label of another license (Metrc
// answers 401 for it), once a second call shows the credentials are good.
func (c *Client) PackageByLabel(ctx context.Context, license, label string) (app.MetrcPackage, error) {
	const ep = "GET /packages/v2/{label}"
	body, err := c.get(ctx, license, ep, "/packages/v2/"+url.PathEscape(label), url.Values{"licenseNumber": {license}})
	if err != nil {
		return app.MetrcPackage{}, c.lookupError(ctx, license, err)
	}
	var w wirePackage
	if err := json.Unmarshal(body, &w); err != nil {
		return app.MetrcPackage{}, decodeErr(ep, err)
	}
	return w.domain(), nil
}

// ReceiptByExternalNumber returns the license's receipt with that
// ExternalReceiptNumber, or app.ErrNotFound (as PackageByLabel).
func (c *Client) ReceiptByExternalNumber(ctx context.Context, license, number string) (app.Receipt, error) {
	const ep = "GET /sales/v2/receipts/external/{externalNumber}"
	body, err := c.get(ctx, license, ep, "/sales/v2/receipts/external/"+url.PathEscape(number), url.Values{"licenseNumber": {license}})
	if err != nil {
		return app.Receipt{}, c.lookupError(ctx, license, err)
	}
	var w wireReceipt
	if err := json.Unmarshal(body, &w); err != nil {
		return app.Receipt{}, decodeErr(ep, err)
	}
	return w.domain(), nil
}

// lookupError turns a 404 of a single lookup into app.ErrNotFound, and a
// 401 into app.ErrNotFound too when the license's credentials still work
// (Metrc's answer for a record of another license); the probe is a cheap
// GET of one minute of the license's active packages.
func (c *Client) lookupError(ctx context.Context, license string, err error) error {
	var me *app.MetrcError
	if !errors.As(err, &me) {
		return err
	}
	switch me.Status {
	case http.StatusNotFound:
		me.Err = app.ErrNotFound
		return me
	case http.StatusUnauthorized:
		now := c.now()
		q := url.Values{"licenseNumber": {license}, "lastModifiedStart": {queryTime(floorSecond(now.Add(-time.Minute)))},
			"lastModifiedEnd": {queryTime(floorSecond(now))}, "pageNumber": {"1"}, "pageSize": {"1"}}
		if _, perr := c.get(ctx, license, "GET /packages/v2/active", "/packages/v2/active", q); perr == nil {
			return &app.MetrcError{Class: app.ClassPermanent, Status: me.Status, Endpoint: me.Endpoint,
				Messages: me.Messages, Err: fmt.Errorf("not a record of license %s: %w", license, app.ErrNotFound)}
		}
	}
	return err
}

// Adjustments lists the license's package adjustments, only those of
// label when it is not "" (Metrc has no such filter: the client pages
// through them all).
func (c *Client) Adjustments(ctx context.Context, license, label string) ([]app.Adjustment, error) {
	ws, err := list[wireAdjustment](ctx, c, license, "GET /packages/v2/adjustments", "/packages/v2/adjustments", url.Values{"licenseNumber": {license}})
	if err != nil {
		return nil, err
	}
	out := []app.Adjustment{}
	for _, w := range ws {
		if label == "" || string(w.PackageLabel) == label {
			out = append(out, w.domain())
		}
	}
	return out, nil
}

// IncomingTransfers lists the license's incoming transfers modified in
// [from, to) with the packages of their deliveries to this license.
func (c *Client) IncomingTransfers(ctx context.Context, license string, from, to time.Time) ([]app.Transfer, error) {
	ws, err := listWindows[wireTransfer](ctx, c, license, "GET /transfers/v2/incoming", "/transfers/v2/incoming", from, to)
	if err != nil {
		return nil, err
	}
	var out []app.Transfer
	index := map[int64]int{}
	deliveryIDs := map[int64]map[int64]bool{} // transfer -> the delivery ids Metrc named
	for _, w := range ws {
		id := int64(w.ID)
		if _, ok := index[id]; !ok {
			index[id] = len(out)
			out = append(out, app.Transfer{
				ID: id, ManifestNumber: string(w.ManifestNumber),
				ShipperLicense: string(w.ShipperFacilityLicenseNumber), ShipperName: string(w.ShipperFacilityName),
				LastModified: instant(string(w.LastModified)),
			})
			deliveryIDs[id] = map[int64]bool{}
		}
		if w.DeliveryID > 0 {
			deliveryIDs[id][int64(w.DeliveryID)] = true
		}
		if lm := instant(string(w.LastModified)); lm.After(out[index[id]].LastModified) {
			out[index[id]].LastModified = lm
		}
	}
	for i := range out {
		t := &out[i]
		ds, err := list[wireDelivery](ctx, c, license, "GET /transfers/v2/{id}/deliveries",
			"/transfers/v2/"+strconv.FormatInt(t.ID, 10)+"/deliveries", nil)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if !ourDelivery(d, license, deliveryIDs[t.ID]) {
				continue
			}
			ps, err := list[wireTransferPackage](ctx, c, license, "GET /transfers/v2/deliveries/{id}/packages",
				"/transfers/v2/deliveries/"+strconv.FormatInt(int64(d.ID), 10)+"/packages", nil)
			if err != nil {
				return nil, err
			}
			t.Packages = append(t.Packages, mapAll[wireTransferPackage, app.TransferPackage](ps)...)
		}
	}
	return out, nil
}

// ourDelivery picks the deliveries of a transfer that come to license: the
// ones the incoming list named, else those whose recipient is the license
// (a transfer may have deliveries to other facilities).
func ourDelivery(d wireDelivery, license string, named map[int64]bool) bool {
	if len(named) > 0 {
		return named[int64(d.ID)]
	}
	r := string(d.RecipientFacilityLicenseNumber)
	return r == "" || r == license
}

// ActiveReceipts lists the license's active sales receipts whose sales
// date is in [from, to), in windows of at most 24 h. The bounds are sent in
// loc, the license's zone, without offset, like SalesDateTime itself. A
// zero to means now; a zero from, the 24 hours before to.
func (c *Client) ActiveReceipts(ctx context.Context, license string, loc *time.Location, from, to time.Time) ([]app.Receipt, error) {
	if loc == nil {
		loc = time.UTC
	}
	if to.IsZero() {
		to = c.now()
	}
	if from.IsZero() {
		from = to.Add(-maxWindow)
	}
	var all []app.Receipt
	seen := map[int64]bool{}
	for _, w := range windows(from, to) {
		q := url.Values{"licenseNumber": {license}}
		q.Set("salesDateStart", w.start.In(loc).Format("2006-01-02T15:04:05"))
		q.Set("salesDateEnd", w.end.In(loc).Format("2006-01-02T15:04:05"))
		ws, err := list[wireReceipt](ctx, c, license, "GET /sales/v2/receipts/active", "/sales/v2/receipts/active", q)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if w.ID != 0 && seen[int64(w.ID)] {
				continue
			}
			seen[int64(w.ID)] = true
			all = append(all, w.domain())
		}
	}
	return all, nil
}
