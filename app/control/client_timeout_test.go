//go:build !windows

package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"tracesync/app/importcsv"
)

// fakeOwner serves h on dir's control socket, as an owner would.
func fakeOwner(t *testing.T, h http.Handler) string {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return dir
}

// stopped returns a channel closed at the end of the test: a handler that
// waits on it answers nothing until then, like a stopped owner.
func stopped(t *testing.T) chan struct{} {
	c := make(chan struct{})
	t.Cleanup(func() { close(c) })
	return c
}

func dialT(t *testing.T, dir string, timeout time.Duration) *Client {
	t.Helper()
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = timeout
	return c
}

// wantNoAnswer checks err is *ErrNoAnswer naming this process (the owner).
func wantNoAnswer(t *testing.T, what string, err error) {
	t.Helper()
	var na *ErrNoAnswer
	if !errors.As(err, &na) {
		t.Fatalf("%s: %v, want *ErrNoAnswer", what, err)
	}
	if runtime.GOOS == "linux" && na.PID != os.Getpid() {
		t.Errorf("%s: PID %d, want %d", what, na.PID, os.Getpid())
	}
	if !strings.Contains(na.Error(), "does not answer") {
		t.Errorf("%s: message %q", what, na.Error())
	}
}

// An owner that holds its socket but never answers (kill -STOP): each
// request gives up after the timeout instead of waiting for ever.
func TestClientNoAnswer(t *testing.T) {
	// A listener nobody accepts on: the kernel still completes connects.
	dir := t.TempDir()
	ln, err := net.Listen("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := dialT(t, dir, 100*time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		wantNoAnswer(t, "ping", c.Ping(ctx))
		_, err := c.Status(ctx)
		wantNoAnswer(t, "status", err)
		_, err = c.Jobs(ctx, JobsQuery{})
		wantNoAnswer(t, "jobs", err)
		_, err = c.Push(ctx, PushRequest{All: true})
		wantNoAnswer(t, "push", err)
		wantNoAnswer(t, "report", c.Report(ctx, io.Discard, "", "csv"))
		_, err = c.Import(ctx, importcsv.Receipts, strings.NewReader("a,b\n1,2\n"))
		wantNoAnswer(t, "import", err)
		if IsNoOwner(err) || !IsNoAnswer(err) {
			t.Errorf("IsNoOwner/IsNoAnswer: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("requests to an owner that does not answer still wait")
	}
}

// The caller's context still ends a wait (it is not an ErrNoAnswer).
func TestClientCancel(t *testing.T) {
	dir := fakeOwner(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	c := dialT(t, dir, time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Status(cctx)
	if !errors.Is(err, context.Canceled) || IsNoAnswer(err) {
		t.Fatalf("status: %v", err)
	}
	cctx, cancel = context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Import(cctx, importcsv.Receipts, strings.NewReader("x\n"))
	if !errors.Is(err, context.Canceled) || IsNoAnswer(err) {
		t.Fatalf("import: %v", err)
	}
}

// importOwner answers /ping (unless pingStop is not nil) and /import: read
// does the reading, then the answer is Rows = bytes read.
func importOwner(t *testing.T, pingStop chan struct{}, read func(r io.Reader) int64) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if pingStop != nil {
			<-pingStop
		}
		writeJSON(w, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /import", func(w http.ResponseWriter, r *http.Request) {
		n := read(r.Body)
		writeJSON(w, ImportResult{Rows: int(n)})
	})
	return fakeOwner(t, mux)
}

// A slow import is not cut off while the owner makes progress: it reads the
// file slowly, far longer than the timeout, then works silently (answering
// pings) for several timeouts before it answers.
func TestClientImportSlowButAlive(t *testing.T) {
	const timeout = 400 * time.Millisecond
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB: more than the socket buffers
	dir := importOwner(t, nil, func(r io.Reader) int64 {
		var n int64
		buf := make([]byte, 128<<10)
		for {
			m, err := r.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(4 * timeout) // checking and enqueueing, without a byte
		return n
	})
	c := dialT(t, dir, timeout)
	start := time.Now()
	res, err := c.Import(ctx, importcsv.Receipts, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if res.Rows != len(body) {
		t.Fatalf("owner read %d bytes, want %d", res.Rows, len(body))
	}
	if d := time.Since(start); d < 2*timeout {
		t.Fatalf("the test's owner was too fast to prove anything (%v)", d)
	}
}

// Time spent waiting for the caller's own input (a slow pipe on standard
// input) is not the owner's.
func TestClientImportSlowSource(t *testing.T) {
	const timeout = 200 * time.Millisecond
	dir := importOwner(t, nil, func(r io.Reader) int64 { n, _ := io.Copy(io.Discard, r); return n })
	c := dialT(t, dir, timeout)
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("first,part\n"))
		time.Sleep(4 * timeout)
		pw.Write([]byte("second\n"))
		pw.Close()
	}()
	res, err := c.Import(ctx, importcsv.Receipts, pr)
	if err != nil || res.Rows != len("first,part\nsecond\n") {
		t.Fatalf("import: %+v %v", res, err)
	}
}

// An owner that stops taking the file (stopped, or wedged) is given up on.
func TestClientImportOwnerStopsReading(t *testing.T) {
	stop := stopped(t)
	dir := importOwner(t, stop, func(r io.Reader) int64 {
		io.CopyN(io.Discard, r, 64<<10)
		<-stop
		return 0
	})
	c := dialT(t, dir, 200*time.Millisecond)
	body := bytes.Repeat([]byte("x"), 16<<20)
	_, err := c.Import(ctx, importcsv.Receipts, bytes.NewReader(body))
	wantNoAnswer(t, "import", err)
}

// An owner stopped once it has the whole file answers no ping: given up on
// after the timeout, not after ImportAnswerTimeout.
func TestClientImportOwnerStopsAfterReading(t *testing.T) {
	stop := stopped(t)
	dir := importOwner(t, stop, func(r io.Reader) int64 {
		io.Copy(io.Discard, r)
		<-stop
		return 0
	})
	c := dialT(t, dir, 200*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := c.Import(ctx, importcsv.Receipts, strings.NewReader("a,b\n1,2\n"))
		done <- err
	}()
	select {
	case err := <-done:
		wantNoAnswer(t, "import", err)
	case <-time.After(time.Minute):
		t.Fatal("import still waits for a stopped owner")
	}
}

// An owner that answers pings but whose import never ends is given up on
// after ImportAnswerTimeout.
func TestClientImportAnswerTimeout(t *testing.T) {
	stop := stopped(t)
	dir := importOwner(t, nil, func(r io.Reader) int64 {
		io.Copy(io.Discard, r)
		<-stop
		return 0
	})
	c := dialT(t, dir, 100*time.Millisecond)
	c.answerMax = 600 * time.Millisecond
	_, err := c.Import(ctx, importcsv.Receipts, strings.NewReader("a,b\n1,2\n"))
	wantNoAnswer(t, "import", err)
	var na *ErrNoAnswer
	if errors.As(err, &na) && na.After != c.answerMax {
		t.Errorf("After = %v, want the answer bound %v", na.After, c.answerMax)
	}
}

// An owner that answers within the timeout, even slowly and with an error,
// gets its answer through (not an ErrNoAnswer).
func TestClientAnswerWithinTimeout(t *testing.T) {
	dir := fakeOwner(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(&Error{Code: CodeBadInput, Msg: "no job #9"})
	}))
	c := dialT(t, dir, 5*time.Second)
	_, err := c.Push(ctx, PushRequest{IDs: []uint64{9}})
	if ExitCode(err) != CodeBadInput || IsNoAnswer(err) {
		t.Fatalf("push: %v", err)
	}
}
