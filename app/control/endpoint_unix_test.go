//go:build !windows

package control

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSocketModeAndStale(t *testing.T) {
	dir := t.TempDir()
	if _, err := Dial(dir); !IsNoOwner(err) {
		t.Fatalf("dial with nothing: %v", err)
	}
	// A crashed owner leaves its socket behind: a listener that is gone.
	p := SocketPath(dir)
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("socket file should remain: %v", err)
	}
	_, err = Dial(dir)
	var no *ErrNoOwner
	if e, ok := err.(*ErrNoOwner); !ok || !e.Stale {
		t.Fatalf("dial stale: %v (%v)", err, no)
	}
	// The next owner replaces it.
	b, _ := backend()
	s, err := Listen(dir, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
	// RemoveStale cleans what a kill -9 leaves.
	os.WriteFile(p, nil, 0o600)
	RemoveStale(dir)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("RemoveStale left %v", err)
	}
}

func TestLongFolderName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := backend()
	s, err := Listen(dir, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
