package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"tracesync/app/importcsv"
)

// ErrNoOwner means nothing answers on the data folder's control endpoint.
// Stale reports whether an endpoint file was there all the same (left by a
// crashed owner, or by one that is just starting).
type ErrNoOwner struct{ Stale bool }

func (e *ErrNoOwner) Error() string {
	if e.Stale {
		return "no tracesync process answers on the control socket (stale socket)"
	}
	return "no tracesync process owns the data folder"
}

// DefaultTimeout bounds how long a request to the owner waits for its
// answer (Ping, Status, Jobs, Push, Report), and how long Import may see no
// progress (see Import). These answers take milliseconds: an owner that has
// not answered in this long is not busy but stopped (Ctrl-Z, kill -STOP) or
// hung, while it still holds the data folder.
const DefaultTimeout = 30 * time.Second

// ImportAnswerTimeout bounds how long Import waits, once the whole file is
// sent, for the owner to finish checking it and to enqueue its records in
// one transaction, even while the owner answers pings. The largest file
// importcsv accepts (MaxBytes, some 5 million rows) takes about a minute and
// a half on a laptop (100,000 rows take 2 s in BenchmarkImportReceipts100k),
// so only an owner whose import is stuck reaches it.
const ImportAnswerTimeout = 10 * time.Minute

// ErrNoAnswer means the owner accepted the connection but did not answer in
// time: a process holds the data folder, yet is stopped or hung.
type ErrNoAnswer struct {
	PID   int           // the owner's process id when the system tells it, else 0
	After time.Duration // how long the request waited
}

func (e *ErrNoAnswer) Error() string {
	who := "the tracesync process that owns the data folder"
	if e.PID > 0 {
		who += fmt.Sprintf(" (process %d)", e.PID)
	}
	return fmt.Sprintf("%s does not answer on its control socket (waited %s)", who, e.After)
}

// IsNoAnswer reports whether err is *ErrNoAnswer.
func IsNoAnswer(err error) bool {
	var e *ErrNoAnswer
	return errors.As(err, &e)
}

// Client talks to the process that owns a data folder.
type Client struct {
	hc    *http.Client
	token string
	pid   int // the owner's process id, 0 when unknown

	// Timeout replaces DefaultTimeout when positive.
	Timeout time.Duration
	// answerMax replaces ImportAnswerTimeout when positive (tests).
	answerMax time.Duration
}

// Dial connects to the owner of dir, or returns *ErrNoOwner.
func Dial(dir string) (*Client, error) {
	dial, token, exists, err := dialer(dir)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, &ErrNoOwner{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return nil, &ErrNoOwner{Stale: true}
	}
	// A stopped owner's socket still accepts connections (the kernel queues
	// them), so this proves only that it is there; requests are bounded by
	// Timeout.
	pid := peerPID(c)
	c.Close()
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}
	return &Client{hc: &http.Client{Transport: tr}, token: token, pid: pid}, nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) importAnswerTimeout() time.Duration {
	if c.answerMax > 0 {
		return c.answerMax
	}
	return ImportAnswerTimeout
}

// failed returns *ErrNoAnswer when err comes from ctx ending for want of an
// answer, else err.
func failed(ctx context.Context, err error) error {
	var na *ErrNoAnswer
	if err != nil && ctx.Err() != nil && errors.As(context.Cause(ctx), &na) {
		return na
	}
	return err
}

// RemoveStale removes the endpoint files of dir. Call it only while holding
// the folder's lock.
func RemoveStale(dir string) { removeEndpoint(dir) }

// do sends a request that must be answered, whole, within the timeout.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	t := c.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, t, &ErrNoAnswer{PID: c.pid, After: t})
	defer cancel()
	return failed(ctx, c.send(ctx, method, path, body, out))
}

// send sends a request with no bound of its own: ctx bounds it.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://tracesync"+path, body)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e Error
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &e) == nil && e.Msg != "" {
			if e.Code == 0 {
				e.Code = CodeFailure
			}
			return &e
		}
		return fmt.Errorf("control socket: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("control socket: decode answer: %w", err)
	}
	return nil
}

// Ping checks the owner answers.
func (c *Client) Ping(ctx context.Context) error {
	var v map[string]any
	return c.do(ctx, http.MethodGet, "/ping", nil, &v)
}

// Status is the owner's Backend.Status.
func (c *Client) Status(ctx context.Context) ([]Status, error) {
	var out []Status
	err := c.do(ctx, http.MethodGet, "/status", nil, &out)
	return out, err
}

// Jobs is the owner's Backend.ListJobs.
func (c *Client) Jobs(ctx context.Context, q JobsQuery) ([]JobInfo, error) {
	v := url.Values{}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.License != "" {
		v.Set("license", q.License)
	}
	var out []JobInfo
	err := c.do(ctx, http.MethodGet, "/jobs?"+v.Encode(), nil, &out)
	return out, err
}

// Push is the owner's Backend.Push.
func (c *Client) Push(ctx context.Context, req PushRequest) (PushResult, error) {
	b, _ := json.Marshal(req)
	var out PushResult
	err := c.do(ctx, http.MethodPost, "/push", bytes.NewReader(b), &out)
	return out, err
}

// Import sends a whole CSV file to the owner's Backend.Import.
//
// A 100,000-row file legitimately takes seconds, and a file of MaxBytes
// minutes, so Import has no bound on its whole length; it gives up (with
// *ErrNoAnswer) when the owner stops making progress instead:
//   - while the file is sent, when the owner has taken none of it for the
//     timeout (the owner checks rows as it reads them, so a working owner
//     keeps reading; time spent waiting for r itself, a slow pipe on
//     standard input, is not the owner's and does not count);
//   - once it is all sent, the owner checks the last rows and enqueues
//     them in one transaction without a byte to show for it: then it must
//     answer a ping on another connection at least once per timeout (a
//     stopped owner answers none), and answer the import within
//     ImportAnswerTimeout (an owner whose import is stuck while the rest of
//     it answers).
func (c *Client) Import(ctx context.Context, kind importcsv.Kind, r io.Reader) (ImportResult, error) {
	idle := c.timeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &progress{start: time.Now()}
	w.touch()
	go c.watch(ctx, cancel, w, idle)
	var out ImportResult
	err := c.send(ctx, http.MethodPost, "/import?kind="+kind.String(), &progressReader{r: r, p: w}, &out)
	return out, failed(ctx, err)
}

// progress is what Import watches; times are since start (monotonic).
type progress struct {
	start    time.Time
	last     atomic.Int64 // the last sign of progress
	sent     atomic.Int64 // when the whole file was sent; 0 before
	inSource atomic.Bool  // reading the caller's reader: not the owner's time
}

func (p *progress) now() int64 { return int64(time.Since(p.start)) + 1 }
func (p *progress) touch()     { p.last.Store(p.now()) }

// progressReader is the request body: each read means the owner took what
// the last read gave (the transport reads more only once it is written).
type progressReader struct {
	r io.Reader
	p *progress
}

func (b *progressReader) Read(buf []byte) (int, error) {
	b.p.inSource.Store(true)
	n, err := b.r.Read(buf)
	b.p.inSource.Store(false)
	b.p.touch()
	if err == io.EOF {
		b.p.sent.CompareAndSwap(0, b.p.now())
	}
	return n, err
}

// watch cancels an import's ctx with *ErrNoAnswer when the owner stops
// making progress (see Import), pinging it once the file is sent.
func (c *Client) watch(ctx context.Context, cancel context.CancelCauseFunc, p *progress, idle time.Duration) {
	answerMax := c.importAnswerTimeout()
	tick := time.NewTicker(min(max(idle/20, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	var lastPing int64
	pinging := make(chan struct{}, 1) // one ping at a time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := p.now()
		if p.inSource.Load() {
			p.touch()
			continue
		}
		if sent := p.sent.Load(); sent != 0 {
			if time.Duration(now-sent) > answerMax {
				cancel(&ErrNoAnswer{PID: c.pid, After: answerMax})
				return
			}
			if time.Duration(now-lastPing) >= idle/4 {
				select {
				case pinging <- struct{}{}:
					lastPing = now
					go func() {
						defer func() { <-pinging }()
						if c.Ping(ctx) == nil {
							p.touch()
						}
					}()
				default:
				}
			}
		}
		if time.Duration(now-p.last.Load()) > idle {
			cancel(&ErrNoAnswer{PID: c.pid, After: idle})
			return
		}
	}
}

// Report writes the owner's Backend.WriteReport to w.
func (c *Client) Report(ctx context.Context, w io.Writer, date, format string) error {
	v := url.Values{}
	v.Set("date", date)
	v.Set("format", format)
	return c.do(ctx, http.MethodGet, "/report?"+v.Encode(), nil, w)
}

// IsNoOwner reports whether err is *ErrNoOwner.
func IsNoOwner(err error) bool {
	var e *ErrNoOwner
	return errors.As(err, &e)
}
