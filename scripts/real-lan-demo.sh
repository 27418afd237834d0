#!/usr/bin/env bash
# The "real LAN" demo (docs/deploy.md): the gateway and emulated SPORE nodes on a LAN of network
# namespaces — veth pairs into a Linux bridge, addresses from 198.18.0.0/15 (reserved for
# benchmarking, never a real network) — so discovery runs on real broadcasts over real links.
#   sudo scripts/real-lan-demo.sh [nodes-per-host=3] [hosts=3]     (after `npm run build`)
# The UI: http://127.0.0.1:3001/ on this machine (relayed into the gateway's namespace).
# Try: sudo ip -n spore-lan-sw link set p1 down   (unplug the gateway for a while), then up.
# Ctrl-C removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
per_host=${1:-3}
hosts=${2:-3}
p=spore-lan
net=198.18.42
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep "^$p-" || true); do ip netns del "$ns"; done
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
[ -f dist/src/cli/gateway-main.js ] || { echo "run npm run build first" >&2; exit 2; }

ip netns add $p-sw
ip -n $p-sw link add br0 type bridge && ip -n $p-sw link set br0 up
host() { # name index address...
  local ns=$p-$1 i=$2; shift 2
  ip netns add "$ns"
  ip -n $p-sw link add "p$i" type veth peer name eth0 netns "$ns"
  ip -n $p-sw link set "p$i" master br0 up
  ip -n "$ns" link set lo up
  for a in "$@"; do ip -n "$ns" addr add "$a/24" broadcast $net.255 dev eth0; done
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default dev eth0
}
host gw 1 $net.1
ip netns exec $p-gw node dist/src/cli/gateway-main.js -node-port 8080 -data-dir "$dir/data" -gateway-id lan-demo &
pids+=($!)
for h in $(seq 1 "$hosts"); do
  addrs=(); for n in $(seq 1 "$per_host"); do addrs+=("$net.$((h * 20 + n))"); done
  host "node$h" $((h + 1)) "${addrs[@]}"
  ip netns exec $p-node$h node dist/emulator/cli/sim-main.js -lan -count "$per_host" -base-ip "${addrs[0]}" \
    -name-prefix "host$h-node-" -gateway $net.255 -http-port 8080 -quiet </dev/null &
  pids+=($!)
done
command -v socat >/dev/null || { echo "install socat to reach the UI from this machine" >&2; wait; }
ip netns exec $p-gw socat UNIX-LISTEN:"$dir/ui.sock",fork TCP:127.0.0.1:3001 &
pids+=($!)
socat TCP-LISTEN:3001,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$dir/ui.sock" &
pids+=($!)
echo "gateway $net.1 (namespace $p-gw), $((hosts * per_host)) nodes on $hosts hosts; UI: http://127.0.0.1:3001/ — Ctrl-C to stop"
wait
