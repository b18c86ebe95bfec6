// shotseed DIR — prepares a demo data folder for scripts/screenshots.sh:
// health thresholds of a minute, so an outage turns red while the script
// waits rather than after 20 minutes, and a pull every 30 s.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"tracesync/app"
	"tracesync/store"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: shotseed DIR")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[1], 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "shotseed:", err)
		os.Exit(1)
	}
	st, err := store.Open(filepath.Join(os.Args[1], "tracesync.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "shotseed:", err)
		os.Exit(1)
	}
	err = st.PutSetting(app.SettingsKey, app.Settings{PullStale: time.Minute, RecentFailure: time.Minute, PullInterval: 30 * time.Second})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shotseed:", err)
		os.Exit(1)
	}
}
