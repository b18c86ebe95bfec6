package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"tracesync/app"
	"tracesync/app/metrc"
	"tracesync/ui"
)

// keyringService is the OS keyring service the Metrc keys live under.
const keyringService = app.KeyringService

// The environment of headless use (DESIGN.md).
const (
	envURL    = "TRACESYNC_METRC_URL"
	envVendor = "TRACESYNC_VENDOR_KEY"
	envUser   = "TRACESYNC_USER_KEY"
	envLics   = "TRACESYNC_LICENSES"
	envTZ     = "TRACESYNC_TZ"
)

// globals are the flags every command takes.
type globals struct {
	data      string
	demo      bool
	minimized bool
}

// flagSet returns a flag set with the global flags, so they may come before
// or after the subcommand.
func (g *globals) flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.data, "data", g.data, "data folder (default: the OS user config folder + /tracesync)")
	fs.BoolVar(&g.demo, "demo", g.demo, "demo mode: the embedded Metrc simulator, data in <data>/demo")
	return fs
}

// dir is the data folder of this invocation: <data>, or <data>/demo.
func (g *globals) dir() (string, error) { return g.dirFor(g.demo) }

// dirFor is the data folder, the demo's or the real one.
func (g *globals) dirFor(demo bool) (string, error) {
	base := g.data
	if base == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return "", exitf(exitFailure, "no user config folder (%v): use --data DIR", err)
		}
		base = filepath.Join(cfg, "tracesync")
	}
	if demo {
		return filepath.Join(base, "demo"), nil
	}
	return base, nil
}

// helpOrUsage maps a flag parse error: --help is success, the rest usage.
func helpOrUsage(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// parseFlags parses a subcommand's flags; its error carries the exit code.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return quiet(helpOrUsage(err))
	}
	return nil
}

// creds are the Metrc URL and keys of a real (not demo) run.
type creds struct {
	url, vendor, user string
}

func (c creds) hasKeys() bool { return c.vendor != "" && c.user != "" }

// loadCreds reads the environment, then the OS keyring. note says why the
// keyring could not help, when it could not.
func loadCreds() (c creds, note string) {
	c = creds{url: os.Getenv(envURL), vendor: os.Getenv(envVendor), user: os.Getenv(envUser)}
	if c.hasKeys() {
		return c, ""
	}
	if runtime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// go-keyring needs the Secret Service over a D-Bus session; without
		// one it would try to start a bus. Say so instead.
		return c, "no OS keyring is available here (no D-Bus session for the Secret Service)"
	}
	k := ui.OSKeyring{Service: keyringService}
	for _, e := range []struct {
		name string
		v    *string
	}{{ui.KeyVendor, &c.vendor}, {ui.KeyUser, &c.user}} {
		if *e.v != "" {
			continue
		}
		v, err := k.Get(e.name)
		switch {
		case errors.Is(err, ui.ErrNoKey):
			note = "the OS keyring holds no Metrc keys"
		case err != nil:
			return c, "the OS keyring is not available (" + err.Error() + ")"
		default:
			*e.v = v
		}
	}
	return c, note
}

// noCredentials is `run`'s usage error without keys and without --demo.
func noCredentials(note string) error {
	msg := "no Metrc credentials: set " + envVendor + " and " + envUser +
		" (and " + envURL + ", e.g. https://api-ca.metrc.com), optionally " + envLics + " and " + envTZ +
		"; or store the keys in Settings of the desktop app; or run with --demo"
	if note != "" {
		msg += " (" + note + ")"
	}
	return exitf(exitUsage, "%s", msg)
}

// metrcURL is the Metrc base URL: the environment, else the settings.
func metrcURL(s app.Settings) string {
	if u := os.Getenv(envURL); u != "" {
		return u
	}
	if s.MetrcURL != "" {
		return s.MetrcURL
	}
	if s.State != "" {
		return metrc.StateURL(s.State)
	}
	return ""
}

// checkTZ validates TRACESYNC_TZ (a usage error when it is not an IANA zone).
func checkTZ() error {
	if tz := os.Getenv(envTZ); tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return exitf(exitUsage, "%s=%q is not a time zone (use an IANA name such as America/Los_Angeles)", envTZ, tz)
		}
	}
	return nil
}

// envLicenses is TRACESYNC_LICENSES split.
func envLicenses() []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(envLics), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// defaultZone is the zone of a license with none set: TRACESYNC_TZ, the
// settings, or the one the Metrc host implies.
func defaultZone(s app.Settings, baseURL string) string {
	if tz := os.Getenv(envTZ); tz != "" {
		return tz
	}
	if s.TimeZone != "" {
		return s.TimeZone
	}
	if u, err := url.Parse(baseURL); err == nil {
		if z := app.ZoneForHost(u.Hostname()); z != "" {
			return z
		}
	}
	return ""
}

// applyZones gives each license its zone: TRACESYNC_TZ wins, then the
// settings, then the license's own, then the Metrc host's.
func applyZones(lics []app.License, s app.Settings, baseURL string) []app.License {
	out := make([]app.License, len(lics))
	for i, l := range lics {
		switch {
		case os.Getenv(envTZ) != "":
			l.TimeZone = os.Getenv(envTZ)
		case s.TimeZone != "":
			l.TimeZone = s.TimeZone
		case l.TimeZone == "":
			l.TimeZone = defaultZone(s, baseURL)
		}
		out[i] = l
	}
	return out
}

// resolveLicenses decides which licenses to sync: the demo world's, those
// TRACESYNC_LICENSES names, or all the user's facilities in Metrc; when
// Metrc cannot answer, the ones of the last run. They are saved for the
// subcommands that run without an owner.
func resolveLicenses(ctx context.Context, o *owner, baseURL string, log *slog.Logger) ([]app.License, error) {
	stored, err := o.st.Licenses()
	if err != nil {
		return nil, exitf(exitFailure, "licenses: %w", err)
	}
	known := map[string]app.License{}
	for _, l := range stored {
		known[l.Number] = l
	}
	var lics []app.License
	if o.demo != nil {
		lics = o.demo.Licenses()
	} else {
		// The control socket opens only after this: ask Metrc briefly when
		// the licenses are known already (Metrc may be down for days).
		want := envLicenses()
		wait := 20 * time.Second
		if len(stored) > 0 {
			wait = 5 * time.Second
		}
		var facs []app.Facility
		var ferr error
		if allNamed(want, known) {
			ferr = errors.New("not asked: every license is known")
		} else {
			fctx, cancel := context.WithTimeout(ctx, wait)
			facs, ferr = o.client.Facilities(fctx)
			cancel()
		}
		names := map[string]string{}
		for _, f := range facs {
			n := f.DisplayName
			if n == "" {
				n = f.Name
			}
			names[f.License] = n
		}
		switch {
		case len(want) > 0:
		case ferr == nil:
			for _, f := range facs {
				want = append(want, f.License)
			}
		case len(stored) > 0:
			log.Warn("Metrc did not answer: syncing the licenses of the last run", "err", ferr)
			for _, l := range stored {
				want = append(want, l.Number)
			}
		default:
			return nil, exitf(exitFailure, "Metrc did not answer (%v) and no licenses are known yet: set %s", ferr, envLics)
		}
		if ferr != nil && !allNamed(want, known) {
			log.Warn("facilities not listed", "err", ferr)
		}
		for _, n := range want {
			l := app.License{Number: n, Name: names[n]}
			if k, ok := known[n]; ok {
				l.Paused, l.TimeZone = k.Paused, k.TimeZone
				if l.Name == "" {
					l.Name = k.Name
				}
			}
			lics = append(lics, l)
		}
	}
	for i, l := range lics {
		if k, ok := known[l.Number]; ok {
			lics[i].Paused = k.Paused
		}
	}
	lics = applyZones(lics, o.settings, baseURL)
	sort.Slice(lics, func(i, j int) bool { return lics[i].Number < lics[j].Number })
	for _, l := range lics {
		if l.TimeZone == "" {
			log.Warn("no time zone for license: using UTC; set TRACESYNC_TZ", "license", l.Number)
		}
		if err := o.st.PutLicense(l); err != nil {
			return nil, exitf(exitFailure, "save license %s: %w", l.Number, err)
		}
	}
	if len(lics) == 0 {
		return nil, exitf(exitFailure, "no licenses to sync")
	}
	return lics, nil
}

// hasDisplay reports whether a GUI can open (Linux needs X11 or Wayland).
func hasDisplay() bool {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// noDisplay is the GUI's message without a display.
func noDisplay() error {
	return exitf(exitFailure, "%s", "no display: DISPLAY and WAYLAND_DISPLAY are unset, so the window cannot open.\n"+
		"  Run the engine without a window:  tracesync run [--demo]\n"+
		"  or run the app under a virtual X server:\n"+
		"    xvfb-run -a -s \"-screen 0 1280x800x24\" dbus-run-session -- ./tracesync\n"+
		"  (Debian packages: xvfb xauth libgl1-mesa-dri dbus)")
}

// allNamed reports whether every license in want is stored with a name.
func allNamed(want []string, known map[string]app.License) bool {
	if len(want) == 0 {
		return false
	}
	for _, n := range want {
		if known[n].Name == "" {
			return false
		}
	}
	return true
}
