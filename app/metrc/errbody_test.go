package metrc

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecodeErrorBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		general []string
		rows    map[int][]string
	}{
		{"empty", "", nil, nil},
		{"message", `{"Message":"No data found."}`, []string{"No data found."}, nil},
		{"message lower", `{"message":"bad"}`, []string{"bad"}, nil},
		{"rows", `[{"row":0,"message":"Package ABC not found."},{"row":2,"message":"Item X unknown."}]`,
			nil, map[int][]string{0: {"Package ABC not found."}, 2: {"Item X unknown."}}},
		{"rows any case", `[{"Row":1,"Message":"a"},{"ROW":"1","MESSAGE":"b"}]`, nil, map[int][]string{1: {"a", "b"}}},
		{"row without index", `[{"message":"whole"}]`, []string{"whole"}, nil},
		{"model state", `{"Message":"The request is invalid.","ModelState":{"request[3].Quantity":["must be positive"]}}`,
			[]string{"The request is invalid."}, map[int][]string{3: {"must be positive"}}},
		{"json string", `"Object limit exceeded"`, []string{"Object limit exceeded"}, nil},
		{"plain text", "The limit of API calls allowed has been exceeded\n", []string{"The limit of API calls allowed has been exceeded"}, nil},
		{"html title", "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Down</h1></body></html>",
			[]string{"503 Service Unavailable"}, nil},
		{"html no title", "<html><body><h1>Bad &amp; gateway</h1><script>x()</script></body></html>", []string{"Bad & gateway"}, nil},
		{"garbage", "\x00\xff\xfe{{{", []string{"\uFFFD{{{"}, nil},
		{"bom", "\xef\xbb\xbf{\"Message\":\"x\"}", []string{"x"}, nil},
		{"unknown json", `{"foo":1}`, []string{`{"foo":1}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeErrorBody([]byte(tt.body))
			if !reflect.DeepEqual(got.Messages, tt.general) {
				t.Errorf("messages = %q, want %q", got.Messages, tt.general)
			}
			if len(got.Rows) != len(tt.rows) || (len(tt.rows) > 0 && !reflect.DeepEqual(got.Rows, tt.rows)) {
				t.Errorf("rows = %v, want %v", got.Rows, tt.rows)
			}
		})
	}
}

func TestDecodeErrorBodyShort(t *testing.T) {
	got := decodeErrorBody([]byte("<html><body>" + strings.Repeat("word ", 5000) + "</body></html>"))
	if len(got.Messages) != 1 || utf8.RuneCountInString(got.Messages[0]) > maxHTMLMessage+1 {
		t.Fatalf("HTML page not shortened: %d runes", utf8.RuneCountInString(got.Messages[0]))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {"0", 0}, {"-3", 0}, {"1.5", 1500 * time.Millisecond},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"999999999", maxRetryAfter}, {"soon", 0}, {"NaN", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("Retry-After %q = %s, want %s", tt.v, got, tt.want)
		}
	}
}

// FuzzDecodeError: any body decodes without panic into short, clean text.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"Message":"x"}`, `[{"row":0,"message":"m"}]`, `[{"Row":"7","Message":"m"}]`, "plain", "<html><title>t</title></html>",
		`{"ModelState":{"a[1]":["x"]}}`, `[[[[[[["deep"]]]]]]]`, `{"Message":null}`, `[{"row":1e99,"message":"m"}]`,
		"\xff\xfe", `{"errors":[{"row":2,"message":"e"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b := decodeErrorBody(body)
		all := b.all()
		if len(all) > maxMessages+1 {
			t.Fatalf("%d messages", len(all))
		}
		for _, m := range all {
			if !utf8.ValidString(m) || utf8.RuneCountInString(m) > maxMessageLen+1 || m == "" {
				t.Fatalf("bad message %q", m)
			}
			if strings.ContainsAny(m, "\n\r\t\x00") {
				t.Fatalf("control character in %q", m)
			}
		}
		for r := range b.Rows {
			if r < 0 {
				t.Fatalf("negative row %d", r)
			}
		}
	})
}
