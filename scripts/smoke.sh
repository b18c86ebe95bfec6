#!/usr/bin/env bash
# smoke.sh [BINARY] — start the real built tracesync under a private Xvfb and
# D-Bus session in demo mode, wait for its window, check a screenshot of it is
# not blank, stop it with SIGTERM (must exit 0), then check the store reopens
# cleanly with `tracesync status --json`. Any failure exits non-zero with
# "SMOKE FAIL: ..." and the app's log.
#
# Needs: Xvfb, dbus-daemon, xdotool, ImageMagick (import, identify)
# (`make test` installs them). Artefacts (screenshot, log) are kept in
# .smoke/ (git-ignored). Environment knobs:
#   SMOKE_TIMEOUT       seconds to wait for the window (default 120: a race
#                       build starting on a busy 2-core machine is slow)
#   SMOKE_SETTLE        seconds the app runs after its window is drawn (3)
#   SMOKE_STOP_TIMEOUT  seconds it may take to exit after SIGTERM (30)
#   SMOKE_OUT           artefact folder (default .smoke)
set -euo pipefail

bin=${1:-./tracesync}
timeout_s=${SMOKE_TIMEOUT:-120}
out=${SMOKE_OUT:-.smoke}
title_re='^tracesync( |$)' # the main window is titled "tracesync" (maybe "tracesync — …")

export LANG=en_US.UTF-8
unset WAYLAND_DISPLAY

say() { printf 'smoke: %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracesync-smoke.XXXXXX")
data="$tmp/data"
log="$out/app.log"
xvfb_pid='' dbus_pid='' app_pid=''

cleanup() {
	local rc=$?
	if [[ -n "$app_pid" ]]; then kill -KILL "$app_pid" 2>/dev/null || true; fi
	if [[ -n "$dbus_pid" ]]; then kill "$dbus_pid" 2>/dev/null || true; fi
	if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	printf '\nSMOKE FAIL: %s\n' "$*" >&2
	if [[ -s "$log" ]]; then
		printf -- '--- last 80 lines of %s ---\n' "$log" >&2
		tail -n 80 "$log" >&2
		printf -- '---\n' >&2
	fi
	exit 1
}

for tool in Xvfb dbus-daemon xdotool import identify; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: run 'make test' (it installs the smoke test's packages)"
done
[[ -x "$bin" ]] || fail "$bin is not an executable: build it first ('make build')"
mkdir -p "$out"
rm -f "$out/window.png" "$out/screen.png" "$log" "$out/status.json"

# Wait until file $1 is non-empty, at most $2 seconds.
wait_file() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ -s "$1" ]] && return 0
		sleep 0.1
	done
	return 1
}

# A private X server on a free display: -displayfd writes the number once it
# accepts connections, so there is neither a race nor a guessed display.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
wait_file "$tmp/display" 20 || { cat "$tmp/xvfb.log" >&2; fail "Xvfb did not start"; }
DISPLAY=":$(tr -d '[:space:]' <"$tmp/display")"
export DISPLAY
say "Xvfb on $DISPLAY"

# A private session bus, so the tray and notifications have one (and the app
# is exercised the way a desktop runs it).
dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$tmp/dbus" >"$tmp/dbus.log" 2>&1 &
dbus_pid=$!
wait_file "$tmp/dbus" 10 || { cat "$tmp/dbus.log" >&2; fail "dbus-daemon did not start"; }
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/dbus")
export DBUS_SESSION_BUS_ADDRESS

# A throwaway HOME: Fyne preferences, autostart entries and keyring look-ups
# of this run touch nothing of the person running the test.
mkdir -p "$tmp/home/.config" "$tmp/home/.cache" "$tmp/home/.local/share"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" XDG_DATA_HOME="$tmp/home/.local/share"

say "starting $bin --demo --data $data"
"$bin" --demo --data "$data" >"$log" 2>&1 &
app_pid=$!

# Poll rather than `xdotool search --sync`: a crashed app fails at once
# instead of after the whole timeout.
wid=''
deadline=$((SECONDS + timeout_s))
while ((SECONDS < deadline)); do
	if ! kill -0 "$app_pid" 2>/dev/null; then
		rc=0
		wait "$app_pid" || rc=$?
		app_pid=''
		fail "tracesync exited (status $rc) before its window appeared"
	fi
	wid=$(xdotool search --onlyvisible --name "$title_re" 2>/dev/null | head -n1 || true)
	[[ -n "$wid" ]] && break
	sleep 0.5
done
[[ -n "$wid" ]] || fail "no window titled 'tracesync' within ${timeout_s}s"
say "window $wid: \"$(xdotool getwindowname "$wid")\" $(xdotool getwindowgeometry "$wid" | tr -s '\n ' ' ')"

# The first frames may still be empty: poll until the window shows something.
# A blank capture has one colour (standard deviation 0); a drawn Fyne window
# with text has hundreds of colours (anti-aliased text).
sd=0 colours=0
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
	kill -0 "$app_pid" 2>/dev/null || fail "tracesync exited while drawing its window"
	if import -window "$wid" "$out/window.png" 2>"$tmp/import.log"; then
		read -r sd colours < <(identify -format '%[fx:standard_deviation] %k\n' "$out/window.png" 2>/dev/null | head -n1) || true
		sd=${sd:-0} colours=${colours:-0}
		awk -v sd="$sd" -v k="$colours" 'BEGIN { exit !(sd > 0.01 && k > 1) }' && break
	fi
	sleep 1
done
import -window root "$out/screen.png" 2>/dev/null || true
awk -v sd="$sd" -v k="$colours" 'BEGIN { exit !(sd > 0.01 && k > 1) }' ||
	fail "the window looks blank (standard deviation $sd, $colours colours): see $out/window.png"
say "screenshot $out/window.png: standard deviation $sd, $colours colours"

# Let the engine do a little work (a pull from the demo simulator) so the
# store has something to reopen, then stop it the way a session manager does.
sleep "${SMOKE_SETTLE:-3}"
say "sending SIGTERM"
kill -TERM "$app_pid"
stop_s=${SMOKE_STOP_TIMEOUT:-30}
t0=$(date +%s.%N)
deadline=$((SECONDS + stop_s))
while kill -0 "$app_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
if kill -0 "$app_pid" 2>/dev/null; then
	fail "tracesync still running ${stop_s}s after SIGTERM"
fi
stopped_in=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
rc=0
wait "$app_pid" || rc=$?
app_pid=''
# A race-detector build (make test) reports races in the log and exits 66.
if grep -Eq '^(panic|fatal error):|WARNING: DATA RACE' "$log"; then
	fail "tracesync logged a panic or a data race (exit status $rc): see $log"
fi
((rc == 0)) || fail "tracesync exited with status $rc after SIGTERM, want 0"
say "exited 0, ${stopped_in}s after SIGTERM"

# The store must reopen cleanly: no lock left behind, every record readable.
# Demo data lives in <data>/demo, which --demo selects.
[[ -d "$data/demo" ]] || fail "demo mode left no data folder at $data/demo"
status_rc=0
"$bin" status --json --demo --data "$data" >"$out/status.json" 2>"$tmp/status.err" || status_rc=$?
((status_rc == 0)) || {
	cat "$tmp/status.err" >&2
	fail "'tracesync status --json --demo --data $data' exited $status_rc"
}
tr -d '[:space:]' <"$out/status.json" | grep -Eq '^\[(\{.*\})?\]$' ||
	fail "'tracesync status --json' did not print a JSON array of objects: $(head -c 300 "$out/status.json")"
grep -q '"license"' "$out/status.json" ||
	fail "'tracesync status --json' lists no license after a demo run: $(head -c 300 "$out/status.json")"
say "store reopens: $(grep -o '"license"' "$out/status.json" | wc -l) license(s) in status --json"
say "PASS"
