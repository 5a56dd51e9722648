# The benchmark's namespace topology, created and removed by scripts/bench.sh and
# scripts/packet-rate-demo.sh (sourced, not run).
#
#   client ns xbn-cli: eth0 10.231.1.2 ──veth── host ns xbn-host: uplink xbn-up 10.231.1.1 (VIP)
#     (wrk, packet generator)                    bridge xbn-br 10.231.0.1/24
#                                                 ports xbn-bKh ──veth── eth0 @ xbn-bK 10.231.0.1K
#                                                 port  xbn-pxh ──veth── eth0 @ xbn-px 10.231.0.100
#                                                       (the tutorial's nginx proxy)
#
# Everything carries the prefix xbn; every background process is recorded by PID and
# bt_cleanup (an EXIT trap installed by bt_init) removes it all, also on failure.

BT_PIDS=()
BT_NETNS=()
BT_PREFIX=xbn
BT_NET=231
HOST_NS=$BT_PREFIX-host
CLI_NS=$BT_PREFIX-cli
PROXY_NS=$BT_PREFIX-px
UPLINK=$BT_PREFIX-up
BRIDGE=$BT_PREFIX-br
VIP=10.$BT_NET.1.1
CLIENT_IP=10.$BT_NET.1.2
BRIDGE_IP=10.$BT_NET.0.1
PROXY_IP=10.$BT_NET.0.100
BT_BACKENDS=0

backend_ns() { echo "$BT_PREFIX-b$1"; }
backend_ip() { echo "10.$BT_NET.0.1$1"; }

# bt_init TMPDIR: where configs, logs and the xdplb state go. Installs the cleanup trap.
bt_init() {
  BT_TMP=$1
  mkdir -p "$BT_TMP"
  export XDPLB_PIN_ROOT=/sys/fs/bpf/xdplb-bench-$$
  export XDPLB_STATE_DIR=$BT_TMP/state
  trap bt_cleanup EXIT
  trap 'exit 130' INT TERM
}

bt_cleanup() {
  local rc=$? pid ns
  set +e
  for pid in "${BT_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${BT_PIDS[@]}"; do
    # Bounded: a process that ignores SIGTERM gets SIGKILL after 3 s.
    timeout 3 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "${XDPLB_PIN_ROOT:-}" ] && rm -rf "$XDPLB_PIN_ROOT"
  for ns in "${BT_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${BT_CLEANUP_HOOK:-}" ] && $BT_CLEANUP_HOOK
  exit $rc
}

log() { echo "[$(date +%T)] $*" >&2; }
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }
# Background command in a namespace, pinned to CPU $1, recorded for cleanup; sets BT_LAST_PID.
spawn_in() {
  local cpu=$1 ns=$2; shift 2
  nsenter --net=/run/netns/"$ns" taskset -c "$cpu" "$@" &
  BT_LAST_PID=$!
  BT_PIDS+=("$BT_LAST_PID")
}
stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null
  timeout 3 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

netns_add() {
  ip netns del "$1" 2>/dev/null || true  # leftover of a killed run
  ip netns add "$1"
  BT_NETNS+=("$1")
  ip -n "$1" link set lo up
}

link_mac() { ip -n "$1" -j link show "$2" | jq -r ".[0].address"; }  # not /sys: nsenter keeps the host's /sys

# bt_topology NBACKENDS
bt_topology() {
  local n=$1 k ns
  BT_BACKENDS=$n
  netns_add "$HOST_NS"
  netns_add "$CLI_NS"
  in_ns "$HOST_NS" sysctl -qw net.ipv4.ip_forward=1
  # Like stock Debian: bridged traffic does not go through iptables (DESIGN.md).
  in_ns "$HOST_NS" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
  in_ns "$HOST_NS" sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true

  ip link add "$UPLINK" netns "$HOST_NS" type veth peer name eth0 netns "$CLI_NS"
  ip -n "$HOST_NS" addr add "$VIP/24" dev "$UPLINK"
  ip -n "$HOST_NS" link set "$UPLINK" up
  # NAPI on the uplink, so the generator's XDP_TX frames are received without an XDP program
  # there (nft / routing scenarios).
  in_ns "$HOST_NS" ethtool -K "$UPLINK" gro on >/dev/null
  ip -n "$CLI_NS" addr add "$CLIENT_IP/24" dev eth0
  ip -n "$CLI_NS" link set eth0 up
  ip -n "$CLI_NS" route add default via "$VIP"
  # Full checksums from the client, like wire traffic (DESIGN.md).
  in_ns "$CLI_NS" ethtool -K eth0 tx off >/dev/null
  # Direct and load-balanced connections reuse source ports: avoid TIME_WAIT stalls.
  in_ns "$CLI_NS" sysctl -qw net.ipv4.tcp_timestamps=2
  in_ns "$CLI_NS" sysctl -qw net.ipv4.ip_local_port_range="10000 60999"

  ip -n "$HOST_NS" link add "$BRIDGE" type bridge
  ip -n "$HOST_NS" addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip -n "$HOST_NS" link set "$BRIDGE" up
  for k in $(seq 1 "$n") px; do
    local port
    if [ "$k" = px ]; then ns=$PROXY_NS; port=$BT_PREFIX-pxh
    else ns=$(backend_ns "$k"); port=$BT_PREFIX-b${k}h; fi
    netns_add "$ns"
    ip link add "$port" netns "$HOST_NS" type veth peer name eth0 netns "$ns"
    ip -n "$HOST_NS" link set "$port" master "$BRIDGE" up
    if [ "$k" = px ]; then ip -n "$ns" addr add "$PROXY_IP/24" dev eth0
    else ip -n "$ns" addr add "$(backend_ip "$k")/24" dev eth0; fi
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$BRIDGE_IP"
    # NAPI on the container side: the fast path's redirect needs it (DESIGN.md).
    in_ns "$ns" ethtool -K eth0 gro on >/dev/null
  done
  # Static neighbours and bridge FDB entries: at millions of packets/s nothing should wait on
  # ARP, and a bridge that has not learnt a backend's MAC (a sink never sends) floods every
  # frame to all ports.
  local mac
  for k in $(seq 1 "$n"); do
    mac=$(link_mac "$(backend_ns "$k")" eth0)
    ip -n "$HOST_NS" neigh replace "$(backend_ip "$k")" lladdr "$mac" dev "$BRIDGE" nud permanent
    in_ns "$HOST_NS" bridge fdb replace "$mac" dev "$BT_PREFIX-b${k}h" master static
  done
  ip -n "$HOST_NS" neigh replace "$CLIENT_IP" lladdr "$(link_mac "$CLI_NS" eth0)" dev "$UPLINK" nud permanent
}

# Packet-rate sink on every backend: a tc program drops IPv4 at ingress of eth0 (ARP passes);
# the veth's rx_packets counts what arrived, by either path (frames received in NAPI and skbs
# handed over by the peer's xmit). BT_SINK_OBJ: bench_sink.bpf.o of the build.
bt_sinks_on() {
  local k
  for k in $(seq 1 "$BT_BACKENDS"); do
    in_ns "$(backend_ns "$k")" tc qdisc replace dev eth0 clsact
    in_ns "$(backend_ns "$k")" tc filter replace dev eth0 ingress pref 1 bpf da obj "$BT_SINK_OBJ" sec tc
  done
}
bt_sinks_off() {
  local k
  for k in $(seq 1 "$BT_BACKENDS"); do in_ns "$(backend_ns "$k")" tc qdisc del dev eth0 clsact 2>/dev/null; done
  return 0
}
# rx_packets of an interface in a namespace.
rx_packets() { ip -n "$1" -j -s link show "$2" | jq '.[0].stats64.rx.packets'; }
# Packets that reached the backends so far, all together.
bt_sink_count() {
  local k total=0
  for k in $(seq 1 "$BT_BACKENDS"); do total=$((total + $(rx_packets "$(backend_ns "$k")" eth0))); done
  echo "$total"
}
