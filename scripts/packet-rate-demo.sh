#!/usr/bin/env bash
# Packet-rate demo: builds the benchmark's namespace topology (scripts/lib/bench-topology.sh),
# attaches xdplb with two backends, floods the uplink with 64-byte UDP packets from the
# live-frames generator (a new range of source ports every 2 s, so new flows keep coming) and
# shows `xdplb top` live for a bounded time; then removes everything it created.
#   sudo bash scripts/packet-rate-demo.sh [--seconds 20] [--build DIR] [--no-fast-path]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TOTAL=20
BUILD=${BUILD_DIR:-$REPO/build}
ADD_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_TOTAL=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-fast-path) ADD_ARGS+=(--no-fast-path) ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "packet-rate-demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then echo "packet-rate-demo.sh: run as root" >&2; exit 1; fi
if ! [[ $SECONDS_TOTAL =~ ^[0-9]+$ ]] || [ "$SECONDS_TOTAL" -lt 3 ] || [ "$SECONDS_TOTAL" -gt 3600 ]; then
  echo "packet-rate-demo.sh: --seconds must be 3..3600" >&2; exit 2
fi
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target xdplb xdplb_bench_pktgen -j"$(nproc)" >/dev/null
XDPLB=$BUILD/controller/cli/xdplb
PKTGEN=$BUILD/bench/xdplb_bench_pktgen

source "$REPO/scripts/lib/bench-topology.sh"
bt_init "$(mktemp -d /tmp/xbn-demo.XXXXXX)"
BT_CLEANUP_HOOK="rm -rf $BT_TMP"
xdplb() { nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" "$@"; }

log "topology: client ns $CLI_NS -> uplink $UPLINK ($VIP) -> bridge $BRIDGE -> 2 backends"
bt_topology 2
# Backends drop the flood at tc ingress after counting it (they do not answer).
BT_SINK_OBJ=$BUILD/bench/bench_sink.bpf.o
bt_sinks_on
xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 8000 --backend-port 80 >/dev/null
for k in 1 2; do xdplb backend add "$(backend_ip "$k")" "${ADD_ARGS[@]}"; done

UPLINK_MAC=$(link_mac "$HOST_NS" "$UPLINK")
log "generator: 64-byte UDP to $VIP:8000, 5000 flows per 2 s, for $SECONDS_TOTAL s (Ctrl-C ends early)"
(
  child=""
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM
  end=$((SECONDS + SECONDS_TOTAL)) sport=10000
  while [ "$SECONDS" -lt "$end" ]; do
    in_ns "$CLI_NS" taskset -c 0 "$PKTGEN" --dev eth0 --dst-mac "$UPLINK_MAC" --src "$CLIENT_IP" \
      --dst "$VIP" --dport 8000 --sport "$sport" --flows 5000 --seconds 2 >/dev/null &
    child=$!
    wait "$child" || break
    sport=$(( sport >= 55000 ? 10000 : sport + 5000 ))
  done
) &
BT_PIDS+=($!)
sleep 0.5
# Live view (or, when stdout is not a terminal, one snapshot per second).
timeout --foreground "$SECONDS_TOTAL" "$XDPLB" top --count "$((SECONDS_TOTAL - 1))" || true
log "done; removing the topology"
