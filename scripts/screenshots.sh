#!/usr/bin/env bash
# screenshots.sh [BINARY] — retakes docs/*.png from the real app in demo mode
# under a private Xvfb: healthy status, Demo panel, inventory, queue with a
# refused receipt open, audit, reports, settings, then an outage (status red
# with the hover detail) and the response times with it shaded.
# Needs what `make test` installs (Xvfb, dbus-daemon, xdotool, ImageMagick)
# and Go (for scripts/shotseed). Takes about five minutes.
set -euo pipefail

bin=${1:-./tracesync}
out=${SHOTS_OUT:-docs}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracesync-shots.XXXXXX")
data="$tmp/data"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf 'shots: %s\n' "$*"; }

export LANG=en_US.UTF-8
go run -tags migrated_fynedo ./scripts/shotseed "$data/demo"

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -s "$tmp/display" ]] && break; sleep 0.1; done
export DISPLAY=":$(tr -d '[:space:]' <"$tmp/display")"
dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$tmp/dbus" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -s "$tmp/dbus" ]] && break; sleep 0.1; done
export DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/dbus")
mkdir -p "$tmp/home"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config"

"$bin" --demo --data "$data" >"$tmp/app.log" 2>&1 &
pids+=($!)
wid=''
for _ in $(seq 120); do
	wid=$(xdotool search --onlyvisible --name '^tracesync$' 2>/dev/null | head -n1 || true)
	[[ -n "$wid" ]] && break
	sleep 0.5
done
[[ -n "$wid" ]] || { cat "$tmp/app.log"; exit 1; }
xdotool windowsize "$wid" 1200 760
sleep 1

status() { "$bin" status --json --demo --data "$data" 2>/dev/null || true; }
waitfor() { # waitfor SECONDS GREP-PATTERN [N]: until N lines of status --json match
	for _ in $(seq "$1"); do
		(($(status | grep -c "$2" || true) >= ${3:-1})) && return 0
		sleep 1
	done
	say "timed out waiting for $2 (the window as it was: $tmp/timeout.png; the log: $tmp/app.log)"
	import -window "$wid" "$tmp/timeout.png" || true
	cp "$tmp/timeout.png" "$tmp/app.log" "${TMPDIR:-/tmp}/" 2>/dev/null || true
	return 1
}
click() { xdotool mousemove --window "$wid" "$1" "$2" click 1; sleep "${3:-1.5}"; }
section() { click 60 $((60 + 39 * $1)) 2; } # sidebar rows, with the demo banner above
shot() { import -window "$wid" "$out/$1.png"; say "$out/$1.png"; }

waitfor 120 '"color": "green"' 2
sleep 3
shot status

# A receipt Metrc refuses: 500 of a package holding 22 (the demo world's
# first package), imported through the running app.
printf 'LicenseNumber,ExternalReceiptNumber,SalesDateTime,SalesCustomerType,PackageLabel,Quantity,UnitOfMeasure,TotalAmount\n' >"$tmp/refused.csv"
printf 'CML-000001,R-SHOT-0001,%s,Consumer,1A4FF0100000022000000001,500,Each,9000\n' "$(date +%Y-%m-%d)" >>"$tmp/refused.csv"
"$bin" import receipts "$tmp/refused.csv" --demo --data "$data" || true
waitfor 60 '"needsAttention": 1'

section 8 && shot demo
section 2 && shot inventory
section 1
click 600 100 0.5
xdotool type --delay 20 'R-SHOT-0001'
sleep 2
click 600 215 2
shot queue
section 3
click 258 139 6 # Check now: pull, then compare (the refused receipt is an audit item)
click 450 178 2 # the first item: both sides and what can be done
shot audit
section 4 && shot reports
section 7 && shot settings

# An outage: Metrc down until the licenses are red (a minute, see shotseed).
section 8
click 228 99 1
waitfor 150 '"color": "red"' 2
section 0
xdotool mousemove --window "$wid" 330 150
sleep 2
shot status-outage
section 8
click 228 99 1
waitfor 120 '"color": "\(green\|orange\)"'
sleep 40
section 5
sleep 3
shot response-times

kill -TERM "${pids[2]}"
say done
