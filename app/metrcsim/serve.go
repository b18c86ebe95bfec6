package metrcsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// Serve serves s on addr (a loopback address; "" = 127.0.0.1:0), calls ready
// (if not nil) with the base URL once connections are accepted, and serves
// until ctx ends; it then shuts the server down, cutting requests still
// hanging, and returns nil. It returns an error when it cannot listen.
func Serve(ctx context.Context, addr string, s *Sim, ready func(url string)) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrcsim: serve %q: %w", addr, err)
	}
	if host != "localhost" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("metrcsim: serve %q: only loopback addresses are allowed", addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrcsim: serve: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-done:
		return fmt.Errorf("metrcsim: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // hung requests: close their connections
	}
	<-done
	return nil
}

// ErrDropped is what Transport returns when the simulator closed the
// connection without an answer (OutageDrop, DropAfterApply).
var ErrDropped = errors.New("metrcsim: connection closed without a response")

// Transport returns an http.RoundTripper that calls the simulator in memory,
// for tests in testing/synctest bubbles where real sockets never idle. The
// request appears to come from 127.0.0.1. Dropped connections come back as
// an error wrapping ErrDropped (and io.ErrUnexpectedEOF); hangs last until
// the request's context ends.
func (s *Sim) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Sim }

func (t transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	var body []byte
	if req.Body != nil {
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	in := req.Clone(req.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.RemoteAddr = "127.0.0.1:1"
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	rec := httptest.NewRecorder()
	dropped := func() (d bool) {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					panic(v)
				}
				d = true
			}
		}()
		t.s.ServeHTTP(rec, in)
		return false
	}()
	if dropped {
		return nil, fmt.Errorf("%w: %w", ErrDropped, io.ErrUnexpectedEOF)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}
