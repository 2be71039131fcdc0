#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Two private test hosts joined by a veth pair, for the mDNS tests:
#   host a: 10.78.0.1/24 on va      host b: 10.78.0.2/24 on vb
# each with its own system bus and avahi-daemon (netns-host.sh
# --setup-only), all inside one private network, mount and PID namespace
# of this script's own, so that nothing reaches the machine's network and
# everything dies with the command.
#
#   usage: two-hosts.sh -- COMMAND [ARGS...]
#
# The command runs on host b, with DBUS_SYSTEM_BUS_ADDRESS set to b's bus
# and CF_TEST_HOST_ADDRESS=10.78.0.2. CF_TEST_ON_PEER names a script
# that runs its arguments on host a (its network and bus):
# "$CF_TEST_ON_PEER" contextforge-gateway --daemon ... starts a gateway
# there; CF_TEST_PEER_ADDRESS=10.78.0.1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: two-hosts.sh -- COMMAND [ARGS...]" >&2; exit 2; }

if [ "${CF_TWO_HOSTS_INNER:-}" != 1 ]; then
  for tool in unshare ip dbus-daemon avahi-daemon gdbus; do
    command -v $tool >/dev/null 2>&1 || { echo "two-hosts.sh: $tool is missing" >&2; exit 77; }
  done
  unshare --net true 2>/dev/null ||
    { echo "two-hosts.sh: cannot make network namespaces here" >&2; exit 77; }
  exec unshare --net --mount --pid --fork --kill-child --mount-proc \
    env CF_TWO_HOSTS_INNER=1 sh "$0" -- "$@"
fi

mount --make-rprivate /
# ip netns keeps its namespaces under /run/netns: a private tmpfs there.
mkdir -p /run/netns
mount -t tmpfs -o mode=0755 tmpfs /run/netns
state=$(mktemp -d /tmp/cf-two-hosts-XXXXXX)
trap 'rm -rf "$state"' EXIT

ip netns add a
ip netns add b
ip link add va type veth peer name vb
ip link set va netns a
ip link set vb netns b
ip -n a addr add 10.78.0.1/24 dev va
ip -n b addr add 10.78.0.2/24 dev vb
for h in a b; do
  ip -n $h link set lo up
  ip -n $h link set v$h up
  mkdir -p "$state/$h"
  ip netns exec $h sh "$here/netns-host.sh" --setup-only --name host-$h --state "$state/$h"
done

cat > "$state/on-a" <<SCRIPT
#!/bin/sh
exec ip netns exec a env DBUS_SYSTEM_BUS_ADDRESS=unix:path=$state/a/system_bus_socket "\$@"
SCRIPT
chmod +x "$state/on-a"

status=0
ip netns exec b env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$state/b/system_bus_socket" \
  CF_TEST_HOST_ADDRESS=10.78.0.2 CF_TEST_PEER_ADDRESS=10.78.0.1 CF_TEST_ON_PEER="$state/on-a" \
  "$@" || status=$?
exit $status
