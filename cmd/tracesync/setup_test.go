package main

import (
	"log/slog"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/store"
)

// A login entry made while a demo ran for want of keys must not keep
// starting the demo once the keys are saved.
func TestAutostartArgs(t *testing.T) {
	for _, tc := range []struct {
		data      string
		askedDemo bool
		want      []string
	}{
		{"", false, []string{"/bin/ts", "--minimized"}},
		{"/d", false, []string{"/bin/ts", "--data", "/d", "--minimized"}},
		{"/d", true, []string{"/bin/ts", "--data", "/d", "--demo", "--minimized"}},
	} {
		if got := autostartArgs("/bin/ts", tc.data, tc.askedDemo); !slices.Equal(got, tc.want) {
			t.Errorf("autostartArgs(%q, %v) = %q, want %q", tc.data, tc.askedDemo, got, tc.want)
		}
	}
}

// What Settings saves during a demo nobody asked for lands in the real
// data folder, which the real run then starts from.
func TestRealSettingsEditTheRealFolder(t *testing.T) {
	dir := t.TempDir()
	r := realSettings{dir: dir, log: slog.New(slog.DiscardHandler)}
	if err := r.PutSetting(app.SettingsKey, app.Settings{State: "ca"}); err != nil {
		t.Fatal(err)
	}
	if err := r.PutLicense(app.License{Number: "C10-0000001-LIC", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	var got app.Settings
	if err := r.Setting(app.SettingsKey, &got); err != nil || got.State != "ca" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	st, err := store.Open(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err) // each call closed the store again
	}
	defer st.Close()
	ls, err := st.Licenses()
	if err != nil || len(ls) != 1 || ls[0].Number != "C10-0000001-LIC" {
		t.Fatalf("licenses in the real store: %+v, %v", ls, err)
	}
	if _, err := r.Licenses(); err == nil {
		t.Error("the store is held by another process: want an error, not a hang")
	}
}

// Keys but no Metrc address: the app opens a window (a demo, with Settings
// to give the address) instead of exiting 2 where nobody sees it.
func TestGUIWithKeysButNoAddress(t *testing.T) {
	display := xvfb(t)
	data := t.TempDir()
	env := baseEnv(t, "DISPLAY="+display, envVendor+"=vendor-key", envUser+"=user-key")
	cmd, _ := start(t, env, "--data", data)
	waitWindow(t, env)
	waitFor(t, 30*time.Second, "the demo's control socket", func() bool { return exists(filepath.Join(data, "demo", "control.sock")) })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("app after SIGTERM: %v", err)
	}
}
