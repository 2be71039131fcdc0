#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The sandboxed run of build-test.sh, inside its Xvfb display and private
# D-Bus session: starts the daemon by D-Bus activation and asks it for its
# status, then runs the app and waits for its window. Every wait is
# bounded; every process started here is stopped by its own id.
set -euo pipefail

app_id=$CF_TEST_APP_ID
work=$CF_TEST_WORK

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $*" >&2; exit 1; }

app_pid=
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$app_pid" 2>/dev/null || true
  fi
  # The activated daemon runs in its own sandbox instance; dbus-run-session
  # ends it with the bus, flatpak kill makes sure.
  flatpak kill "$app_id" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- The daemon, activated over D-Bus -----------------------------------
status=
deadline=$((SECONDS + CF_TEST_DBUS_WAIT))
while [ $SECONDS -lt $deadline ]; do
  # Each call may itself wait for the activation (gdbus' own timeout).
  if status=$(gdbus call --session --timeout 20 --dest "$app_id" \
                --object-path /org/contextforge/Gateway \
                --method org.contextforge.Gateway.GetStatus 2>"$work/gdbus.err"); then
    break
  fi
  status=
  sleep 1
done
[ -n "$status" ] || die "no GetStatus answer from the activated daemon: $(cat "$work/gdbus.err")"
log "daemon GetStatus: $status"
grep -q "'listen-url': <'http://127.0.0.1:[1-9][0-9]*" <<<"$status" ||
  die "the daemon reports no loopback listen-url"
# The name's owner must be the daemon inside the sandbox: the bus only sees
# Flatpak's D-Bus proxy, so ask Flatpak which instances of the app run.
flatpak ps --columns=instance,child-pid,application >"$work/flatpak-ps.txt"
daemon_pid=
while read -r _ pid app; do
  [ "$app" = "$app_id" ] || continue
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'contextforge-gateway.*--daemon'; then
    daemon_pid=$pid
  fi
done <"$work/flatpak-ps.txt"
[ -n "$daemon_pid" ] || die "no sandboxed instance runs the daemon: $(cat "$work/flatpak-ps.txt")"
[ -e "/proc/$daemon_pid/root/.flatpak-info" ] ||
  die "the daemon (pid $daemon_pid) does not see the sandbox's /.flatpak-info"
log "daemon runs in the sandbox, pid $daemon_pid: $(tr '\0' ' ' <"/proc/$daemon_pid/cmdline")"

# --- The app's window -----------------------------------------------------
flatpak run "$app_id" >"$work/app.log" 2>&1 &
app_pid=$!
window=
deadline=$((SECONDS + CF_TEST_WINDOW_WAIT))
while [ $SECONDS -lt $deadline ]; do
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; die "the app exited"; }
  window=$(xdotool search --onlyvisible --name "$CF_TEST_WINDOW_TITLE" 2>/dev/null | head -n 1) || true
  [ -n "$window" ] && break
  sleep 1
done
[ -n "$window" ] || { cat "$work/app.log" >&2; die "no window titled '$CF_TEST_WINDOW_TITLE' within ${CF_TEST_WINDOW_WAIT}s"; }
log "window $window: $(xdotool getwindowname "$window")"
# Let the first frame be drawn before the screenshot.
sleep 2
import -window root "$work/screenshot.png"
[ -s "$work/screenshot.png" ] || die "no screenshot"
log "screenshot: $work/screenshot.png"
