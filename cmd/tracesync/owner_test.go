//go:build !windows

package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopOwner starts `run --demo` on data and stops it with SIGSTOP, as Ctrl-Z
// or a debugger would; the test's end resumes it if the test did not.
func stopOwner(t *testing.T, env []string, data string) *exec.Cmd {
	t.Helper()
	cmd := owned(t, env, data, "--for", "5m")
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGCONT) })
	return cmd
}

// endOwner resumes a stopped owner and stops it cleanly.
func endOwner(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGCONT and SIGTERM: %v", err)
	}
}

// An owner that holds the data folder but does not answer (SIGSTOP): the
// subcommands that ask it give up with exit 3 and say what to do, instead of
// waiting for ever.
func TestStoppedOwnerExits3(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	cmd := stopOwner(t, env, data)
	short := append(env, envOwnerTimeout+"=1s")
	file := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(file, []byte(receiptsHeader+"\nCML-000001,STOP-1,2026-11-27 10:00:00,Consumer,1A4FF0100000022000000003,1,Grams,10\n"), 0o600)
	pid := cmd.Process.Pid
	for _, args := range [][]string{
		{"status"},
		{"status", "--json"},
		{"jobs", "--json"},
		{"push", "--all"},
		{"report", "--date", "2026-11-01"},
		{"import", "receipts", file},
	} {
		r := tsGuarded(t, short, append([]string{"--data", data, "--demo"}, args...)...)
		want(t, r, 3, args...)
		if !strings.Contains(r.stderr, "does not answer") || !strings.Contains(r.stderr, "kill -CONT") {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
		if want := "process " + strconv.Itoa(pid); runtime.GOOS == "linux" && !strings.Contains(r.stderr, want) {
			t.Errorf("%v: stderr does not name the owner (%s): %q", args, want, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout %q", args, r.stdout)
		}
	}
	// Resumed, it answers again, and stops cleanly.
	cmd.Process.Signal(syscall.SIGCONT)
	r := ts(t, short, "--data", data, "--demo", "status", "--json")
	want(t, r, 0, "status after SIGCONT")
	endOwner(t, cmd)
}

// tsGuarded is ts, failing the test (rather than hanging it until go
// test's own timeout) when the command has not returned after a minute.
func tsGuarded(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v: still waiting for an owner that does not answer", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// Ctrl-C ends a subcommand that waits for an owner that does not answer,
// long before its timeout.
func TestCtrlCEndsWaitingStatus(t *testing.T) {
	data := t.TempDir()
	env := baseEnv(t)
	cmd := stopOwner(t, env, data)
	// A process started with SIGINT ignored (this test run in the
	// background of a script) passes that on to its children; handling it
	// here gives them the default, as a terminal's Ctrl-C finds them.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	st := exec.Command(bin, "--data", data, "--demo", "status")
	st.Env = append(env, envOwnerTimeout+"=10m")
	var stderr bytes.Buffer
	st.Stderr = &stderr
	err := st.Start()
	signal.Stop(sigs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.Wait() }()
	time.Sleep(time.Second) // connected, waiting for the answer
	select {
	case err := <-done:
		t.Fatalf("status ended before Ctrl-C: %v\n%s", err, stderr.String())
	default:
	}
	st.Process.Signal(os.Interrupt)
	select {
	case <-done:
		if st.ProcessState.Success() {
			t.Errorf("status interrupted: success")
		}
	case <-time.After(30 * time.Second):
		st.Process.Kill()
		<-done
		t.Fatalf("status still waits after Ctrl-C\n%s", stderr.String())
	}
	endOwner(t, cmd)
}
