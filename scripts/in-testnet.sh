#!/usr/bin/env bash
# Run a command inside a private network namespace that has only loopback and one
# veth pair (198.18.0.1, a benchmarking range), so WebRTC traffic of the tests
# (Chromium and aiortc ignore 127.0.0.1 for ICE) never leaves this machine's
# test network. Without root (or without `ip`), runs the command directly.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1; then
  echo "in-testnet: not root; running without a private network namespace" >&2
  exec "$@"
fi
ns="peercall-test-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add pc0 type veth peer name pc1
ip -n "$ns" addr add 198.18.0.1/24 dev pc0
ip -n "$ns" link set pc0 up
ip -n "$ns" link set pc1 up
export PEERCALL_TEST_NETNS="$ns"
set +e
ip netns exec "$ns" "$@"
status=$?
exit $status
