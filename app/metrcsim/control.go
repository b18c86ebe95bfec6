package metrcsim

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// control answers the /sim/ endpoints, to loopback clients only.
func (s *Sim) control(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		ctlJSON(w, http.StatusForbidden, map[string]string{"Message": "The simulator's controls answer loopback clients only."})
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/sim/faults" && r.Method == http.MethodGet:
		ctlJSON(w, http.StatusOK, s.Faults())
	case path == "/sim/faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if !ctlDecode(w, r, &f) {
			return
		}
		s.SetFaults(f)
		ctlJSON(w, http.StatusOK, s.Faults())
	case path == "/sim/schedule" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var ps []Phase
		if !ctlDecode(w, r, &ps) {
			return
		}
		s.Schedule(ps...)
		ctlJSON(w, http.StatusOK, map[string]int{"Phases": len(ps)})
	case path == "/sim/stats" && r.Method == http.MethodGet:
		ctlJSON(w, http.StatusOK, s.Stats())
	case path == "/sim/packages" && r.Method == http.MethodGet:
		ps := s.Packages(r.URL.Query().Get("licenseNumber"))
		if ps == nil {
			ps = []SimPackage{}
		}
		ctlJSON(w, http.StatusOK, ps)
	case path == "/sim/package" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var c struct {
			License, Label string
			Quantity       *float64
			OnHold         *bool
			Finish         bool
		}
		if !ctlDecode(w, r, &c) {
			return
		}
		if _, ok := s.Package(c.License, c.Label); !ok {
			ctlJSON(w, http.StatusNotFound, map[string]string{"Message": "No such package."})
			return
		}
		if c.Quantity != nil {
			s.SetPackageQuantity(c.License, c.Label, *c.Quantity)
		}
		if c.OnHold != nil {
			s.SetOnHold(c.License, c.Label, *c.OnHold)
		}
		if c.Finish {
			s.FinishPackage(c.License, c.Label)
		}
		p, _ := s.Package(c.License, c.Label)
		ctlJSON(w, http.StatusOK, p)
	default:
		ctlJSON(w, http.StatusNotFound, map[string]string{"Message": "Unknown control endpoint."})
	}
}

func ctlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ctlJSON(w, http.StatusBadRequest, map[string]string{"Message": "Bad JSON: " + err.Error()})
		return false
	}
	return true
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
