#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The client under test of the conformance suite's client mode:
#   conformance client --command "sh conformance-client.sh GATEWAY" --scenario NAME
# The suite appends the mock server's URL and names the scenario in
# MCP_CONFORMANCE_SCENARIO; this maps it to `contextforge-gateway probe`
# options. Only the scenarios probe takes part in are known.

set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 GATEWAY URL" >&2
  exit 2
fi
gateway=$1
url=$2

case "${MCP_CONFORMANCE_SCENARIO:-}" in
  initialize)
    exec "$gateway" probe "$url" ;;
  tools_call)
    exec "$gateway" probe --call add_numbers --args '{"a":2,"b":3}' "$url" ;;
  sse-retry)
    exec "$gateway" probe --call test_reconnection "$url" ;;
  *)
    echo "$0: no probe options for scenario '${MCP_CONFORMANCE_SCENARIO:-}'" >&2
    exit 2 ;;
esac
