package metrc

import (
	"strings"
	"time"

	"tracesync/app"
)

// timeLayouts are the forms Metrc's documents show for timestamps and dates:
// with an offset ("2026-02-08T07:05:59.804361+00:00", "...Z"), without one
// (SalesDateTime "2016-10-04T16:44:53.000"), date-only ("2014-11-29") and
// the US forms of older exports. Fractional seconds are accepted after the
// seconds of any layout.
var timeLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	app.DateLayout,
	"2006-01-02Z07:00",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
	"1/2/2006",
}

// maxTimeLen bounds the input: nothing Metrc sends is longer.
const maxTimeLen = 64

// parseTime reads a Metrc timestamp or date in any layout of timeLayouts.
// Values without an offset are read in loc (nil = UTC). Metrc's
// "0001-01-01T00:00:00+00:00" placeholder gives the zero time.
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxTimeLen {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	s = strings.ToUpper(s) // "t", "z", "pm"
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if t.Year() <= 1 {
				return time.Time{}, true
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// instant parses a timestamp Metrc sends with an offset (LastModified);
// unreadable or absent gives the zero time.
func instant(s string) time.Time {
	t, ok := parseTime(s, time.UTC)
	if !ok || t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// dateOnly normalises a date-only field to 2006-01-02, keeping the calendar
// date as written (a "2024-01-15T09:30:00Z" is 2024-01-15). Unreadable text
// is kept as it came, trimmed.
func dateOnly(s string) string {
	s = strings.TrimSpace(s)
	t, ok := parseTime(s, time.UTC)
	if !ok {
		if len(s) > maxTimeLen {
			return s[:maxTimeLen]
		}
		return s
	}
	if t.IsZero() {
		return ""
	}
	return t.Format(app.DateLayout)
}

// queryTime renders a lastModified bound: UTC, whole seconds, "Z" (no "+"
// to escape).
func queryTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// localNoOffset matches the SalesDateTime form Metrc requires: license-local
// wall time without an offset.
func localNoOffset(s string) bool {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

// maxWindow is the longest lastModified range Metrc accepts in one query.
const maxWindow = 24 * time.Hour

// window is one [start, end] lastModified range of a query.
type window struct{ start, end time.Time }

// windows splits [from, to) into ranges of at most maxWindow, on whole
// seconds (from rounded down, to rounded up, so nothing is left out).
func windows(from, to time.Time) []window {
	from = floorSecond(from)
	to = ceilSecond(to)
	var out []window
	for s := from; s.Before(to); {
		e := s.Add(maxWindow)
		if e.After(to) {
			e = to
		}
		out = append(out, window{s, e})
		s = e
	}
	return out
}

func floorSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func ceilSecond(t time.Time) time.Time {
	f := floorSecond(t)
	if f.Equal(t) {
		return f
	}
	return f.Add(time.Second)
}
