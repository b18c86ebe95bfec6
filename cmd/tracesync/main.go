// Command tracesync keeps a licensed cannabis business's records in step
// with Metrc, through outages. Without a subcommand it is the desktop app;
// the subcommands serve scripts and headless use (DESIGN.md "Command line"):
//
//	tracesync [--demo] [--minimized]            the desktop app
//	tracesync run [--for 10m] [--demo]          the engine, headless
//	tracesync status [--json]                   per-license health
//	tracesync jobs [--state S] [--license L] [--json]
//	tracesync push [--all | ID...]              make jobs due now
//	tracesync import receipts|assemblies FILE   validate the whole CSV first, then enqueue
//	tracesync report [--date YYYY-MM-DD] [--format csv|html]
//	tracesync sim [--addr 127.0.0.1:0] [--seed demo|empty]
//
// This file holds the wiring: flags, slog, the store, the engine, the
// reconciler, the control socket, demo mode and the UI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fyneapp "fyne.io/fyne/v2/app"

	"tracesync/app"
	"tracesync/app/control"
	"tracesync/app/demo"
	"tracesync/app/engine"
	"tracesync/app/importcsv"
	"tracesync/app/mail"
	"tracesync/app/metrc"
	"tracesync/app/reconcile"
	"tracesync/store"
	"tracesync/ui"
)

// The ports the engine, the reconciler and the UI reach storage and Metrc
// through: checked here, so store/ and app/metrc never import them.
var (
	_ app.JobStore     = (*store.Store)(nil)
	_ app.LicenseStore = (*store.Store)(nil)
	_ app.PackageStore = (*store.Store)(nil)
	_ app.MonitorStore = (*store.Store)(nil)
	_ app.AuditStore   = (*store.Store)(nil)
	_ engine.Store     = (*store.Store)(nil)
	_ reconcile.Store  = (*store.Store)(nil)
	_ app.Metrc        = (*metrc.Client)(nil)
	_ ui.EngineAPI     = (*engine.Engine)(nil)
	_ ui.StoreAPI      = (*store.Store)(nil)
	_ ui.SettingsAPI   = (*store.Store)(nil)
	_ ui.SettingsAPI   = realSettings{}
	_ ui.ReconcileAPI  = (*reconcile.Reconciler)(nil)
	_ ui.DemoAPI       = demoPanel{}
	_ ui.AuditChecker  = auditChecker{}
	_ ui.ImportAPI     = importer{}
	_ ui.Keyring       = ui.OSKeyring{}
	_ ui.Autostart     = (*ui.OSAutostart)(nil)
	_ demo.Enqueuer    = (*engine.Engine)(nil)
	_ importcsv.Lookup = importcsv.StoreLookup{}
	_ reconcile.Mailer = mailer{}
)

// The Demo screen reads the sales switch's state through this optional method.
var _ interface{ SalesRunning() bool } = demoPanel{}

// Exit codes (DESIGN.md).
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitBusy     = 3
	exitBadInput = 4
)

// DBName is the store's file in the data folder.
const DBName = "tracesync.db"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// codeOf maps an error to the process's exit code.
func codeOf(err error) int {
	var e *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, app.ErrLocked):
		return exitBusy
	}
	return control.ExitCode(err)
}

// Main runs tracesync with args (without the program name) and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	g := &globals{}
	fs := g.flagSet("tracesync", stderr)
	fs.BoolVar(&g.minimized, "minimized", false, "start in the tray (or minimised): used by start at login")
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return report(stderr, runGUI(g, stderr))
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		if rest[0] == "help" {
			usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "tracesync: unknown command %q\n\n", rest[0])
		usage(stderr)
		return exitUsage
	}
	return report(stderr, cmd(g, rest[1:], stdout, stderr))
}

// report prints a failure and returns its exit code.
func report(stderr io.Writer, err error) int {
	code := codeOf(err)
	if err != nil && !errors.Is(err, errQuiet) {
		fmt.Fprintf(stderr, "tracesync: %v\n", err)
	}
	return code
}

// errQuiet is an exit code whose message was already printed.
var errQuiet = errors.New("quiet")

func quiet(code int) error { return &exitError{code: code, err: errQuiet} }

// newLogger returns the process's slog logger on stderr; TRACESYNC_LOG sets
// the level (debug, info, warn, error).
func newLogger(stderr io.Writer, def slog.Level) *slog.Logger {
	lvl := def
	if s := os.Getenv("TRACESYNC_LOG"); s != "" {
		lvl.UnmarshalText([]byte(s))
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
}

// signalContext ends at SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// owner is the process holding a data folder: the store, the engine, the
// reconciler, the control socket and, in demo mode, the simulator.
type owner struct {
	dir      string
	log      *slog.Logger
	st       *store.Store
	eng      *engine.Engine
	rec      *reconcile.Reconciler
	ctl      *control.Server
	demo     *demo.Demo
	client   *metrc.Client
	licenses []app.License
	settings app.Settings
	mailer   reconcile.Mailer // nil: reports are not mailed

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openStore opens the data folder's store, or says clearly that another
// process holds it (exit 3).
func openStore(dir string, log *slog.Logger) (*store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, exitf(exitFailure, "data folder %s: %w", dir, err)
	}
	st, err := store.Open(filepath.Join(dir, DBName), store.WithLogger(log))
	if errors.Is(err, app.ErrLocked) {
		return nil, exitf(exitBusy, "the data folder %s is in use by another tracesync process (the app or `tracesync run`); stop it first, or use --data for another folder", dir)
	}
	if err != nil {
		return nil, exitf(exitFailure, "open store: %w", err)
	}
	return st, nil
}

// errNoMetrcURL: keys are set but neither the environment nor the settings
// say which Metrc to talk to.
var errNoMetrcURL = errors.New("no Metrc URL")

// startOwner takes the data folder and wires everything; demoMode serves the
// embedded simulator and uses its keys. Start runs the loops.
func startOwner(ctx context.Context, dir string, demoMode bool, c creds, log *slog.Logger) (*owner, error) {
	st, err := openStore(dir, log)
	if err != nil {
		return nil, err
	}
	o := &owner{dir: dir, log: log, st: st}
	ok := false
	defer func() {
		if !ok {
			o.close()
		}
	}()
	if err := st.Setting(app.SettingsKey, &o.settings); err != nil && !errors.Is(err, app.ErrNotFound) {
		log.Warn("settings unreadable: using defaults", "err", err)
	}
	if demoMode {
		o.demo, err = demo.StartWith(ctx, dir, log.With("component", "demo"))
		if err != nil {
			return nil, exitf(exitFailure, "demo: %w", err)
		}
		c = creds{url: o.demo.URL(), vendor: o.demo.VendorKey(), user: o.demo.UserKey()}
	}
	if c.url == "" {
		c.url = metrcURL(o.settings)
	}
	if c.url == "" {
		return nil, exitf(exitUsage, "%w: set %s (e.g. https://api-ca.metrc.com) or the state in Settings of the desktop app", errNoMetrcURL, envURL)
	}
	mon := engine.NewMonitor(st, app.SystemClock{})
	o.client, err = metrc.New(metrc.Options{BaseURL: c.url, VendorKey: c.vendor, UserKey: c.user, Observer: mon.Observe})
	if err != nil {
		return nil, exitf(exitUsage, "metrc: %w", err)
	}
	o.licenses, err = resolveLicenses(ctx, o, c.url, log)
	if err != nil {
		return nil, err
	}
	th := thresholds(o.settings)
	o.mailer = newMailer(o.settings, log)
	o.rec = reconcile.New(reconcile.Params{
		Store: st, Logger: log, Licenses: o.licenses,
		ReportTime: o.settings.ReportTime, Mailer: o.mailer, DataDir: dir,
		Enqueue: func(jobs ...app.Job) ([]app.EnqueueResult, error) { return o.eng.Enqueue(jobs...) },
	})
	o.eng, err = engine.New(engine.Params{
		Store: st, Metrc: o.client, Logger: log, Licenses: o.licenses,
		PullInterval: o.settings.PullInterval, Thresholds: th, Monitor: mon,
		BackoffCap: envDuration("TRACESYNC_BACKOFF_CAP", log), ProbeInterval: envDuration("TRACESYNC_PROBE_INTERVAL", log),
		AfterPull: o.rec.AfterPull,
	})
	if err != nil {
		return nil, exitf(exitFailure, "engine: %w", err)
	}
	o.ctl, err = control.Listen(dir, o.backend(), log.With("component", "control"))
	if err != nil {
		return nil, exitf(exitFailure, "%w", err)
	}
	ok = true
	return o, nil
}

// backend is what the control socket serves for this process.
func (o *owner) backend() *control.Backend {
	return &control.Backend{
		Health:  func() ([]app.Health, error) { return o.eng.Health(), nil },
		Jobs:    o.st,
		Enqueue: o.eng.Enqueue,
		MakeDue: o.eng.PushNow,
		Lookup:  importcsv.StoreLookup{Licenses: o.licenses, Store: o.st},
		Report:  reportWriter(o.rec),
	}
}

// start runs the engine and the nightly reports until ctx ends or stop.
func (o *owner) start(ctx context.Context) {
	ctx, o.cancel = context.WithCancel(ctx)
	o.wg.Go(func() {
		if err := o.eng.Run(ctx); err != nil {
			o.log.Error("engine stopped", "err", err)
		}
	})
	o.wg.Go(func() {
		if err := o.rec.RunReports(ctx); err != nil {
			o.log.Error("reports stopped", "err", err)
		}
	})
}

// close stops everything in order: the control socket (no new work), the
// sales generator, the loops (in-flight writes get the engine's grace), the
// simulator (saving its world), then the store.
func (o *owner) close() error {
	if o.ctl != nil {
		o.ctl.Close()
	}
	if o.demo != nil {
		o.demo.StopSales()
	}
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
	if o.demo != nil {
		if err := o.demo.Stop(); err != nil {
			o.log.Warn("demo stop", "err", err)
		}
	}
	if err := o.st.Close(); err != nil {
		return exitf(exitFailure, "close store: %w", err)
	}
	return nil
}

// reportWriter renders the reconciler's report of a date.
func reportWriter(rec *reconcile.Reconciler) func(w io.Writer, date, format string) error {
	return func(w io.Writer, date, format string) error {
		rep, err := rec.Report(date)
		if err != nil {
			return fmt.Errorf("report %s: %w", date, err)
		}
		if format == "html" {
			return reconcile.RenderHTML(w, rep)
		}
		return reconcile.RenderCSV(w, rep)
	}
}

// thresholds are the health limits from the settings (zero: defaults).
func thresholds(s app.Settings) engine.Thresholds {
	return engine.Thresholds{
		PullStale: s.PullStale, RecentFailure: s.RecentFailure, SlowP95: s.SlowP95,
		OldestPending: s.OldestPending, DeadlineWarn: s.DeadlineWarn,
	}
}

// mailer sends report mail with the SMTP settings, reading the password
// from the keyring at send time; nil when SMTP is not set up.
type mailer struct{ s *mail.Sender }

func (m mailer) Send(ctx context.Context, msg mail.Message) error { return m.s.Send(ctx, msg) }

func newMailer(s app.Settings, log *slog.Logger) reconcile.Mailer {
	if s.SMTPHost == "" {
		return nil
	}
	snd, err := mail.New(mail.Config{Host: s.SMTPHost, Port: s.SMTPPort, StartTLS: s.SMTPStartTLS || s.SMTPPort == 587, User: s.SMTPUser, From: s.SMTPFrom, To: s.AdminEmails, Password: mail.KeyringPassword()})
	if err != nil {
		log.Warn("the nightly report is not mailed: the mail settings are incomplete", "err", err)
		return nil
	}
	return mailer{snd}
}

// envDuration reads an optional duration knob (tests shorten backoff).
func envDuration(name string, log *slog.Logger) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		log.Warn("ignoring bad duration", "var", name, "value", s)
		return 0
	}
	return d
}

// noOwnerBackend serves the subcommands from a store they opened
// themselves, when no process owns the folder.
func noOwnerBackend(st *store.Store, log *slog.Logger) (*control.Backend, error) {
	var set app.Settings
	if err := st.Setting(app.SettingsKey, &set); err != nil && !errors.Is(err, app.ErrNotFound) {
		log.Warn("settings unreadable", "err", err)
	}
	lics, err := st.Licenses()
	if err != nil {
		return nil, fmt.Errorf("licenses: %w", err)
	}
	lics = applyZones(lics, set, os.Getenv("TRACESYNC_METRC_URL"))
	lookup := importcsv.StoreLookup{Licenses: lics, Store: st}
	if len(lics) == 0 {
		// Never synced yet: accept the licenses the environment names, or any.
		lookup = importcsv.StoreLookup{Store: st, Any: true, Zone: defaultZone(set, os.Getenv("TRACESYNC_METRC_URL"))}
		for _, n := range envLicenses() {
			lookup.Licenses = append(lookup.Licenses, app.License{Number: n, TimeZone: lookup.Zone})
			lookup.Any = false
		}
	}
	rec := reconcile.New(reconcile.Params{Store: st, Logger: log, Licenses: lics, ReportTime: set.ReportTime})
	return &control.Backend{
		Health: func() ([]app.Health, error) {
			return engine.HealthFromStore(st, lics, time.Now(), thresholds(set))
		},
		Jobs:   st,
		Lookup: lookup,
		Report: reportWriter(rec),
	}, nil
}

// AppID is the Fyne application ID (FyneApp.toml).
const AppID = "com.tracesync.app"

// runGUI is the desktop app: demo mode when asked or when no credentials
// are set.
func runGUI(g *globals, stderr io.Writer) error {
	if !hasDisplay() {
		return noDisplay()
	}
	if err := checkTZ(); err != nil {
		return err
	}
	log := newLogger(stderr, slog.LevelInfo)
	askedDemo := g.demo
	realDir, err := g.dirFor(false)
	if err != nil {
		return err
	}
	c, note := loadCreds()
	setupNote := "" // why a demo runs that was not asked for
	if !g.demo && !c.hasKeys() {
		log.Info("no Metrc credentials: starting in demo mode", "why", note)
		g.demo = true
		setupNote = "No Metrc keys are saved yet: set up Metrc in Settings, then restart."
	}
	dir, err := g.dir()
	if err != nil {
		return err
	}
	// Fyne 2.7.1 can race and panic ("send on closed channel") while its
	// own loop shuts down (fyne-io/fyne#5748), and its driver ends that loop
	// itself on SIGINT/SIGTERM. So the loop is never ended: every quit (the
	// Quit menu, a signal, Reset demo) stops the engine, closes the store and
	// exits the process. Once the loop runs, the signals are taken back from
	// Fyne's handler (its goroutine registered it while the driver started).
	sigs := make(chan os.Signal, 1)
	notify := func() { signal.Notify(sigs, os.Interrupt, syscall.SIGTERM) }
	notify()
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, err := startOwner(ctx, dir, g.demo, c, log)
	if errors.Is(err, errNoMetrcURL) && !g.demo {
		// Keys but no address: a window that says so, with Settings to
		// give it, rather than an exit the person never sees.
		log.Info("no Metrc address: starting in demo mode", "why", err)
		g.demo = true
		setupNote = "Metrc keys are saved, but no Metrc address or state: set it in Settings, then restart."
		if dir, err = g.dir(); err == nil {
			o, err = startOwner(ctx, dir, true, c, log)
		}
	}
	if err != nil {
		return err
	}
	o.start(ctx)

	a := fyneapp.NewWithID(AppID)
	p := ui.Params{
		Engine:     o.eng,
		Store:      o.st,
		Reconciler: o.rec,
		Reports:    reportTools(o),
		Keyring:    ui.OSKeyring{Service: keyringService},
		Autostart:  autostart(g.data, askedDemo),
		Settings:   o.st,
		Importer:   importer{o.backend()},
		Clock:      app.SystemClock{},
		Minimized:  g.minimized,
		DataDir:    dir,
		Facilities: o.client.Facilities,
		SetupNote:  setupNote,
	}
	if a := p.Autostart; a != nil && a.Enabled() {
		// Keep the login entry's command current: the program may have
		// moved, or the demo it was made in may no longer be wanted.
		go func() {
			if err := a.Enable(); err != nil {
				log.Warn("start at login: rewrite entry", "err", err)
			}
		}()
	}
	if setupNote != "" {
		// What is set up during a demo nobody asked for is the real setup:
		// Settings edits the real data folder, and licenses come from the
		// real Metrc only (after the restart), never from the simulator.
		p.Settings = realSettings{dir: realDir, log: log}
		p.Facilities = nil
	}
	if o.rec != nil {
		p.AuditCheck = auditChecker{r: o.rec, e: o.eng}
	}
	var resetDemo, restartAsked atomic.Bool
	var u *ui.UI
	p.Restart = func() {
		restartAsked.Store(true)
		u.Quit()
	}
	if o.demo != nil {
		// Reset demo starts everything over: the simulated world and the
		// demo store. The store is held by this process, so the app quits,
		// clears <data>/demo and starts itself again.
		restart := func() error {
			resetDemo.Store(true)
			u.Quit()
			return nil
		}
		p.Demo = demoPanel{d: o.demo, q: o.eng, inv: o.st, reset: restart}
		o.demo.StartSales(o.eng, 0)
	}
	var (
		once     sync.Once
		closeErr error
	)
	shutdown := func() error {
		once.Do(func() {
			cancel()
			closeErr = o.close()
			switch {
			case closeErr != nil:
			case resetDemo.Load():
				closeErr = restartClean(dir, log)
			case restartAsked.Load():
				closeErr = startAgain(log)
			}
		})
		return closeErr
	}
	p.OnQuit = func() { os.Exit(report(stderr, shutdown())) }
	// Fyne's handler registers from a goroutine its driver starts just
	// before the loop: by the time the loop has started it has run (the GL
	// set-up takes far longer), and a second take-back a moment later
	// covers a machine too busy to schedule it.
	takeSignals := func() {
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		notify()
	}
	a.Lifecycle().SetOnStarted(func() {
		takeSignals()
		time.AfterFunc(time.Second, takeSignals)
	})
	u = ui.New(a, p)
	uiDone := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			log.Info("signal: quitting")
			u.Quit()
		case <-uiDone:
		}
	}()
	u.ShowAndRun()
	close(uiDone)
	return shutdown()
}

// restartClean removes the demo store and simulator state and starts this
// program again with the same arguments (Reset demo).
func restartClean(dir string, log *slog.Logger) error {
	for _, name := range []string{DBName, demo.StateName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return exitf(exitFailure, "reset demo: %w", err)
		}
	}
	log.Info("demo reset")
	return startAgain(log)
}

// startAgain starts this program again with the same arguments (Restart,
// Reset demo); this process then exits.
func startAgain(log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return exitf(exitFailure, "restart: find this program: %w", err)
	}
	log.Info("starting again")
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return exitf(exitFailure, "restart: start again: %w", err)
	}
	return nil
}

// autostart launches this binary with --minimized at login.
func autostart(data string, askedDemo bool) ui.Autostart {
	exe, err := os.Executable()
	if err != nil {
		exe = "tracesync"
	}
	return ui.NewOSAutostart(autostartArgs(exe, data, askedDemo)...)
}

// autostartArgs is the login entry's command: --demo only when the person
// asked for the demo (a demo started for want of keys must not outlive
// them).
func autostartArgs(exe, data string, askedDemo bool) []string {
	args := []string{exe}
	if data != "" {
		args = append(args, "--data", data)
	}
	if askedDemo {
		args = append(args, "--demo")
	}
	return append(args, "--minimized")
}

// reportTools renders reports and mails one again on request.
func reportTools(o *owner) ui.ReportTools {
	t := ui.ReportTools{Render: func(w io.Writer, rep app.Report, format string) error {
		if format == "html" {
			return reconcile.RenderHTML(w, rep)
		}
		return reconcile.RenderCSV(w, rep)
	}}
	if o.mailer != nil {
		t.Send = o.rec.SendNow
	}
	return t
}
