package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// humanDuration renders a duration the way people say it: "45 s",
// "4 min", "2 h 05 min", "3 d 4 h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

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
	return fmt.Sprintf("%s (%s ago)", clockTime(t, now, loc), humanDuration(now.Sub(t)))
}

// count renders 1284 as "1,284".
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural renders "1 record" / "3 records".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
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
