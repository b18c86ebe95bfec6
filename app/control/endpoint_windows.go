//go:build windows

package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// TokenName is the file in the data folder that holds the loopback address
// of the control endpoint and the token a client must present. Windows has
// no Unix sockets in every version tracesync supports, so the endpoint is a
// loopback port; the token keeps other local users out.
const TokenName = "control.token"

func listen(dir string) (net.Listener, string, error) {
	p := filepath.Join(dir, TokenName)
	os.Remove(p)
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	token := hex.EncodeToString(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(p, []byte(ln.Addr().String()+"\n"+token+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("write token file: %w", err)
	}
	return ln, token, nil
}

func dialer(dir string) (func(ctx context.Context) (net.Conn, error), string, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, TokenName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", false, nil
		}
		return nil, "", false, fmt.Errorf("control token: %w", err)
	}
	parts := strings.Fields(string(b))
	if len(parts) != 2 {
		bad := func(context.Context) (net.Conn, error) { return nil, fmt.Errorf("control token file is damaged") }
		return bad, "", true, nil
	}
	var d net.Dialer
	addr := parts[0]
	return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }, parts[1], true, nil
}

func removeEndpoint(dir string) { os.Remove(filepath.Join(dir, TokenName)) }
