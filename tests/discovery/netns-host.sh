#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A private test host for the mDNS tests: its own network, mount, UTS and
# PID namespaces, loopback plus one LAN interface, a private system bus
# and its own avahi-daemon. Nothing of it is visible from the machine's
# own namespaces, and everything in it dies with the command (a PID
# namespace ends with its first process).
#
#   usage: netns-host.sh [--name HOST] [--address CIDR] -- COMMAND [ARGS...]
#
# The command sees DBUS_SYSTEM_BUS_ADDRESS (the host's bus),
# CF_TEST_HOST_ADDRESS (its LAN address) and CF_TEST_AVAHI_COMMAND (how to
# start avahi-daemon again after `avahi-daemon -k`). two-hosts.sh uses the
# --setup-only form inside namespaces it made itself:
#   netns-host.sh --setup-only --name HOST --state DIR
# starts the bus (socket DIR/system_bus_socket) and avahi-daemon on the
# current network namespace, in a mount namespace of their own, and
# returns once avahi-daemon answers.
set -eu

name=cf-test-host
address=
state=
mode=run
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=$2; shift 2 ;;
    --address) address=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --inner) mode=inner; shift ;;
    --setup-only) mode=setup; shift ;;
    --setup-inner) mode=setup-inner; shift ;;
    --) shift; break ;;
    *) echo "netns-host.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# Starts the bus and avahi-daemon; the caller is in its own mount
# namespace already (avahi-daemon's pid file and socket are at fixed
# paths under /run/avahi-daemon, which gets a private tmpfs).
start_services () {
  mkdir -p /run/avahi-daemon
  mount -t tmpfs -o mode=0755 tmpfs /run/avahi-daemon
  cat > "$state/system-bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$state/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_type="*"/>
  </policy>
</busconfig>
CONF
  dbus-daemon --config-file="$state/system-bus.conf" --fork --nopidfile
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$state/system_bus_socket
  export DBUS_SYSTEM_BUS_ADDRESS

  cat > "$state/avahi-daemon.conf" <<CONF
[server]
host-name=$name
use-ipv4=yes
use-ipv6=no
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
CONF
  avahi-daemon -f "$state/avahi-daemon.conf" --no-drop-root --no-chroot --no-rlimits -D
  # For tests that restart the daemon (avahi-daemon -k, then this again).
  CF_TEST_AVAHI_COMMAND="avahi-daemon -f $state/avahi-daemon.conf --no-drop-root --no-chroot --no-rlimits -D"
  export CF_TEST_AVAHI_COMMAND

  i=0
  until gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
          --method org.freedesktop.DBus.NameHasOwner org.freedesktop.Avahi 2>/dev/null |
        grep -q true; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "netns-host.sh: avahi-daemon did not start" >&2; exit 1; }
    sleep 0.1
  done
}

case "$mode" in
  run)
    [ $# -gt 0 ] || { echo "usage: netns-host.sh [--name HOST] [--address CIDR] -- COMMAND" >&2; exit 2; }
    for tool in unshare ip dbus-daemon avahi-daemon gdbus; do
      command -v $tool >/dev/null 2>&1 || { echo "netns-host.sh: $tool is missing" >&2; exit 77; }
    done
    # Network namespaces need root (or user namespaces the machine may
    # forbid): skip rather than fail where they cannot exist.
    unshare --net true 2>/dev/null ||
      { echo "netns-host.sh: cannot make network namespaces here" >&2; exit 77; }
    exec unshare --net --mount --uts --pid --fork --kill-child --mount-proc \
      env CF_NETNS_PRIVATE=1 sh "$0" --inner --name "$name" ${address:+--address "$address"} -- "$@"
    ;;
  setup)
    [ -n "$state" ] || { echo "netns-host.sh: --setup-only needs --state" >&2; exit 2; }
    exec unshare --mount --uts env CF_NETNS_PRIVATE=1 sh "$0" --setup-inner --name "$name" \
      --state "$state"
    ;;
esac

# From here on: inside private namespaces only.
[ "${CF_NETNS_PRIVATE:-}" = 1 ] ||
  { echo "netns-host.sh: refusing to run outside a private namespace" >&2; exit 1; }
mount --make-rprivate /
hostname "$name"

if [ "$mode" = setup-inner ]; then
  start_services
  exit 0
fi

ip link set lo up
if [ -n "$address" ]; then
  # A veth pair whose far end stays here, up and unaddressed: a LAN
  # interface with multicast and nobody else on it (no dummy driver needed).
  ip link add cf0 type veth peer name cf0-peer
  ip addr add "$address" dev cf0
  ip link set cf0-peer up
  ip link set cf0 up
fi
state=$(mktemp -d /tmp/cf-netns-XXXXXX)
start_services
CF_TEST_HOST_ADDRESS=${address%/*}
export CF_TEST_HOST_ADDRESS
status=0
"$@" || status=$?
avahi-daemon -k 2>/dev/null || true
rm -rf "$state"
exit $status
