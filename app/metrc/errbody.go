package metrc

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what is kept of an error body: a person reads it, so it stays short.
const (
	maxErrBody     = 1 << 20 // bytes read from an error response
	maxMessageLen  = 500     // runes per message
	maxMessages    = 50      // messages per body
	maxHTMLMessage = 200     // runes kept of an HTML page
)

// errorBody is what an error response says: messages for the request as a
// whole and messages naming a row (the index in the posted array).
type errorBody struct {
	Messages []string
	Rows     map[int][]string
}

// all returns every message, general ones first, then by row.
func (b errorBody) all() []string {
	out := append([]string(nil), b.Messages...)
	rows := make([]int, 0, len(b.Rows))
	for r := range b.Rows {
		rows = append(rows, r)
	}
	sort.Ints(rows)
	for _, r := range rows {
		out = append(out, b.Rows[r]...)
	}
	return out
}

func (b *errorBody) add(row int, msg string) {
	msg = cleanMessage(msg, maxMessageLen)
	if msg == "" || len(b.Messages)+len(b.Rows) >= maxMessages {
		return
	}
	if row < 0 {
		b.Messages = append(b.Messages, msg)
		return
	}
	if b.Rows == nil {
		b.Rows = map[int][]string{}
	}
	b.Rows[row] = append(b.Rows[row], msg)
}

var (
	htmlTitle   = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	htmlDrop    = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	indexInPath = regexp.MustCompile(`\[(\d+)\]`)
)

// decodeErrorBody reads any error body Metrc (or a proxy in front of it)
// may send: {"Message":"..."}, [{"row":0,"message":"..."}] with keys in any
// case, ASP.NET's ModelState, a JSON string, an HTML page (its title, else
// its text) or plain text. It never fails and never panics: garbage comes
// back as short cleaned text.
func decodeErrorBody(body []byte) errorBody {
	var b errorBody
	if len(body) > maxErrBody {
		body = body[:maxErrBody]
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return b
	}
	switch body[0] {
	case '[', '{', '"':
		var v any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if d.Decode(&v) == nil {
			decodeJSONError(&b, v, -1, 0)
			if len(b.Messages) > 0 || len(b.Rows) > 0 {
				return b
			}
		}
	}
	if looksHTML(body) {
		b.add(-1, htmlText(body))
		return b
	}
	b.add(-1, string(body))
	return b
}

// decodeJSONError walks a decoded JSON error; row is the row the enclosing
// array element named (-1: none).
func decodeJSONError(b *errorBody, v any, row int, depth int) {
	if depth > 4 {
		return
	}
	switch x := v.(type) {
	case string:
		b.add(row, x)
	case []any:
		for i, e := range x {
			if i >= maxMessages {
				break
			}
			decodeJSONError(b, e, row, depth+1)
		}
	case map[string]any:
		r := row
		var msgs []string
		var model any
		var nested []any
		var rest []string
		for k, val := range x {
			switch strings.ToLower(k) {
			case "row", "index", "rowindex":
				if n, ok := intValue(val); ok && n >= 0 && n < 1<<20 {
					r = n
				}
			case "message", "error", "errormessage", "error_description", "detail", "title", "exceptionmessage":
				if s, ok := val.(string); ok {
					msgs = append(msgs, s)
				}
			case "messages", "errors":
				if arr, ok := val.([]any); ok {
					nested = append(nested, arr)
				} else if s, ok := val.(string); ok {
					msgs = append(msgs, s)
				} else if m, ok := val.(map[string]any); ok {
					model = m
				}
			case "modelstate":
				model = val
			default:
				if s, ok := val.(string); ok {
					rest = append(rest, s)
				}
			}
		}
		sort.Strings(msgs) // map order is random; keep output stable
		for _, m := range msgs {
			b.add(r, m)
		}
		for _, n := range nested {
			decodeJSONError(b, n, r, depth+1)
		}
		if m, ok := model.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				mr := r
				if sm := indexInPath.FindStringSubmatch(k); sm != nil {
					if n, err := strconv.Atoi(sm[1]); err == nil && n < 1<<20 {
						mr = n
					}
				}
				decodeJSONError(b, m[k], mr, depth+1)
			}
		}
		if len(msgs) == 0 && model == nil && len(nested) == 0 && len(rest) > 0 {
			sort.Strings(rest)
			for _, m := range rest {
				b.add(r, m)
			}
		}
	}
}

func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil && f == float64(int(f)) {
			return int(f), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, true
		}
	}
	return 0, false
}

func looksHTML(body []byte) bool {
	head := body
	if len(head) > 512 {
		head = head[:512]
	}
	l := bytes.ToLower(head)
	return bytes.HasPrefix(l, []byte("<")) || bytes.Contains(l, []byte("<html")) || bytes.Contains(l, []byte("<!doctype")) || bytes.Contains(l, []byte("<body"))
}

// htmlText returns an HTML page's title, or its text without tags.
func htmlText(body []byte) string {
	if m := htmlTitle.FindSubmatch(body); m != nil {
		if t := cleanMessage(html.UnescapeString(string(m[1])), maxHTMLMessage); t != "" {
			return t
		}
	}
	s := htmlDrop.ReplaceAllString(string(body), " ")
	s = htmlTag.ReplaceAllString(s, " ")
	return cleanMessage(html.UnescapeString(s), maxHTMLMessage)
}

// cleanMessage makes outside text safe to show and store: valid UTF-8, no
// control characters, runs of space collapsed, at most max runes.
func cleanMessage(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return ""
	}
	return out
}

// maxRetryAfter caps a Retry-After so a wild value cannot stop a facility
// for days.
const maxRetryAfter = time.Hour

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f != f || f <= 0 { // NaN or not positive
			return 0
		}
		if f > maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		d = time.Duration(f * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
