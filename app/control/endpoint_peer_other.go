//go:build !linux

package control

import "net"

// peerPID returns 0: only Linux tells tracesync the owner's process id.
func peerPID(net.Conn) int { return 0 }
