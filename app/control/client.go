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

// Client talks to the process that owns a data folder.
type Client struct {
	hc    *http.Client
	token string
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
	c.Close()
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		DisableKeepAlives: true,
	}
	return &Client{hc: &http.Client{Transport: tr}, token: token}, nil
}

// RemoveStale removes the endpoint files of dir. Call it only while holding
// the folder's lock.
func RemoveStale(dir string) { removeEndpoint(dir) }

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
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
func (c *Client) Import(ctx context.Context, kind importcsv.Kind, r io.Reader) (ImportResult, error) {
	var out ImportResult
	err := c.do(ctx, http.MethodPost, "/import?kind="+kind.String(), r, &out)
	return out, err
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
