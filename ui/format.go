package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"tracesync/app"
)

// clockTime renders t in loc: "09:12" today, "Mon 09:12" this week,
// "2026-11-20 09:12" before.
func clockTime(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t, now = t.In(loc), now.In(loc)
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case now.Sub(t) < 6*24*time.Hour && now.After(t):
		return t.Format("Mon 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// agoAndAt renders "09:12 (2 h 05 min ago)", or never when t is zero.
func agoAndAt(t, now time.Time, loc *time.Location, never string) string {
	if t.IsZero() {
		return never
	}
	return fmt.Sprintf("%s (%s ago)", clockTime(t, now, loc), app.Span(now.Sub(t)))
}

// plural renders "1 record" / "3 records".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return app.Thousands(n) + " " + many
}

// qty renders a quantity without trailing zeros.
func qty(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

// wrapText breaks each line of s at spaces so no line is much longer than
// width characters (popups size to their text).
func wrapText(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for len(line) > width {
			i := strings.LastIndex(line[:width], " ")
			if i <= 0 {
				i = width
			}
			out = append(out, line[:i])
			line = strings.TrimLeft(line[i:], " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
