package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"tracesync/app/control"
	"tracesync/app/importcsv"
	"tracesync/app/metrcsim"
)

// commands are the subcommands; each returns an error carrying its exit code.
var commands map[string]func(g *globals, args []string, stdout, stderr io.Writer) error

func init() {
	commands = map[string]func(g *globals, args []string, stdout, stderr io.Writer) error{
		"run":    cmdRun,
		"status": cmdStatus,
		"jobs":   cmdJobs,
		"push":   cmdPush,
		"import": cmdImport,
		"report": cmdReport,
		"sim":    cmdSim,
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tracesync keeps your records in step with Metrc, through outages.

Usage:
  tracesync [--demo] [--minimized]            the desktop app (demo mode without credentials)
  tracesync run [--for 10m] [--demo]          the engine, headless, until SIGINT/SIGTERM or the duration
  tracesync status [--json]                   per-license health
  tracesync jobs [--state S] [--license L] [--json]
  tracesync push [--all | ID...]              make jobs due now
  tracesync import receipts|assemblies FILE   validate the whole CSV first, then enqueue
  tracesync report [--date YYYY-MM-DD] [--format csv|html]   default: yesterday, csv, to stdout
  tracesync sim [--addr 127.0.0.1:0] [--seed demo|empty]

Global flags (before or after the command):
  --data DIR   data folder (default: the OS user config folder + /tracesync)
  --demo       demo mode: the embedded simulator, data in <data>/demo

Environment (headless): TRACESYNC_METRC_URL, TRACESYNC_VENDOR_KEY, TRACESYNC_USER_KEY,
  TRACESYNC_LICENSES (comma-separated; default: all your facilities), TRACESYNC_TZ (IANA zone)
Exit codes: 0 ok; 1 failure; 2 usage; 3 data folder owned by a process that cannot be reached; 4 bad input
Run 'tracesync COMMAND --help' for a command's flags.
`)
}

// subUsage sets a subcommand's --help text.
func subUsage(fs interface {
	PrintDefaults()
	Output() io.Writer
}, synopsis, what string) func() {
	return func() {
		fmt.Fprintf(fs.Output(), "Usage: tracesync %s\n\n%s\n\nFlags:\n", synopsis, what)
		fs.PrintDefaults()
	}
}

// api is what the subcommands ask: the owner through the control socket,
// or the store directly when there is no owner.
type api interface {
	Status(ctx context.Context) ([]control.Status, error)
	Jobs(ctx context.Context, q control.JobsQuery) ([]control.JobInfo, error)
	Push(ctx context.Context, req control.PushRequest) (control.PushResult, error)
	Import(ctx context.Context, kind importcsv.Kind, r io.Reader) (control.ImportResult, error)
	Report(ctx context.Context, w io.Writer, date, format string) error
}

// localAPI is api on a Backend in this process.
type localAPI struct{ b *control.Backend }

func (l localAPI) Status(context.Context) ([]control.Status, error) { return l.b.Status() }
func (l localAPI) Jobs(_ context.Context, q control.JobsQuery) ([]control.JobInfo, error) {
	return l.b.ListJobs(q)
}
func (l localAPI) Push(_ context.Context, r control.PushRequest) (control.PushResult, error) {
	return l.b.Push(r)
}
func (l localAPI) Import(_ context.Context, k importcsv.Kind, r io.Reader) (control.ImportResult, error) {
	return l.b.Import(k, r)
}
func (l localAPI) Report(_ context.Context, w io.Writer, date, format string) error {
	return l.b.WriteReport(w, date, format)
}

// connect reaches the data folder's owner, or opens the store when there is
// none (removing a socket a crashed owner left). An owner that holds the
// folder but does not answer is exit 3.
func connect(g *globals, stderr io.Writer) (api, func(), error) {
	dir, err := g.dir()
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(stderr, slog.LevelWarn)
	c, err := dialOwner(dir, log)
	if err == nil {
		return c, func() {}, nil
	}
	if !control.IsNoOwner(err) {
		return nil, nil, exitf(exitFailure, "%w", err)
	}
	stale := false
	var no *control.ErrNoOwner
	if errors.As(err, &no) {
		stale = no.Stale
	}
	st, err := openStore(dir, log)
	if codeOf(err) == exitBusy {
		// The owner may be starting: its socket appears within moments.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if c, derr := dialOwner(dir, log); derr == nil {
				return c, func() {}, nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil, nil, exitf(exitBusy, "the data folder %s is held by another tracesync process that does not answer on its control socket; if it hangs, stop it and try again", dir)
	}
	if err != nil {
		return nil, nil, err
	}
	if stale {
		control.RemoveStale(dir)
		log.Info("removed a stale control socket left by a process that ended", "dir", dir)
	}
	b, err := noOwnerBackend(st, log)
	if err != nil {
		st.Close()
		return nil, nil, exitf(exitFailure, "%w", err)
	}
	return localAPI{b}, func() { st.Close() }, nil
}

// envOwnerTimeout overrides control.DefaultTimeout: how long a subcommand
// waits for the owner's answer, and how long an import through the owner may
// see no progress (tests shorten it, like TRACESYNC_BACKOFF_CAP).
const envOwnerTimeout = "TRACESYNC_OWNER_TIMEOUT"

// dialOwner reaches the owner of dir, or returns *control.ErrNoOwner.
//
// A request that gets no answer in time ends the subcommand with exit 3 (a
// process holds the folder but cannot be reached). Ctrl-C needs nothing
// here: the subcommands install no signal handler, so SIGINT (and SIGTERM)
// end the process at once, however long it has been waiting, and the owner
// sees the connection close. Do not add a handler to this path without
// making it end the wait (TestCtrlCEndsWaitingStatus).
func dialOwner(dir string, log *slog.Logger) (api, error) {
	c, err := control.Dial(dir)
	if err != nil {
		return nil, err
	}
	if d := envDuration(envOwnerTimeout, log); d > 0 {
		c.Timeout = d
	}
	return ownerAPI{c: c, dir: dir}, nil
}

// ownerAPI is api on the owner's control socket.
type ownerAPI struct {
	c   *control.Client
	dir string
}

func (o ownerAPI) Status(ctx context.Context) ([]control.Status, error) {
	st, err := o.c.Status(ctx)
	return st, o.err(err)
}
func (o ownerAPI) Jobs(ctx context.Context, q control.JobsQuery) ([]control.JobInfo, error) {
	js, err := o.c.Jobs(ctx, q)
	return js, o.err(err)
}
func (o ownerAPI) Push(ctx context.Context, r control.PushRequest) (control.PushResult, error) {
	res, err := o.c.Push(ctx, r)
	return res, o.err(err)
}
func (o ownerAPI) Import(ctx context.Context, k importcsv.Kind, r io.Reader) (control.ImportResult, error) {
	res, err := o.c.Import(ctx, k, r)
	return res, o.err(err)
}
func (o ownerAPI) Report(ctx context.Context, w io.Writer, date, format string) error {
	return o.err(o.c.Report(ctx, w, date, format))
}

// err turns an owner that does not answer into exit 3, saying how to find
// and stop it.
func (o ownerAPI) err(err error) error {
	var na *control.ErrNoAnswer
	if !errors.As(err, &na) {
		return err
	}
	who := "the tracesync process (the app or `tracesync run`) that owns the data folder " + o.dir
	pid, find := "PID", " Find it with `ps -ef | grep tracesync`."
	if na.PID > 0 {
		who += fmt.Sprintf(" (process %d)", na.PID)
		pid, find = fmt.Sprint(na.PID), ""
	}
	how := fmt.Sprintf("%s If it was stopped (Ctrl-Z, kill -STOP), resume it: `fg` in its terminal, or `kill -CONT %s`."+
		" If it hangs, end it: `kill %s`, then `kill -9 %s` if it is still there.", find, pid, pid, pid)
	if runtime.GOOS == "windows" {
		how = " Find tracesync.exe in Task Manager and end it."
	}
	return exitf(exitBusy, "%s does not answer (no answer in %s).%s Then try again.", who, na.After, how)
}

// isTerminal reports whether w is a terminal that takes colours.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

var ansi = map[string]string{"green": "\x1b[32m", "orange": "\x1b[33m", "red": "\x1b[31m", "grey": "\x1b[90m"}

// table prints aligned columns; colour(row, col) names a colour for a cell
// (used only on a terminal).
func table(w io.Writer, head []string, rows [][]string, colour func(r, c int) string) {
	width := make([]int, len(head))
	for c, h := range head {
		width[c] = len(h)
	}
	for _, r := range rows {
		for c, v := range r {
			width[c] = max(width[c], len([]rune(v)))
		}
	}
	term := isTerminal(w)
	line := func(r []string, ri int) {
		var b strings.Builder
		for c, v := range r {
			cell := v
			if c < len(r)-1 {
				cell += strings.Repeat(" ", width[c]-len([]rune(v))+2)
			}
			if term && ri >= 0 && colour != nil {
				if code := ansi[colour(ri, c)]; code != "" {
					cell = code + v + "\x1b[0m" + cell[len(v):]
				}
			}
			b.WriteString(cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(head, -1)
	for i, r := range rows {
		line(r, i)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdRun(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("run", stderr)
	dur := fs.Duration("for", 0, "stop after this long (default: until SIGINT/SIGTERM)")
	fs.Usage = subUsage(fs, "run [--for 10m] [--demo]", "Runs the engine without a window: pushes the queue, pulls Metrc, reconciles.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return quiet(exitUsage)
	}
	if err := checkTZ(); err != nil {
		return err
	}
	c, note := loadCreds()
	if !g.demo && !c.hasKeys() {
		return noCredentials(note)
	}
	dir, err := g.dir()
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	log := newLogger(stderr, slog.LevelInfo)
	o, err := startOwner(ctx, dir, g.demo, c, log)
	if err != nil {
		return err
	}
	o.start(ctx)
	if o.demo != nil {
		o.demo.StartSales(o.eng, 0)
	}
	names := make([]string, len(o.licenses))
	for i, l := range o.licenses {
		names[i] = l.Number
	}
	log.Info("running", "data", dir, "demo", g.demo, "licenses", strings.Join(names, ","))
	<-ctx.Done()
	log.Info("stopping")
	return o.close()
}

func cmdStatus(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("status", stderr)
	asJSON := fs.Bool("json", false, "print a JSON array (see the README)")
	fs.Usage = subUsage(fs, "status [--json]", "Shows each license's health: colour, reason, queue.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return quiet(exitUsage)
	}
	a, done, err := connect(g, stderr)
	if err != nil {
		return err
	}
	defer done()
	st, err := a.Status(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, st)
	}
	if len(st) == 0 {
		fmt.Fprintln(stdout, "No licenses yet: start `tracesync run` or the app once.")
		return nil
	}
	rows := make([][]string, len(st))
	for i, s := range st {
		last := "never"
		if s.LastPullOK != nil {
			if t, err := time.Parse(time.RFC3339, *s.LastPullOK); err == nil {
				last = t.Format("2006-01-02 15:04") // the license's local time
			}
		}
		rows[i] = []string{s.License, s.Name, s.Color, s.Reason, fmt.Sprint(s.Pending), fmt.Sprint(s.NeedsAttention), last}
	}
	table(stdout, []string{"LICENSE", "NAME", "STATUS", "REASON", "PENDING", "ATTENTION", "LAST PULL"}, rows, func(r, c int) string {
		if c == 2 {
			return st[r].Color
		}
		return ""
	})
	for _, s := range st {
		for _, d := range s.Details {
			fmt.Fprintf(stdout, "  %s: %s\n", s.License, d)
		}
	}
	return nil
}

func cmdJobs(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("jobs", stderr)
	state := fs.String("state", "", "only jobs in this state (pending, sending, retrying, unknown, needs-attention, done, matched, discarded, or unfinished); comma-separated for several")
	license := fs.String("license", "", "only jobs of this license")
	asJSON := fs.Bool("json", false, "print a JSON array (see the README)")
	fs.Usage = subUsage(fs, "jobs [--state S] [--license L] [--json]", "Lists queued Metrc writes, oldest first.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return quiet(exitUsage)
	}
	if _, err := control.States(*state); err != nil {
		return exitf(exitUsage, "--state: %v", err)
	}
	a, done, err := connect(g, stderr)
	if err != nil {
		return err
	}
	defer done()
	js, err := a.Jobs(context.Background(), control.JobsQuery{State: *state, License: *license})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, js)
	}
	rows := make([][]string, len(js))
	for i, j := range js {
		rows[i] = []string{fmt.Sprint(j.ID), j.License, j.Kind, j.State, j.Key, fmt.Sprint(j.Attempts), j.Updated.Local().Format("2006-01-02 15:04:05"), j.LastError}
	}
	table(stdout, []string{"ID", "LICENSE", "KIND", "STATE", "KEY", "ATTEMPTS", "UPDATED", "LAST ERROR"}, rows, func(r, c int) string {
		if c != 3 {
			return ""
		}
		switch js[r].State {
		case "done", "matched":
			return "green"
		case "retrying", "unknown":
			return "orange"
		case "needs-attention":
			return "red"
		case "discarded":
			return "grey"
		}
		return ""
	})
	return nil
}

func cmdPush(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("push", stderr)
	all := fs.Bool("all", false, "make every pending, retrying and unknown job due now")
	fs.Usage = subUsage(fs, "push [--all | ID...]", "Makes jobs due now (\"push now\").")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ids, err := control.ParseIDs(fs.Args())
	if err != nil {
		return err
	}
	if *all == (len(ids) > 0) {
		fs.Usage()
		return exitf(exitUsage, "give --all or job ids")
	}
	a, done, err := connect(g, stderr)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Push(context.Background(), control.PushRequest{IDs: ids, All: *all})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d job(s) made due now\n", res.Touched)
	return nil
}

func cmdImport(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("import", stderr)
	fs.Usage = subUsage(fs, "import receipts|assemblies FILE", "Validates the whole CSV file, then queues its records (nothing is queued when any row is bad).\n"+
		"receipts:   "+strings.Join(importcsv.Columns[importcsv.Receipts], ",")+"\n"+
		"assemblies: "+strings.Join(importcsv.Columns[importcsv.Assemblies], ",")+"\n"+
		"FILE - reads standard input.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Flags may also follow the positional arguments.
	rest := fs.Args()
	var pos []string
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := parseFlags(fs, rest[1:]); err != nil {
			return err
		}
		rest = fs.Args()
	}
	if len(pos) != 2 {
		fs.Usage()
		return quiet(exitUsage)
	}
	kind, err := importcsv.ParseKind(pos[0])
	if err != nil {
		return exitf(exitUsage, "%v", err)
	}
	var in io.Reader = os.Stdin
	name := pos[1]
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return exitf(exitFailure, "import: %w", err)
		}
		defer f.Close()
		in = f
	}
	a, done, err := connect(g, stderr)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Import(context.Background(), kind, in)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if !res.OK() {
		for _, p := range res.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", name, p)
		}
		if res.MoreProblems > 0 {
			fmt.Fprintf(stderr, "%s: ... and %d more problems\n", name, res.MoreProblems)
		}
		for _, k := range res.Conflicts {
			fmt.Fprintf(stderr, "%s: %s is already queued with different content\n", name, k)
		}
		n := len(res.Problems) + res.MoreProblems + len(res.Conflicts)
		return exitf(exitBadInput, "%s: %d problem(s); nothing was queued", name, n)
	}
	what := "receipt(s)"
	if kind == importcsv.Assemblies {
		what = "package(s)"
	}
	fmt.Fprintf(stdout, "%d row(s), %d %s: %d queued, %d already queued\n", res.Rows, res.Records, what, res.Queued, res.Skipped)
	return nil
}

func cmdReport(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("report", stderr)
	date := fs.String("date", "", "the day, YYYY-MM-DD (default: yesterday)")
	format := fs.String("format", "csv", "csv or html")
	fs.Usage = subUsage(fs, "report [--date YYYY-MM-DD] [--format csv|html]", "Writes the auto-repair report of a day to standard output.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return quiet(exitUsage)
	}
	if *format != "csv" && *format != "html" {
		return exitf(exitUsage, "--format must be csv or html")
	}
	if *date != "" {
		if _, err := time.Parse("2006-01-02", *date); err != nil {
			return exitf(exitBadInput, "bad date %q (want YYYY-MM-DD)", *date)
		}
	}
	a, done, err := connect(g, stderr)
	if err != nil {
		return err
	}
	defer done()
	return a.Report(context.Background(), stdout, *date, *format)
}

func cmdSim(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := g.flagSet("sim", stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	seed := fs.String("seed", "demo", "demo (two licenses with inventory) or empty")
	fs.Usage = subUsage(fs, "sim [--addr 127.0.0.1:0] [--seed demo|empty]",
		"Serves the Metrc simulator until SIGINT/SIGTERM and prints the environment that points tracesync at it.\nFaults: the /sim/ control endpoints (see app/metrcsim).")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || (*seed != "demo" && *seed != "empty") {
		fs.Usage()
		return quiet(exitUsage)
	}
	ctx, stop := signalContext()
	defer stop()
	s := metrcsim.New(metrcsim.Options{Seed: *seed})
	err := metrcsim.Serve(ctx, *addr, s, func(url string) {
		fmt.Fprintf(stdout, "%s=%s\n%s=%s\n%s=%s\n", envURL, url, envVendor, metrcsim.DemoVendorKey, envUser, metrcsim.DemoUserKey)
		if l := s.Licenses(); len(l) > 0 {
			fmt.Fprintf(stdout, "%s=%s\n", envLics, strings.Join(l, ","))
		}
		if f, ok := stdout.(*os.File); ok {
			f.Sync()
		}
	})
	if err != nil {
		if strings.Contains(err.Error(), "loopback") {
			return exitf(exitUsage, "%v", err)
		}
		return exitf(exitFailure, "%v", err)
	}
	return nil
}
