package metrcsim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const outageHTML = `<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head>
<body><h1>Service Unavailable</h1>
<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>
</body></html>
`

// Metrc's messages for the failures that are not validation rows.
const (
	msgAuth      = "Authorization has been denied for this request."
	msgRate      = "The limit of API calls allowed has been exceeded"
	msgServer    = "An error has occurred."
	msgNotFound  = "No data was found."
	msgNoLicense = "No license number was specified."
)

// req is one API request being answered.
type req struct {
	w      http.ResponseWriter
	r      *http.Request
	q      url.Values
	lic    string   // licenseNumber ("" when absent)
	segs   []string // path segments without the version: ["packages","v2","active"]
	faults Faults
	now    time.Time
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/sim" || strings.HasPrefix(r.URL.Path, "/sim/") {
		s.control(w, r)
		return
	}
	now := s.now()
	s.fmu.Lock()
	f := cloneFaults(s.currentLocked(now))
	s.fmu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		now = s.now()
	}
	switch f.Outage {
	case Outage503:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(outageHTML))
		s.count(r.Method, http.StatusServiceUnavailable)
		return
	case OutageDrop:
		s.drop(w)
		return
	case OutageHang:
		s.fmu.Lock()
		s.stats.Hung++
		s.fmu.Unlock()
		// Read the body first: net/http only notices a client that gave up
		// once the request body is consumed, so a hung write would otherwise
		// never end.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}

	q := r.URL.Query()
	x := &req{w: w, r: r, q: q, lic: q.Get("licenseNumber"), faults: f, now: now}
	path := strings.Trim(r.URL.Path, "/")
	if path != "" {
		x.segs = strings.Split(path, "/")
		for i, sg := range x.segs {
			if u, err := url.PathUnescape(sg); err == nil {
				x.segs[i] = u
			}
		}
	}

	user, pass, ok := r.BasicAuth()
	if !ok || user != s.vendorKey || pass != s.userKey {
		s.message(x, http.StatusUnauthorized, msgAuth)
		return
	}
	if x.lic != "" && !s.hasAccess(x.lic) {
		s.message(x, http.StatusUnauthorized, msgAuth)
		return
	}
	if r.Method == http.MethodGet && f.GetRateLimit > 0 {
		s.fmu.Lock()
		allowed := s.allowGetLocked(x.lic, f.GetRateLimit, now)
		if !allowed {
			s.stats.RateLimited++
		}
		s.fmu.Unlock()
		if !allowed {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
			}
			s.message(x, http.StatusTooManyRequests, msgRate)
			return
		}
	}
	for _, p := range f.Fail500 {
		if p == "" || !strings.HasPrefix(r.URL.Path, p) {
			continue
		}
		s.fmu.Lock()
		fail := f.Fail500Prob <= 0 || s.chanceLocked(f.Fail500Prob)
		if fail {
			s.stats.Failed500++
		}
		s.fmu.Unlock()
		if fail {
			s.message(x, http.StatusInternalServerError, msgServer)
			return
		}
		break
	}
	s.route(x)
}

// hasAccess reports whether the user may act for the license.
func (s *Sim) hasAccess(lic string) bool {
	s.mu.Lock()
	_, ok := s.w.Licenses[lic]
	s.mu.Unlock()
	if !ok {
		return false
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return !s.revoked[lic]
}

// drop closes the connection without an answer.
func (s *Sim) drop(w http.ResponseWriter) {
	s.fmu.Lock()
	s.stats.Dropped++
	s.fmu.Unlock()
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Sim) count(method string, status int) {
	s.fmu.Lock()
	s.stats.Requests[fmt.Sprintf("%s %d", method, status)]++
	s.fmu.Unlock()
}

func (s *Sim) json(x *req, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"Message":"An error has occurred."}`)
	}
	x.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	x.w.WriteHeader(status)
	x.w.Write(b)
	s.count(x.r.Method, status)
}

func (s *Sim) message(x *req, status int, msg string) {
	s.json(x, status, map[string]string{"Message": msg})
}

// rowError is one entry of Metrc's validation array.
type rowError struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

func (s *Sim) empty(x *req) {
	x.w.WriteHeader(http.StatusOK)
	s.count(x.r.Method, http.StatusOK)
}

// route dispatches an authenticated request.
func (s *Sim) route(x *req) {
	sg := x.segs
	n := len(sg)
	if n < 2 || sg[1] != "v2" {
		s.notFound(x)
		return
	}
	m := x.r.Method
	at := func(i int) string {
		if i < n {
			return sg[i]
		}
		return ""
	}
	need := func() bool {
		if x.lic == "" {
			s.message(x, http.StatusBadRequest, msgNoLicense)
			return false
		}
		return true
	}
	switch sg[0] {
	case "facilities":
		if n == 2 {
			s.only(x, http.MethodGet, s.getFacilities)
			return
		}
	case "unitsofmeasure":
		if n == 3 && (at(2) == "active" || at(2) == "inactive") {
			s.only(x, http.MethodGet, s.getUnits)
			return
		}
	case "items":
		if n == 3 && at(2) == "active" {
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getItems(x)
				}
			})
			return
		}
	case "locations":
		if n == 3 && at(2) == "active" {
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getLocations(x)
				}
			})
			return
		}
	case "packages":
		switch {
		case n == 2:
			s.only(x, http.MethodPost, func(x *req) {
				if need() {
					s.write(x, s.createPackages)
				}
			})
			return
		case n == 3 && (at(2) == "active" || at(2) == "inactive" || at(2) == "onhold"):
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getPackages(x, at(2))
				}
			})
			return
		case n == 3 && at(2) == "adjustments":
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getAdjustments(x)
				}
			})
			return
		case n == 3 && at(2) == "adjust":
			s.only(x, http.MethodPost, func(x *req) {
				if need() {
					s.write(x, s.adjustPackages)
				}
			})
			return
		case n == 4 && at(2) == "adjust" && at(3) == "reasons":
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getAdjustReasons(x)
				}
			})
			return
		case n == 3 && at(2) == "location":
			s.only(x, http.MethodPut, func(x *req) {
				if need() {
					s.write(x, s.movePackages)
				}
			})
			return
		case n == 3 && at(2) == "finish":
			s.only(x, http.MethodPut, func(x *req) {
				if need() {
					s.write(x, s.finishPackages)
				}
			})
			return
		case n == 3:
			s.only(x, http.MethodGet, func(x *req) { s.getPackage(x, at(2)) })
			return
		}
	case "transfers":
		switch {
		case n == 3 && at(2) == "incoming":
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getIncoming(x)
				}
			})
			return
		case n == 4 && at(3) == "deliveries":
			s.only(x, http.MethodGet, func(x *req) { s.getDeliveries(x, at(2)) })
			return
		case n == 5 && at(2) == "deliveries" && at(3) == "packages" && at(4) == "states":
			s.only(x, http.MethodGet, func(x *req) {
				s.json(x, http.StatusOK, []string{"Shipped", "Rejected", "Accepted", "Returned"})
			})
			return
		case n == 5 && at(2) == "deliveries" && at(4) == "packages":
			s.only(x, http.MethodGet, func(x *req) { s.getDeliveryPackages(x, at(3)) })
			return
		case n == 4 && at(2) == "templates" && at(3) == "outgoing":
			switch m {
			case http.MethodPost:
				if need() {
					s.write(x, s.createTemplates)
				}
			case http.MethodGet:
				if need() {
					s.getTemplates(x)
				}
			default:
				s.notAllowed(x)
			}
			return
		}
	case "sales":
		if at(2) != "receipts" {
			break
		}
		switch {
		case n == 3:
			s.only(x, http.MethodPost, func(x *req) {
				if need() {
					s.write(x, s.createReceipts)
				}
			})
			return
		case n == 4 && (at(3) == "active" || at(3) == "inactive"):
			s.only(x, http.MethodGet, func(x *req) {
				if need() {
					s.getReceipts(x, at(3) == "active")
				}
			})
			return
		case n == 5 && at(3) == "external":
			s.only(x, http.MethodGet, func(x *req) { s.getReceiptByExternal(x, at(4)) })
			return
		case n == 4:
			s.only(x, http.MethodGet, func(x *req) { s.getReceiptByID(x, at(3)) })
			return
		}
	}
	s.notFound(x)
}

func (s *Sim) only(x *req, method string, h func(*req)) {
	if x.r.Method != method {
		s.notAllowed(x)
		return
	}
	h(x)
}

func (s *Sim) notAllowed(x *req) {
	s.message(x, http.StatusMethodNotAllowed,
		fmt.Sprintf("The requested resource does not support http method '%s'.", x.r.Method))
}

func (s *Sim) notFound(x *req) {
	s.message(x, http.StatusNotFound, msgNotFound)
}

// envelope is Metrc's v2 page.
type envelope[T any] struct {
	Data          []T
	Total         int
	TotalRecords  int
	PageSize      int
	RecordsOnPage int
	Page          int
	CurrentPage   int
	TotalPages    int
}

// pager is a request's pageNumber/pageSize (size 0 = pagination off).
type pager struct{ size, page int }

// pager reads pageNumber/pageSize; ok is false after a 400 was answered.
func (s *Sim) pager(x *req) (pager, bool) {
	pg := pager{page: 1}
	if v := x.q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			s.message(x, http.StatusBadRequest, "The pageSize parameter must be a number from 1 to 20.")
			return pg, false
		}
		pg.size = n
	}
	if v := x.q.Get("pageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.message(x, http.StatusBadRequest, "The pageNumber parameter must be a number greater than 0.")
			return pg, false
		}
		pg.page = n
	}
	return pg, true
}

// bounds is the slice [lo, hi) of total records on the page.
func (pg pager) bounds(total int) (lo, hi int) {
	if pg.size == 0 {
		if pg.page != 1 {
			return total, total
		}
		return 0, total
	}
	lo = min((pg.page-1)*pg.size, total)
	return lo, min(lo+pg.size, total)
}

// writePage answers one v2 envelope holding data, the page's records.
func writePage[T any](s *Sim, x *req, pg pager, total int, data []T) {
	if data == nil {
		data = []T{}
	}
	e := envelope[T]{Data: data, Total: total, TotalRecords: total, PageSize: pg.size,
		RecordsOnPage: len(data), Page: pg.page, CurrentPage: pg.page}
	switch {
	case pg.size == 0:
		e.PageSize = total
		if total > 0 {
			e.TotalPages = 1
		}
	default:
		e.TotalPages = (total + pg.size - 1) / pg.size
	}
	s.json(x, http.StatusOK, e)
}

// paginate answers items as the v2 page pageNumber/pageSize choose (or a
// 400 when they are invalid).
func paginate[T any](s *Sim, x *req, items []T) {
	pg, ok := s.pager(x)
	if !ok {
		return
	}
	lo, hi := pg.bounds(len(items))
	writePage(s, x, pg, len(items), items[lo:hi])
}

// window reads lastModifiedStart/End; ok is false after a 400 was answered.
// Without both, has is false (no filter).
func (s *Sim) window(x *req, startKey, endKey string) (from, to time.Time, has, ok bool) {
	a, b := x.q.Get(startKey), x.q.Get(endKey)
	if a == "" && b == "" {
		return time.Time{}, time.Time{}, false, true
	}
	if a == "" || b == "" {
		s.message(x, http.StatusBadRequest, fmt.Sprintf("Both %s and %s must be specified.", startKey, endKey))
		return time.Time{}, time.Time{}, false, false
	}
	from, err1 := parseTime(a, time.UTC)
	to, err2 := parseTime(b, time.UTC)
	switch {
	case err1 != nil:
		s.message(x, http.StatusBadRequest, fmt.Sprintf("The %s parameter is not a valid date/time: %q.", startKey, a))
	case err2 != nil:
		s.message(x, http.StatusBadRequest, fmt.Sprintf("The %s parameter is not a valid date/time: %q.", endKey, b))
	case to.Before(from):
		s.message(x, http.StatusBadRequest, fmt.Sprintf("The %s must be before the %s.", startKey, endKey))
	case to.Sub(from) > 24*time.Hour:
		s.message(x, http.StatusBadRequest, fmt.Sprintf("The date range between %s and %s cannot exceed 24 hours.", startKey, endKey))
	default:
		return from, to, true, true
	}
	return time.Time{}, time.Time{}, false, false
}

// timeLayouts are the ISO-8601 forms accepted in query parameters and dates.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	dateLayout,
}

// parseTime parses s; forms without an offset are in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

func inWindow(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// stamp formats a LastModified the way Metrc does: UTC with "+00:00".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00+00:00"
	}
	return t.UTC().Format("2006-01-02T15:04:05.999999-07:00")
}
