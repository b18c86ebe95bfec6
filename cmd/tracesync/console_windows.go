//go:build windows

package main

import (
	"os"
	"syscall"
)

// The Windows build is linked as a GUI program (-H=windowsgui) so that no
// console window opens behind the app. Such a program starts without
// standard handles, so `tracesync status` typed in a console would print
// nothing. Attach to the parent's console when there is one, and point the
// handles that are missing at it; redirected handles (status > file) stay.
func init() {
	attach := syscall.NewLazyDLL("kernel32.dll").NewProc("AttachConsole")
	const attachParentProcess = ^uintptr(0) // (DWORD)-1
	if r, _, _ := attach.Call(attachParentProcess); r == 0 {
		return // started from Explorer or at login: no console, nothing to do
	}
	if _, err := os.Stdout.Stat(); err != nil {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stdout = f
		}
	}
	if _, err := os.Stderr.Stat(); err != nil {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stderr = f
		}
	}
}
