package metrc

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
		zero bool
	}{
		{"2026-02-08T07:05:59.804361+00:00", nil, time.Date(2026, 2, 8, 7, 5, 59, 804361000, time.UTC), false},
		{"2024-01-15T09:30:00Z", nil, time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), false},
		{"2016-10-10T08:20:45-08:00", nil, time.Date(2016, 10, 10, 16, 20, 45, 0, time.UTC), false},
		{"2016-10-04T16:44:53.000", la, time.Date(2016, 10, 4, 16, 44, 53, 0, la), false},
		{"2016-10-11T14:48:30.000", nil, time.Date(2016, 10, 11, 14, 48, 30, 0, time.UTC), false},
		{"2014-11-29", nil, time.Date(2014, 11, 29, 0, 0, 0, 0, time.UTC), false},
		{"2026-02-08T07:05:59.8043610+00:00", nil, time.Date(2026, 2, 8, 7, 5, 59, 804361000, time.UTC), false},
		{"2026-02-08 07:05:59", nil, time.Date(2026, 2, 8, 7, 5, 59, 0, time.UTC), false},
		{"3/1/2026 1:04 PM", nil, time.Date(2026, 3, 1, 13, 4, 0, 0, time.UTC), false},
		{"3/1/2026", nil, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-02-08t07:05:59z", nil, time.Date(2026, 2, 8, 7, 5, 59, 0, time.UTC), false},
		{"0001-01-01T00:00:00+00:00", nil, time.Time{}, true},
		{"0001-01-01", nil, time.Time{}, true},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in, tt.loc)
		if !ok {
			t.Errorf("parseTime(%q) failed", tt.in)
			continue
		}
		if tt.zero {
			if !got.IsZero() {
				t.Errorf("parseTime(%q) = %v, want zero", tt.in, got)
			}
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "2026-02-30T00:00:00Z"} {
		if _, ok := parseTime(bad, nil); ok {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}

func TestDateOnly(t *testing.T) {
	for in, want := range map[string]string{
		"2014-11-29": "2014-11-29", "2024-01-15T09:30:00Z": "2024-01-15", "2024-01-15T23:30:00-08:00": "2024-01-15",
		"": "", "0001-01-01": "", "junk": "junk",
	} {
		if got := dateOnly(in); got != want {
			t.Errorf("dateOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWindows(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 500, time.UTC)
	to := from.Add(50 * time.Hour)
	ws := windows(from, to)
	if len(ws) != 3 {
		t.Fatalf("%d windows, want 3: %v", len(ws), ws)
	}
	if !ws[0].start.Equal(from.Truncate(time.Second)) || ws[2].end.Before(to) {
		t.Errorf("windows do not cover [from, to): %v", ws)
	}
	for i, w := range ws {
		if w.end.Sub(w.start) > maxWindow {
			t.Errorf("window %d is %s", i, w.end.Sub(w.start))
		}
		if i > 0 && !w.start.Equal(ws[i-1].end) {
			t.Errorf("gap before window %d", i)
		}
		if queryTime(w.start) != w.start.Format("2006-01-02T15:04:05Z") {
			t.Errorf("window %d start not on a second", i)
		}
	}
	if ws := windows(to, from); len(ws) != 0 {
		t.Errorf("reversed range gives %v", ws)
	}
}

func TestLocalNoOffset(t *testing.T) {
	for in, want := range map[string]bool{
		"2016-10-04T16:44:53.000": true, "2016-10-04T16:44:53": true, "2016-10-04T16:44": true,
		"2016-10-04T16:44:53Z": false, "2016-10-04T16:44:53-07:00": false, "2016-10-04": false, "": false,
	} {
		if got := localNoOffset(in); got != want {
			t.Errorf("localNoOffset(%q) = %v", in, got)
		}
	}
}

// FuzzParseTime: never panics; a parsed instant formats and parses back to
// itself; anything RFC 3339 renders is read back exactly.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-02-08T07:05:59.804361+00:00", "2016-10-04T16:44:53.000", "2014-11-29", "1/2/2006 3:04 PM",
		"0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999999-23:59", "2026-02-08T07:05:59+0530"} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, sec int64) {
		if got, ok := parseTime(s, time.UTC); ok && !got.IsZero() {
			back, ok := parseTime(got.Format(time.RFC3339Nano), time.UTC)
			if !ok || !back.Equal(got) {
				t.Fatalf("%q -> %v -> %v (%v)", s, got, back, ok)
			}
		}
		_ = dateOnly(s)
		_ = instant(s)
		tm := time.Unix(sec, 0).UTC()
		if tm.Year() < 2 || tm.Year() > 9999 {
			return
		}
		if got, ok := parseTime(tm.Format(time.RFC3339Nano), time.UTC); !ok || !got.Equal(tm) {
			t.Fatalf("RFC 3339 %v read as %v (%v)", tm, got, ok)
		}
	})
}
