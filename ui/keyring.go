package ui

import (
	"errors"
	"fmt"

	"github.com/emersion/go-autostart"
	"github.com/zalando/go-keyring"
)

// OSKeyring keeps keys in the OS keyring (Secret Service on Linux, which
// needs a D-Bus session; Keychain; Windows Credential Manager).
type OSKeyring struct {
	Service string // e.g. "tracesync"
}

// Get returns ErrNoKey when absent; other failures wrap ErrNoKeyring.
func (k OSKeyring) Get(name string) (string, error) {
	v, err := keyring.Get(k.Service, name)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return "", ErrNoKey
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return v, nil
}

// Set stores a key.
func (k OSKeyring) Set(name, value string) error {
	if err := keyring.Set(k.Service, name, value); err != nil {
		return fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return nil
}

// Delete removes a key (absent is not an error).
func (k OSKeyring) Delete(name string) error {
	err := keyring.Delete(k.Service, name)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	return nil
}

// OSAutostart is "start at login" through go-autostart; exec is the
// command line (the binary and --minimized).
type OSAutostart struct{ app *autostart.App }

// NewOSAutostart returns the autostart entry for exec.
func NewOSAutostart(exec ...string) *OSAutostart {
	return &OSAutostart{app: &autostart.App{Name: "tracesync", DisplayName: "tracesync", Exec: exec}}
}

// Enabled reports whether the entry exists.
func (a *OSAutostart) Enabled() bool { return a.app.IsEnabled() }

// Enable creates the entry.
func (a *OSAutostart) Enable() error {
	if err := a.app.Enable(); err != nil {
		return fmt.Errorf("enable start at login: %w", err)
	}
	return nil
}

// Disable removes the entry.
func (a *OSAutostart) Disable() error {
	if err := a.app.Disable(); err != nil {
		return fmt.Errorf("disable start at login: %w", err)
	}
	return nil
}
