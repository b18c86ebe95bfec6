package metrc

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"tracesync/app"
)

// Metrc's published limits (Bulletin 89) and the client's defaults.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultGetRate        = 5.0   // GETs per second per facility
	MaxGetRate            = 50.0  // Metrc's limit per facility
	MaxVendorGetRate      = 150.0 // Metrc's limit per vendor key
	DefaultMaxGets        = 10    // concurrent GETs per facility (Metrc's limit)
	MaxVendorGets         = 30    // concurrent GETs per vendor key (Metrc's limit)
	DefaultChunkSize      = 10    // objects per write request (Metrc's object limit)
	DefaultWriteInterval  = 100 * time.Millisecond
	PageSize              = 20 // Metrc's largest v2 page
)

// Options configure a Client. Zero fields take the defaults above.
type Options struct {
	// BaseURL is Metrc's API root, e.g. StateURL("ca"). It must be https
	// unless the host is loopback (the simulator).
	BaseURL   string
	VendorKey string // the software's key: HTTP Basic user name
	UserKey   string // the person's key: HTTP Basic password

	// HTTPClient replaces the client's own (whose connect timeout is
	// ConnectTimeout). Timeout still applies to every request.
	HTTPClient     *http.Client
	Timeout        time.Duration // whole request, response body included
	ConnectTimeout time.Duration

	GetRate           float64 // GETs/s per facility, at most MaxGetRate
	VendorGetRate     float64 // GETs/s over all facilities, at most MaxVendorGetRate
	MaxConcurrentGets int     // per facility, at most DefaultMaxGets
	ChunkSize         int     // objects per write request, at most DefaultChunkSize
	// WriteInterval paces a facility's write requests: one per interval
	// on average, never more than k in any k intervals, and never closer
	// than 3/4 of one (so a write that started late lets the next catch
	// up); negative means no pacing.
	WriteInterval time.Duration

	// Observer receives every HTTP exchange (may be nil).
	Observer app.CallObserver
}

// StateURL is the production API root of a state, e.g. "ca".
func StateURL(state string) string {
	return "https://api-" + strings.ToLower(strings.TrimSpace(state)) + ".metrc.com"
}

// SandboxURL is the sandbox API root of a state.
func SandboxURL(state string) string {
	return "https://sandbox-api-" + strings.ToLower(strings.TrimSpace(state)) + ".metrc.com"
}

// Client is a Metrc v2 API client, safe for concurrent use.
type Client struct {
	base    *url.URL
	auth    string // "Basic ..." header value
	secrets []string
	hc      *http.Client
	// traced: the transport reports when a request was written (an
	// *http.Transport). Other round trippers cannot say, so their failures
	// count as written unless they are dial or DNS errors.
	traced   bool
	timeout  time.Duration
	chunk    int
	observer app.CallObserver
	lim      limits
	now      func() time.Time
}

var (
	_ app.Metrc          = (*Client)(nil)
	_ app.MetrcTemplates = (*Client)(nil)
	_ app.MetrcReceipts  = (*Client)(nil)
)

// New checks the options and returns a client. Its errors never contain keys.
func New(o Options) (*Client, error) {
	base, err := checkBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if o.VendorKey == "" || o.UserKey == "" {
		return nil, errors.New("metrc: vendor key and user key are required")
	}
	if strings.ContainsAny(o.VendorKey, ":\r\n") || strings.ContainsAny(o.UserKey, "\r\n") {
		return nil, errors.New("metrc: API keys contain characters HTTP Basic auth cannot carry")
	}
	switch {
	case o.GetRate < 0 || o.GetRate > MaxGetRate:
		return nil, fmt.Errorf("metrc: GET rate %g/s outside 0..%g", o.GetRate, MaxGetRate)
	case o.VendorGetRate < 0 || o.VendorGetRate > MaxVendorGetRate:
		return nil, fmt.Errorf("metrc: vendor GET rate %g/s outside 0..%g", o.VendorGetRate, MaxVendorGetRate)
	case o.MaxConcurrentGets < 0 || o.MaxConcurrentGets > DefaultMaxGets:
		return nil, fmt.Errorf("metrc: %d concurrent GETs outside 0..%d", o.MaxConcurrentGets, DefaultMaxGets)
	case o.ChunkSize < 0 || o.ChunkSize > DefaultChunkSize:
		return nil, fmt.Errorf("metrc: chunk size %d outside 0..%d", o.ChunkSize, DefaultChunkSize)
	case o.Timeout < 0 || o.ConnectTimeout < 0:
		return nil, errors.New("metrc: negative timeout")
	}
	c := &Client{
		base:     base,
		timeout:  cmp(o.Timeout, DefaultTimeout),
		chunk:    cmp(o.ChunkSize, DefaultChunkSize),
		observer: o.Observer,
		now:      time.Now,
	}
	token := base64.StdEncoding.EncodeToString([]byte(o.VendorKey + ":" + o.UserKey))
	c.auth = "Basic " + token
	c.secrets = []string{token, o.VendorKey, o.UserKey}
	c.hc = o.HTTPClient
	if c.hc == nil {
		c.hc = newHTTPClient(cmp(o.ConnectTimeout, DefaultConnectTimeout))
	}
	switch c.hc.Transport.(type) {
	case nil, *http.Transport:
		c.traced = true
	}
	wi := o.WriteInterval
	if wi == 0 {
		wi = DefaultWriteInterval
	}
	c.lim = limits{
		getRate:     cmp(o.GetRate, DefaultGetRate),
		maxGets:     cmp(o.MaxConcurrentGets, DefaultMaxGets),
		writeEvery:  wi,
		vendorGetRL: newBucket(cmp(o.VendorGetRate, MaxVendorGetRate)),
		vendorGets:  make(semaphore, MaxVendorGets),
		byLicense:   map[string]*facility{},
	}
	return c, nil
}

func cmp[T int | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// checkBaseURL accepts https URLs, and http ones only on loopback hosts.
func checkBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return nil, errors.New("metrc: base URL must be an absolute URL such as https://api-ca.metrc.com")
	}
	if u.User != nil {
		return nil, errors.New("metrc: base URL must not carry credentials; use the vendor and user keys")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("metrc: base URL must not have a query or fragment")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("metrc: %s must use https (plain http only for loopback)", u.Host)
		}
	default:
		return nil, fmt.Errorf("metrc: base URL scheme %q is not https", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newHTTPClient(connect time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connect
	t.MaxIdleConnsPerHost = DefaultMaxGets + 2
	return &http.Client{
		Transport: t,
		// A redirect would turn a POST into a GET; Metrc does not redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// call is one HTTP exchange.
type call struct {
	method   string
	path     string // concrete path under the base URL, escaped
	endpoint string // method and template, for errors and the observer
	license  string // limits and observer; also sent as licenseNumber when query is
	query    url.Values
	body     []byte // JSON for writes
}

// reply is a 2xx answer.
type reply struct {
	status  int
	body    []byte
	errBody errorBody // a non-2xx answer's body, decoded
}

// maxBody bounds a success body (a page of 20 packages is ~ 100 KB).
const maxBody = 64 << 20

// do runs one exchange within the facility's limits and classifies its
// failure as an *app.MetrcError.
func (c *Client) do(ctx context.Context, k call) (reply, error) {
	f := c.lim.facility(k.license)
	if d := f.paused(c.now()); d > 0 {
		return reply{}, pausedError(k, d)
	}
	if k.method == http.MethodGet {
		if err := c.lim.vendorGets.acquire(ctx); err != nil {
			return reply{}, notSent(k, err)
		}
		defer c.lim.vendorGets.release()
		if err := f.gets.acquire(ctx); err != nil {
			return reply{}, notSent(k, err)
		}
		defer f.gets.release()
		if err := f.getRL.wait(ctx); err != nil {
			return reply{}, notSent(k, err)
		}
		if err := c.lim.vendorGetRL.wait(ctx); err != nil {
			return reply{}, notSent(k, err)
		}
	} else if err := f.writes.wait(ctx); err != nil {
		return reply{}, notSent(k, err)
	}
	// A 429 may have come while this call waited its turn.
	if d := f.paused(c.now()); d > 0 {
		return reply{}, pausedError(k, d)
	}
	return c.exchange(ctx, f, k)
}

// pausedError answers a call made while Metrc's Retry-After runs: nothing
// is sent.
func pausedError(k call, d time.Duration) error {
	return &app.MetrcError{Class: app.ClassRateLimited, RetryAfter: d, Endpoint: k.endpoint,
		Err: fmt.Errorf("rate limited by Metrc: waiting %s before calling again", d.Round(time.Second))}
}

func notSent(k call, err error) error {
	return &app.MetrcError{Class: app.ClassNotSent, Endpoint: k.endpoint, Err: err}
}

func (c *Client) exchange(ctx context.Context, f *facility, k call) (reply, error) {
	// k.path is escaped already (labels and receipt numbers go through
	// url.PathEscape), so it is appended to the escaped base as text.
	raw := c.base.String() + k.path
	if k.query != nil {
		raw += "?" + k.query.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var wrote atomic.Bool // set on the transport's writer goroutine
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, raw, body)
	if err != nil {
		return reply{}, c.finish(k, time.Now(), 0, &app.MetrcError{Class: app.ClassNotSent, Endpoint: k.endpoint, Err: errors.New("bad request URL")})
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, c.finish(k, start, 0, c.transportError(k, err, wrote.Load() || !c.traced, ctx))
	}
	defer resp.Body.Close()
	limit := int64(maxBody)
	if resp.StatusCode/100 != 2 {
		limit = maxErrBody
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, limit))
	if resp.StatusCode/100 == 2 {
		if rerr != nil && k.method == http.MethodGet {
			// A 2xx write was applied even if its body was cut; a GET needs the body.
			return reply{}, c.finish(k, start, resp.StatusCode, c.transportError(k, rerr, true, ctx))
		}
		return reply{status: resp.StatusCode, body: data}, c.finish(k, start, resp.StatusCode, nil)
	}
	eb := c.redactBody(decodeErrorBody(data))
	e := c.statusError(k, resp, eb)
	if e.Class == app.ClassRateLimited && e.RetryAfter > 0 {
		f.pause(c.now().Add(e.RetryAfter))
	}
	return reply{status: resp.StatusCode, errBody: eb}, c.finish(k, start, resp.StatusCode, e)
}

// finish reports the exchange to the observer and returns err.
func (c *Client) finish(k call, start time.Time, status int, err error) error {
	if c.observer != nil {
		call := app.Call{License: k.license, Endpoint: k.endpoint, Start: start, Duration: time.Since(start), Status: status}
		if err != nil {
			call.Err = err
		}
		c.observer(call)
	}
	if err == nil {
		return nil
	}
	return err
}

// statusError classifies a non-2xx answer (DESIGN.md's job-state table).
func (c *Client) statusError(k call, resp *http.Response, eb errorBody) *app.MetrcError {
	e := &app.MetrcError{Status: resp.StatusCode, Endpoint: k.endpoint}
	e.Messages = eb.all()
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Class = app.ClassAuth
	case s == http.StatusTooManyRequests:
		e.Class = app.ClassRateLimited
		e.RetryAfter = retryAfter(resp.Header, c.now())
	case s == http.StatusRequestTimeout || s >= 500 || s/100 == 3 || s < 200:
		// The request reached something that gave no trustworthy answer.
		e.Class = app.ClassAmbiguous
	default: // 400, 404, 405, 413, 415, ...
		e.Class = app.ClassPermanent
	}
	return e
}

// transportError classifies a failure without an HTTP answer: before the
// request was written it surely was not applied; after, nobody knows.
func (c *Client) transportError(k call, err error, wrote bool, ctx context.Context) *app.MetrcError {
	e := &app.MetrcError{Class: app.ClassAmbiguous, Endpoint: k.endpoint, Err: c.redactErr(err)}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		e.Class = app.ClassNotSent
	case errors.As(err, &op) && op.Op == "dial":
		e.Class = app.ClassNotSent
	case !wrote:
		e.Class = app.ClassNotSent
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && e.Class == app.ClassAmbiguous {
		e.Err = fmt.Errorf("timeout after %s: %w", c.timeout, e.Err)
	}
	return e
}

// redact removes the keys (and the Basic token) from outside text.
func (c *Client) redact(s string) string {
	for _, k := range c.secrets {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

func (c *Client) redactBody(b errorBody) errorBody {
	for i, m := range b.Messages {
		b.Messages[i] = c.redact(m)
	}
	for _, msgs := range b.Rows {
		for i, m := range msgs {
			msgs[i] = c.redact(m)
		}
	}
	return b
}

// redactErr keeps err for errors.Is/As when its text is clean, and
// replaces it with clean text otherwise.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); c.redact(s) != s {
		return errors.New(c.redact(s))
	}
	return err
}
