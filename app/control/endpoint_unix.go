//go:build !windows

package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// SocketName is the control socket's name in the data folder.
const SocketName = "control.sock"

// SocketPath returns where dir's control socket lives: in the folder, or,
// when that path is too long for a Unix socket, in the temp folder under a
// name derived from the folder.
func SocketPath(dir string) string {
	p := filepath.Join(dir, SocketName)
	if len(p) < 100 {
		return p
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), "tracesync-"+hex.EncodeToString(sum[:8])+".sock")
}

func listen(dir string) (net.Listener, string, error) {
	p := SocketPath(dir)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, "", err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(p, 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("chmod socket: %w", err)
	}
	return ln, "", nil
}

func dialer(dir string) (func(ctx context.Context) (net.Conn, error), string, bool, error) {
	p := SocketPath(dir)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", false, nil
		}
		return nil, "", false, fmt.Errorf("control socket: %w", err)
	}
	var d net.Dialer
	return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", p) }, "", true, nil
}

func removeEndpoint(dir string) { os.Remove(SocketPath(dir)) }
