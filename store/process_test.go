package store

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"tracesync/app"
)

// The test binary doubles as the child process of the crash and
// second-instance tests: with childEnv set, TestMain runs the child's part
// instead of the tests.
const (
	childEnv     = "TRACESYNC_STORE_TEST_CHILD"
	childPathEnv = "TRACESYNC_STORE_TEST_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		code := m.Run()
		removeBenchDir()
		os.Exit(code)
	case "lock":
		childLock(os.Getenv(childPathEnv))
	case "crash":
		childCrash(os.Getenv(childPathEnv))
	}
	os.Exit(0)
}

func child(mode, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPathEnv+"="+path)
	return cmd
}

// childLock tries to open a store another process holds and says how it went.
func childLock(path string) {
	start := time.Now()
	s, err := Open(path, WithLogger(quietLogger()))
	took := time.Since(start)
	switch {
	case errors.Is(err, app.ErrLocked):
		fmt.Printf("locked after %v\n", took.Round(time.Millisecond))
	case err != nil:
		fmt.Printf("error %v\n", err)
	default:
		s.Close()
		fmt.Println("opened")
	}
}

func TestSecondInstanceIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := child("lock", path).CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "locked after") {
		t.Fatalf("second process: %s", out)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the refusal took %v", took) // generous: a loaded machine; the lock wait itself is 1s
	}
	t.Logf("second process: %s", strings.TrimSpace(string(out)))
	// Once the owner closes, another process can open it.
	s.Close()
	out, _ = child("lock", path).CombinedOutput()
	if strings.TrimSpace(string(out)) != "opened" {
		t.Errorf("after close: %s", out)
	}
}

// childCrash enqueues and moves jobs as fast as it can, printing after each
// commit "Q id" for new jobs and "T id state" for moves, until killed.
func childCrash(path string) {
	s, err := Open(path, WithLogger(quietLogger()))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	now := time.Now()
	if _, err := s.Recover(now); err != nil {
		fmt.Println("recover:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(now.UnixNano())))
	lics := []string{"L1", "L2", "L3"}
	for i := 0; ; i++ {
		var batch []app.Job
		for range 1 + r.IntN(20) {
			lic := lics[r.IntN(3)]
			label := fmt.Sprint("P", r.IntN(30))
			switch r.IntN(3) {
			case 0:
				batch = append(batch, sale(lic, fmt.Sprintf("%d-%d-%d", os.Getpid(), i, len(batch)), label))
			case 1:
				batch = append(batch, job(lic, app.KindChangeLocation, "mv", []string{label}, nil))
			default:
				batch = append(batch, adjust(lic, label))
			}
		}
		res, err := s.Enqueue(batch...)
		if err != nil {
			fmt.Println("enqueue:", err)
			os.Exit(1)
		}
		for _, x := range res {
			fmt.Fprintf(w, "Q %d\n", x.ID)
		}
		w.Flush()
		// Move the due jobs of one license along random allowed paths.
		due, err := s.Due(lics[r.IntN(3)], time.Now(), 10)
		if err != nil {
			fmt.Println("due:", err)
			os.Exit(1)
		}
		var ts []app.Transition
		for _, j := range due {
			ts = append(ts, app.Transition{ID: j.ID, To: app.StateSending, At: time.Now()})
		}
		if _, err := s.Apply(ts...); err != nil {
			fmt.Println("apply:", err)
			os.Exit(1)
		}
		for _, t := range ts {
			fmt.Fprintf(w, "T %d %s\n", t.ID, t.To)
		}
		w.Flush()
		ts = ts[:0]
		for _, j := range due {
			to := []app.JobState{app.StateDone, app.StateRetrying, app.StateUnknown, app.StateNeedsAttention}[r.IntN(4)]
			ts = append(ts, app.Transition{ID: j.ID, To: to, At: time.Now(), Attempt: &app.Attempt{At: time.Now(), Outcome: string(to)}})
			if to == app.StateNeedsAttention && r.IntN(2) == 0 {
				ts = append(ts, app.Transition{ID: j.ID, To: app.StateDiscarded, At: time.Now(), Reason: "crash test"})
			}
		}
		js, err := s.Apply(ts...)
		if err != nil {
			fmt.Println("apply:", err)
			os.Exit(1)
		}
		for _, j := range js {
			fmt.Fprintf(w, "T %d %s\n", j.ID, j.State)
		}
		w.Flush()
	}
}

// reachable[s] is every state the table allows from s in any number of moves.
func reachableFrom(from app.JobState) map[app.JobState]bool {
	seen := map[app.JobState]bool{from: true}
	queue := []app.JobState{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, to := range app.States {
			if app.CanTransition(s, to) && !seen[to] {
				seen[to] = true
				queue = append(queue, to)
			}
		}
	}
	// Recover's start-up moves and a discard's cascade are table moves
	// too (sending->unknown/retrying; dependents -> needs-attention).
	if from == app.StatePending || from == app.StateRetrying || from == app.StateUnknown {
		seen[app.StateNeedsAttention] = true
		for s := range reachableFrom(app.StateNeedsAttention) {
			seen[s] = true
		}
	}
	return seen
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 30+ processes")
	}
	path := filepath.Join(t.TempDir(), "db")
	r := rand.New(rand.NewPCG(7, 7))
	committed := map[uint64]app.JobState{} // last state each job was reported in
	kills := 0
	for kills < 32 {
		cmd := child("crash", path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Mostly wait for the child to commit something, then kill it at a
		// random moment in the following 0-300 ms; sometimes kill it early,
		// while it opens and recovers.
		var got []string
		if r.IntN(4) == 0 {
			time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
		} else {
			first, ok := <-lines
			if !ok {
				cmd.Wait()
				t.Fatalf("child printed nothing")
			}
			got = append(got, first)
			time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			got = append(got, l)
		}
		cmd.Wait()
		kills++

		for _, l := range got {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue // a line cut by the kill
			}
			id, err := strconv.ParseUint(f[1], 10, 64)
			switch {
			case err != nil:
				t.Fatalf("child said %q", l)
			case f[0] == "Q" && len(f) == 2:
				committed[id] = app.StatePending
			case f[0] == "T" && len(f) == 3 && app.JobState(f[2]).Valid():
				committed[id] = app.JobState(f[2])
			}
		}

		s, err := Open(path, WithLogger(quietLogger()))
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kills, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("kill %d: %v", kills, err)
		}
		s.DB().View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				t.Errorf("kill %d: tx.Check: %v", kills, err)
			}
			return nil
		})
		for id, st := range committed {
			j, err := s.Job(id)
			if err != nil {
				t.Fatalf("kill %d: job #%d was committed: %v", kills, id, err)
			}
			if !reachableFrom(st)[j.State] {
				t.Fatalf("kill %d: job #%d is %s, unreachable from its committed %s", kills, id, j.State, st)
			}
		}
		s.Close()
		t.Logf("kill %d after %d lines: %d jobs committed so far", kills, len(got), len(committed))
	}
}
