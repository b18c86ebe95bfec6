package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is the tracesync binary TestMain builds once.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tracesync-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "tracesync")
	args := []string{"build", "-tags", "migrated_fynedo"}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "-o", bin, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tracesync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// baseEnv is a clean environment: no display, no D-Bus, no credentials.
func baseEnv(t *testing.T, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=en_US.UTF-8", "TMPDIR=" + os.TempDir()}
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// ts runs the binary to completion.
func ts(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return tsIn(t, env, nil, args...)
}

func tsIn(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func want(t *testing.T, r result, code int, args ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
	}
}

// start runs the binary in the background; its stderr goes to a file.
func start(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	logf, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%v stderr:\n%s", args, tail(string(b), 4000))
		}
	})
	return cmd, &out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func keysOf(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

var (
	statusKeys = []string{"color", "details", "lastPullOk", "license", "name", "needsAttention", "oldestPending", "pending", "reason"}
	jobKeys    = []string{"attempts", "created", "id", "key", "kind", "lastError", "license", "state", "updated"}
)

func decodeArray(t *testing.T, s string) []map[string]any {
	t.Helper()
	var v []map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, s)
	}
	return v
}

func TestHelp(t *testing.T) {
	env := baseEnv(t)
	for _, c := range []string{"run", "status", "jobs", "push", "import", "report", "sim"} {
		r := ts(t, env, c, "--help")
		want(t, r, 0, c, "--help")
		if !strings.Contains(r.stderr, "Usage: tracesync "+c) {
			t.Errorf("%s --help: %s", c, r.stderr)
		}
	}
	r := ts(t, env, "--help")
	want(t, r, 0, "--help")
	if !strings.Contains(r.stderr, "tracesync import receipts|assemblies FILE") {
		t.Errorf("--help: %s", r.stderr)
	}
}

func TestUsageAndBadInput(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	csv := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(csv, []byte("a\n"), 0o600)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"status", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"run"}, 2, "TRACESYNC_VENDOR_KEY and TRACESYNC_USER_KEY"},
		{[]string{"push"}, 2, "give --all or job ids"},
		{[]string{"push", "abc"}, 4, `"abc" is not a job id`},
		{[]string{"push", "999"}, 4, "no job #999"},
		{[]string{"jobs", "--state", "sleeping"}, 2, `unknown state "sleeping"`},
		{[]string{"import", "sales", csv}, 2, "unknown import kind"},
		{[]string{"import", "receipts"}, 2, "Usage: tracesync import"},
		{[]string{"import", "receipts", filepath.Join(data, "missing.csv")}, 1, "no such file"},
		{[]string{"import", "receipts", csv}, 4, "missing column(s)"},
		{[]string{"report", "--date", "2026-13-01"}, 4, "bad date"},
		{[]string{"report", "--format", "pdf"}, 2, "csv or html"},
		{[]string{"sim", "--addr", "0.0.0.0:0"}, 2, "loopback"},
		{[]string{"sim", "--seed", "big"}, 2, "Usage: tracesync sim"},
	}
	for _, c := range cases {
		r := ts(t, env, append([]string{"--data", data}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.msg)
		}
	}
	r := ts(t, append(env, "TRACESYNC_TZ=Mars/Olympus"), "--data", data, "run", "--demo")
	if r.code != 2 || !strings.Contains(r.stderr, "TRACESYNC_TZ") {
		t.Errorf("bad TZ: %d %s", r.code, r.stderr)
	}
	keys := append(env, "TRACESYNC_VENDOR_KEY=v", "TRACESYNC_USER_KEY=u")
	r = ts(t, keys, "--data", data, "run")
	if r.code != 2 || !strings.Contains(r.stderr, "no Metrc URL: set TRACESYNC_METRC_URL") {
		t.Errorf("no URL: %d %s", r.code, r.stderr)
	}
	r = ts(t, append(keys, "TRACESYNC_METRC_URL=http://metrc.example.com"), "--data", data, "run")
	if r.code != 2 || !strings.Contains(r.stderr, "https") {
		t.Errorf("plain http: %d %s", r.code, r.stderr)
	}
}

func TestGUIWithoutDisplay(t *testing.T) {
	r := ts(t, baseEnv(t), "--data", t.TempDir())
	want(t, r, 1)
	if !strings.Contains(r.stderr, `xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- ./tracesync`) {
		t.Errorf("stderr: %s", r.stderr)
	}
}

const receiptsHeader = "LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount"

func TestNoOwnerStatusJobsImport(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t, "TRACESYNC_TZ=America/Los_Angeles")
	r := ts(t, env, "status", "--json", "--data", data)
	want(t, r, 0)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("status: %q", r.stdout)
	}
	r = ts(t, env, "--data", data, "jobs", "--json")
	want(t, r, 0)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("jobs: %q", r.stdout)
	}
	// BOM, CRLF, Excel's date format.
	file := filepath.Join(t.TempDir(), "day.csv")
	body := "\uFEFF" + receiptsHeader + "\r\n" +
		"LIC-1,R-1,11/27/2026 3:04 PM,Consumer,1A4FF0100000022000000001,1,Grams,10\r\n" +
		"LIC-1,R-1,11/27/2026 3:04 PM,Consumer,1A4FF0100000022000000002,2,Grams,20\r\n" +
		"LIC-1,R-2,2026-11-27,Consumer,1A4FF0100000022000000001,1,Grams,10\r\n"
	os.WriteFile(file, []byte(body), 0o600)
	r = ts(t, env, "--data", data, "import", "receipts", file)
	want(t, r, 0)
	if !strings.Contains(r.stdout, "3 row(s), 2 receipt(s): 2 queued, 0 already queued") {
		t.Errorf("import: %q", r.stdout)
	}
	r = ts(t, env, "--data", data, "import", "receipts", file)
	want(t, r, 0)
	if !strings.Contains(r.stdout, "0 queued, 2 already queued") {
		t.Errorf("re-import: %q", r.stdout)
	}
	// Different content under a queued key: an error, nothing queued.
	os.WriteFile(file, []byte(strings.Replace(body, ",2,Grams,20", ",3,Grams,30", 1)), 0o600)
	r = ts(t, env, "--data", data, "import", "receipts", file)
	want(t, r, 4)
	if !strings.Contains(r.stderr, "LIC-1/receipt/R-1 is already queued with different content") {
		t.Errorf("conflict: %s", r.stderr)
	}
	// Bad rows: every problem with its line, nothing queued.
	bad := receiptsHeader + "\nLIC-1,R-3,2026-11-27,Consumer,1A4FF0100000022000000001,1,Grams,10\n" +
		"LIC-1,R-4,yesterday,Consumer,1A4FF0100000022000000001,1,Grams,10\n" +
		"LIC-1,R-5,2026-11-27,Consumer,SHORT,x,Grams,10\n"
	r = tsIn(t, env, strings.NewReader(bad), "--data", data, "import", "receipts", "-")
	want(t, r, 4)
	for _, s := range []string{"line 3: SalesDateTime", "line 4: PackageLabel", "line 4: Quantity", "3 problem(s); nothing was queued"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("bad rows: missing %q in %s", s, r.stderr)
		}
	}
	r = ts(t, env, "--data", data, "jobs", "--json")
	want(t, r, 0)
	js := decodeArray(t, r.stdout)
	if len(js) != 2 {
		t.Fatalf("jobs: %s", r.stdout)
	}
	if !reflect.DeepEqual(keysOf(js[0]), jobKeys) || js[0]["state"] != "pending" || js[0]["kind"] != "sales-receipt" || js[0]["attempts"] != 0.0 || js[0]["lastError"] != "" {
		t.Errorf("job: %v", js[0])
	}
	for _, k := range []string{"created", "updated"} {
		if _, err := time.Parse(time.RFC3339, js[0][k].(string)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	r = ts(t, env, "--data", data, "jobs", "--state", "done", "--json")
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("done jobs: %s", r.stdout)
	}
	r = ts(t, env, "--data", data, "jobs", "--license", "LIC-1")
	want(t, r, 0)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID  LICENSE") || strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("jobs table:\n%s", r.stdout)
	}
	r = ts(t, env, "--data", data, "push", "--all")
	want(t, r, 0)
	if !strings.Contains(r.stdout, "2 job(s) made due now") {
		t.Errorf("push: %s", r.stdout)
	}
	r = ts(t, env, "--data", data, "push", "1")
	want(t, r, 0)
}

// owned starts `run --demo` on data and waits for its control socket.
func owned(t *testing.T, env []string, data string, args ...string) *exec.Cmd {
	t.Helper()
	cmd, _ := start(t, env, append([]string{"--data", data, "run", "--demo"}, args...)...)
	sock := filepath.Join(data, "demo", "control.sock")
	waitFor(t, 60*time.Second, "the control socket", func() bool { return exists(sock) })
	return cmd
}

func TestRunDemoOwnsFolder(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	cmd := owned(t, env, data, "--for", "5m")
	fi, err := os.Stat(filepath.Join(data, "demo", "control.sock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	// A second owner: exit 3, clearly.
	r := ts(t, env, "--data", data, "run", "--demo", "--for", "1s")
	want(t, r, 3)
	if !strings.Contains(r.stderr, "in use by another tracesync process") {
		t.Errorf("second run: %s", r.stderr)
	}
	// status through the socket: the demo licenses.
	var st []map[string]any
	waitFor(t, 30*time.Second, "two licenses pulled", func() bool {
		r = ts(t, env, "--data", data, "--demo", "status", "--json")
		if r.code != 0 {
			return false
		}
		st = decodeArray(t, r.stdout)
		return len(st) == 2 && st[0]["lastPullOk"] != nil && st[1]["lastPullOk"] != nil
	})
	for _, s := range st {
		if !reflect.DeepEqual(keysOf(s), statusKeys) {
			t.Errorf("status keys %v", keysOf(s))
		}
		if _, err := time.Parse(time.RFC3339, s["lastPullOk"].(string)); err != nil {
			t.Errorf("lastPullOk: %v", err)
		}
	}
	r = ts(t, env, "--data", data, "--demo", "status")
	want(t, r, 0)
	if !strings.Contains(r.stdout, "Green Leaf Retail") || strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("status table: %s", r.stdout)
	}
	// Import through the socket: labels the demo store knows after the pull.
	file := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(file, []byte(receiptsHeader+"\nCML-000001,SOCK-1,2026-11-27 10:00:00,Consumer,1A4FF0100000022000000003,1,Grams,10\n"), 0o600)
	r = ts(t, env, "--data", data, "--demo", "import", "receipts", file)
	want(t, r, 0)
	if !strings.Contains(r.stdout, "1 queued") {
		t.Errorf("import via socket: %s %s", r.stdout, r.stderr)
	}
	// The owner checks units against its last pull.
	os.WriteFile(file, []byte(receiptsHeader+"\nCML-000001,SOCK-2,2026-11-27 10:00:00,Consumer,1A4FF0100000022000000003,1,Bushels,10\n"), 0o600)
	r = ts(t, env, "--data", data, "--demo", "import", "receipts", file)
	want(t, r, 4)
	if !strings.Contains(r.stderr, `line 2: UnitOfMeasure "Bushels" is not a unit Metrc knows`) {
		t.Errorf("unit check via socket: %s", r.stderr)
	}
	r = ts(t, env, "--data", data, "--demo", "jobs", "--json", "--license", "CML-000001")
	want(t, r, 0)
	found := false
	for _, j := range decodeArray(t, r.stdout) {
		found = found || j["key"] == "CML-000001/receipt/SOCK-1"
	}
	if !found {
		t.Errorf("imported job not listed: %s", r.stdout)
	}
	r = ts(t, env, "--data", data, "--demo", "push", "--all")
	want(t, r, 0)
	r = ts(t, env, "--data", data, "--demo", "report", "--date", "2026-11-01")
	want(t, r, 0)
	// SIGTERM: clean exit 0; the store reopens without an owner.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	if exists(filepath.Join(data, "demo", "control.sock")) {
		t.Error("socket left after a clean stop")
	}
	if !exists(filepath.Join(data, "demo", "sim.json")) {
		t.Error("demo simulator state not saved")
	}
	r = ts(t, env, "--data", data, "--demo", "status", "--json")
	want(t, r, 0)
	if len(decodeArray(t, r.stdout)) != 2 {
		t.Errorf("status without owner: %s", r.stdout)
	}
}

func TestKill9LeavesStaleSocket(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	cmd := owned(t, env, data, "--for", "5m")
	cmd.Process.Kill()
	cmd.Wait()
	sock := filepath.Join(data, "demo", "control.sock")
	if !exists(sock) {
		t.Fatal("kill -9 should leave the socket behind")
	}
	r := ts(t, env, "--data", data, "--demo", "jobs", "--json")
	want(t, r, 0)
	if exists(sock) {
		t.Error("stale socket not removed")
	}
	// And the next owner starts normally.
	cmd = owned(t, env, data, "--for", "5m")
	r = ts(t, env, "--data", data, "--demo", "status", "--json")
	want(t, r, 0)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
}

// simEnv starts `tracesync sim` and returns the environment it prints.
func simEnv(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "sim")
	cmd.Env = baseEnv(t)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("sim after SIGTERM: %v", err)
		}
	})
	env := map[string]string{}
	sc := bufio.NewScanner(out)
	for len(env) < 4 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = v
		}
	}
	if env["TRACESYNC_METRC_URL"] == "" {
		t.Fatalf("sim printed %v", env)
	}
	go io.Copy(io.Discard, out)
	return env
}

func simFaults(t *testing.T, base, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+"/sim/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("faults %s: %s", body, resp.Status)
	}
}

type simPackage struct {
	Label, Item, UnitOfMeasure, Location string
	Quantity                             float64
}

func simPackages(t *testing.T, base, license string) []simPackage {
	t.Helper()
	resp, err := http.Get(base + "/sim/packages?licenseNumber=" + license)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ps []simPackage
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// simReceipts counts the license's receipts in the simulator by external number.
func simReceipts(t *testing.T, env map[string]string, license string) map[string]int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env["TRACESYNC_METRC_URL"]+"/sales/v2/receipts/active?licenseNumber="+license, nil)
	req.SetBasicAuth(env["TRACESYNC_VENDOR_KEY"], env["TRACESYNC_USER_KEY"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct{ ExternalReceiptNumber string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range page.Data {
		n[r.ExternalReceiptNumber]++
	}
	return n
}

// TestEndToEnd imports receipts and assemblies with no network, runs the
// engine against `tracesync sim` through an outage and lost responses,
// SIGKILLs it mid-way, restarts it, and checks every record reached the
// simulator exactly once and nothing is left unfinished.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	sim := simEnv(t)
	base := sim["TRACESYNC_METRC_URL"]
	const lic = "CML-000001"
	var grams, each []simPackage
	for _, p := range simPackages(t, base, lic) {
		switch {
		case p.UnitOfMeasure == "Grams" && p.Quantity >= 100:
			grams = append(grams, p)
		case p.UnitOfMeasure == "Each" && p.Quantity >= 50:
			each = append(each, p)
		}
	}
	if len(grams) < 4 || len(each) < 2 {
		t.Fatalf("demo world too small: %d %d", len(grams), len(each))
	}
	data := t.TempDir()
	env := baseEnv(t, "TRACESYNC_TZ=America/Los_Angeles", "TRACESYNC_BACKOFF_CAP=2s", "TRACESYNC_PROBE_INTERVAL=1s")
	for k, v := range sim {
		env = append(env, k+"="+v)
	}
	// Receipts: 30, some with two lines.
	var rb strings.Builder
	rb.WriteString(receiptsHeader + "\r\n")
	day := time.Now().Add(-2 * time.Hour).In(mustZone(t)).Format("2006-01-02 15:04:05")
	var receipts []string
	for i := 0; i < 30; i++ {
		ext := fmt.Sprintf("E2E-%03d", i)
		receipts = append(receipts, ext)
		fmt.Fprintf(&rb, "%s,%s,%s,Consumer,%s,1,Grams,12.5\r\n", lic, ext, day, grams[i%4].Label)
		if i%3 == 0 {
			fmt.Fprintf(&rb, "%s,%s,%s,Consumer,%s,1,Each,20\r\n", lic, ext, day, each[i%2].Label)
		}
	}
	// Assemblies: 5 new packages, two ingredients each.
	var ab strings.Builder
	ab.WriteString("tag,item,quantity,unitofmeasure,location,actualdate,ingredientpackage,ingredientquantity,ingredientunitofmeasure,licensenumber\n")
	var tags []string
	for i := 0; i < 5; i++ {
		tag := fmt.Sprintf("1A4FF01000000220000E2E%02d", i)
		tags = append(tags, tag)
		fmt.Fprintf(&ab, "%s,%s,10,Grams,%s,%s,%s,5,Grams,%s\n", tag, grams[0].Item, grams[0].Location, time.Now().In(mustZone(t)).Format("1/2/2006"), grams[i%4].Label, lic)
		fmt.Fprintf(&ab, "%s,%s,10,Grams,%s,%s,%s,5,Grams,%s\n", tag, grams[0].Item, grams[0].Location, time.Now().In(mustZone(t)).Format("1/2/2006"), grams[(i+1)%4].Label, lic)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "receipts.csv"), []byte(rb.String()), 0o600)
	os.WriteFile(filepath.Join(dir, "assemblies.csv"), []byte(ab.String()), 0o600)
	r := ts(t, env, "--data", data, "import", "receipts", filepath.Join(dir, "receipts.csv"))
	want(t, r, 0)
	r = ts(t, env, "--data", data, "import", "assemblies", filepath.Join(dir, "assemblies.csv"))
	want(t, r, 0)
	if !strings.Contains(r.stdout, "5 queued") {
		t.Fatalf("assemblies: %s %s", r.stdout, r.stderr)
	}

	// Metrc is down when the engine starts; then it answers but loses
	// responses after applying writes; the engine is SIGKILLed in the middle.
	simFaults(t, base, `{"Outage":"503"}`)
	cmd, _ := start(t, env, "--data", data, "run", "--for", "5m")
	waitFor(t, 30*time.Second, "the control socket", func() bool { return exists(filepath.Join(data, "control.sock")) })
	waitFor(t, 30*time.Second, "503s answered", func() bool {
		st := simStats(t, base)
		return st.Requests["GET 503"]+st.Requests["POST 503"] >= 3
	})
	// Every write applied, no answer: those jobs become unknown and must be
	// verified, not resent.
	simFaults(t, base, `{"DropAfterApply":1}`)
	waitFor(t, 60*time.Second, "lost responses", func() bool { return simStats(t, base).Dropped >= 2 })
	simFaults(t, base, `{"DropAfterApply":0.5}`)
	waitFor(t, 60*time.Second, "some receipts in the simulator", func() bool { return len(simReceipts(t, sim, lic)) >= 5 })
	cmd.Process.Kill()
	cmd.Wait()
	simFaults(t, base, `{"DropAfterApply":0.3,"Fail500":["/sales/"],"Fail500Prob":0.2}`)

	cmd, _ = start(t, env, "--data", data, "run", "--for", "5m")
	waitFor(t, 30*time.Second, "the control socket", func() bool { return exists(filepath.Join(data, "control.sock")) })
	time.Sleep(5 * time.Second)
	simFaults(t, base, `{}`)
	waitFor(t, 150*time.Second, "every job finished", func() bool {
		r := ts(t, env, "--data", data, "jobs", "--state", "unfinished", "--json")
		return r.code == 0 && strings.TrimSpace(r.stdout) == "[]"
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}

	st := simStats(t, base)
	t.Logf("simulator: %+v", st)
	got := simReceipts(t, sim, lic)
	for _, ext := range receipts {
		if got[ext] != 1 {
			t.Errorf("receipt %s is in the simulator %d times", ext, got[ext])
		}
	}
	count := map[string]int{}
	for _, p := range simPackages(t, base, lic) {
		count[p.Label]++
	}
	for _, tag := range tags {
		if count[tag] != 1 {
			t.Errorf("package %s is in the simulator %d times", tag, count[tag])
		}
	}
	r = ts(t, env, "--data", data, "jobs", "--json")
	want(t, r, 0)
	for _, j := range decodeArray(t, r.stdout) {
		if s := j["state"]; s != "done" && s != "matched" {
			t.Errorf("job %v: %v", j["key"], s)
		}
	}
}

type stats struct {
	Requests map[string]int
	Dropped  int
}

func simStats(t *testing.T, base string) stats {
	t.Helper()
	resp, err := http.Get(base + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustZone(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestGUIUnderXvfb starts the desktop app (demo mode: no credentials) on a
// virtual X server, waits for its window, sends SIGTERM and expects exit 0
// and a store that reopens.
// xvfb starts a private X server for the test and returns its display;
// it skips the test without Xvfb and xdotool.
func xvfb(t *testing.T) string {
	t.Helper()
	server, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb not installed")
	}
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Skip("xdotool not installed")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command(server, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		// SIGTERM, not SIGKILL: a killed Xvfb leaves its socket in
		// /tmp/.X11-unix behind, and the next test's server, given the
		// same display number, could then not be reached.
		x.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { x.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			x.Process.Kill()
			<-done
		}
	})
	num, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb display: %v", err)
	}
	return ":" + strings.TrimSpace(num)
}

// waitWindow waits for the window titled "tracesync" on env's display.
func waitWindow(t *testing.T, env []string) {
	t.Helper()
	waitFor(t, 60*time.Second, "the tracesync window", func() bool {
		c := exec.Command("xdotool", "search", "--name", "^tracesync$")
		c.Env = env
		out, _ := c.Output()
		return len(bytes.TrimSpace(out)) > 0
	})
}

func TestGUIUnderXvfb(t *testing.T) {
	display := xvfb(t)
	data := t.TempDir()
	env := baseEnv(t, "DISPLAY="+display)
	cmd, _ := start(t, env, "--data", data)
	waitWindow(t, env)
	waitFor(t, 30*time.Second, "the control socket", func() bool { return exists(filepath.Join(data, "demo", "control.sock")) })
	res := ts(t, env, "--data", data, "--demo", "status", "--json")
	want(t, res, 0)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("app after SIGTERM: %v", err)
	}
	res = ts(t, env, "--data", data, "--demo", "jobs", "--json")
	want(t, res, 0)
	// Started twice on one folder: exit 3.
	cmd, _ = start(t, env, "--data", data)
	waitFor(t, 30*time.Second, "the control socket", func() bool { return exists(filepath.Join(data, "demo", "control.sock")) })
	res = ts(t, env, "--data", data, "--demo")
	want(t, res, 3)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("app after SIGTERM: %v", err)
	}
}

func TestRunForEnds(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	r := ts(t, env, "--data", data, "run", "--demo", "--for", "3s")
	want(t, r, 0)
	if exists(filepath.Join(data, "demo", "control.sock")) {
		t.Error("socket left after run --for")
	}
	r = ts(t, env, "--data", data, "--demo", "status", "--json")
	want(t, r, 0)
	st := decodeArray(t, r.stdout)
	if len(st) != 2 || st[0]["license"] != "C11-000002" || st[1]["license"] != "CML-000001" {
		t.Errorf("status after run: %s", r.stdout)
	}
}
