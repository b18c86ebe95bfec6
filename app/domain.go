package app

import (
	"strings"
	"time"
)

// License is one Metrc facility tracesync keeps in step.
type License struct {
	Number   string `json:"number"`
	Name     string `json:"name"`
	TimeZone string `json:"timeZone"` // IANA name
	Paused   bool   `json:"paused"`   // paused by a person
}

// Location returns the license's time zone, falling back to UTC.
func (l License) Location() *time.Location {
	if loc, err := time.LoadLocation(l.TimeZone); err == nil && l.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// stateZones maps a US state code to its main time zone (the one its Metrc
// host name implies: api-ca → America/Los_Angeles).
var stateZones = map[string]string{
	"ak": "America/Anchorage", "al": "America/Chicago", "ca": "America/Los_Angeles",
	"co": "America/Denver", "dc": "America/New_York", "ky": "America/New_York",
	"la": "America/Chicago", "ma": "America/New_York", "md": "America/New_York",
	"me": "America/New_York", "mi": "America/Detroit", "mn": "America/Chicago",
	"mo": "America/Chicago", "ms": "America/Chicago", "mt": "America/Denver",
	"nj": "America/New_York", "nv": "America/Los_Angeles", "nm": "America/Denver",
	"oh": "America/New_York", "ok": "America/Chicago", "or": "America/Los_Angeles",
	"ri": "America/New_York", "sd": "America/Chicago", "va": "America/New_York",
	"wv": "America/New_York", "ny": "America/New_York", "il": "America/Chicago",
	"wa": "America/Los_Angeles", "az": "America/Phoenix", "ut": "America/Denver",
}

// ZoneForHost returns the IANA zone implied by a Metrc host such as
// api-ca.metrc.com or sandbox-api-ca.metrc.com, or "" when it implies none.
func ZoneForHost(host string) string {
	host = strings.ToLower(host)
	i := strings.Index(host, "api-")
	if i < 0 || len(host) < i+6 {
		return ""
	}
	return stateZones[host[i+4:i+6]]
}

// PackageState is one side's view of a package.
type PackageState struct {
	Item     string  `json:"item"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Location string  `json:"location"`
	OnHold   bool    `json:"onHold,omitempty"`
	Finished bool    `json:"finished,omitempty"`
}

// Package is a label as tracesync knows it: the local record beside the last
// Metrc snapshot.
type Package struct {
	License string `json:"license"`
	Label   string `json:"label"`

	Local        *PackageState `json:"local,omitempty"` // nil: not in local inventory
	LocalUpdated time.Time     `json:"localUpdated"`

	Metrc             *PackageState `json:"metrc,omitempty"` // nil: not seen in Metrc
	MetrcID           int64         `json:"metrcId,omitempty"`
	MetrcLastModified time.Time     `json:"metrcLastModified"`
	PulledAt          time.Time     `json:"pulledAt"` // when the snapshot was fetched

	// LastJobFinished is when a job on this label last reached a final state;
	// a snapshot pulled before it is stale and not compared.
	LastJobFinished time.Time `json:"lastJobFinished"`
	// Pinned fields ("quantity", "location", ...) were restored by a person
	// (undo of a repair): reconcile raises an audit item instead of repairing.
	Pinned []string `json:"pinned,omitempty"`
}

// RefData is what a license's pulls keep besides packages.
type RefData struct {
	Items     []Item     `json:"items"`
	Locations []Location `json:"locations"`
	Units     []Unit     `json:"units"`
	Pulled    time.Time  `json:"pulled"`
}

// Color is a license's health colour, in increasing severity after Grey.
type Color int

const (
	Grey Color = iota
	Green
	Orange
	Red
)

func (c Color) String() string {
	switch c {
	case Green:
		return "green"
	case Orange:
		return "orange"
	case Red:
		return "red"
	}
	return "grey"
}

// Health is a license's status (DESIGN.md rule 6).
type Health struct {
	License        string    `json:"license"`
	Name           string    `json:"name"`
	Color          Color     `json:"-"`
	Reason         string    `json:"reason"`
	Details        []string  `json:"details"`
	LastPullOK     time.Time `json:"-"`
	Pending        int       `json:"pending"`
	NeedsAttention int       `json:"needsAttention"`
	OldestPending  time.Time `json:"-"`
	// APIDown: red because no pull succeeded for too long (the global banner
	// shows when every active license has it).
	APIDown bool      `json:"-"`
	Since   time.Time `json:"-"` // when this colour and reason began
}

// OutageWindow is a stretch during which a license's Metrc calls failed.
type OutageWindow struct {
	License     string    `json:"license"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"` // zero while ongoing
	FailedCalls int       `json:"failedCalls"`
	Reason      string    `json:"reason"`
}

// Clock is where the engine, health and reports get the time. Tests run the
// real clock inside testing/synctest bubbles, where it is fake.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }
