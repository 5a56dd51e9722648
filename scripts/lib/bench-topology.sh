# The benchmark's namespace topology, created and removed by scripts/bench.sh and
# scripts/packet-rate-demo.sh (sourced, not run). It is the end-to-end tests' topology
# (tests/e2e/lib/topo.py, through its command line tests/e2e/topology.py): same code, same
# names and addresses, plus a proxy namespace and NAPI on every veth.
#
#   client ns xbn-cli: eth0 10.231.1.2 ──veth── host ns xbn-host: uplink xbn-up 10.231.1.1 (VIP)
#   every veth with 2 RX + 2 TX queues on both ends; RPS off on the uplink
#     (wrk, packet generator)                    bridge xbn-br 10.231.0.1/24
#                                                 ports xbn-bKh ──veth── eth0 @ xbn-bK 10.231.0.1K
#                                                 port  xbn-proxyh ──veth── eth0 @ xbn-proxy 10.231.0.100
#                                                       (the tutorial's nginx proxy)
#
# Everything carries the prefix xbn; every background process is recorded by PID and
# bt_cleanup (an EXIT trap installed by bt_init) removes it all, also on failure.

BT_PIDS=()
BT_PREFIX=${BT_PREFIX:-xbn}  # overridable, so two runs need not collide
BT_NET=${BT_NET:-231}  # overridable too
BT_BACKENDS=0
# topology.py ARGS...: the shared topology's command line, with this topology's options.
bt_topology_cli() {
  /usr/bin/python3 -B "$(dirname "${BASH_SOURCE[0]}")/../../tests/e2e/topology.py" "$@" \
    --prefix "$BT_PREFIX" --net "$BT_NET" --backends "$BT_BACKENDS" --extra proxy:100 --napi \
    --queues 2
}
# HOST_NS CLI_NS UPLINK BRIDGE VIP CLIENT_IP BRIDGE_IP PROXY_NS PROXY_IP BACKEND_NS BACKEND_IP
eval "$(bt_topology_cli names)"

backend_ns() { echo "${BACKEND_NS[$1 - 1]}"; }
backend_ip() { echo "${BACKEND_IP[$1 - 1]}"; }

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
  local rc=$? pid
  set +e
  for pid in "${BT_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${BT_PIDS[@]}"; do
    # Bounded: a process that ignores SIGTERM gets SIGKILL after 3 s.
    timeout 3 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "${XDPLB_PIN_ROOT:-}" ] && rm -rf "$XDPLB_PIN_ROOT"
  bt_topology_cli down
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

link_mac() { ip -n "$1" -j link show "$2" | jq -r ".[0].address"; }  # not /sys: nsenter keeps the host's /sys

# bt_topology NBACKENDS
bt_topology() {
  local k
  BT_BACKENDS=$1
  bt_topology_cli down  # leftover of a killed run
  eval "$(bt_topology_cli up)"
  in_ns "$HOST_NS" sysctl -qw net.ipv4.ip_forward=1
  # Two RX queues on the uplink, RPS off: a veth puts a frame sent on CPU c into RX queue
  # c % queues and runs that queue's NAPI on c, so one generator CPU uses one queue (the
  # one-queue rows) and a generator on each CPU uses both (the two-queue row).
  local q
  for q in 0 1; do
    ip netns exec "$HOST_NS" sh -c "echo 0 >/sys/class/net/$UPLINK/queues/rx-$q/rps_cpus"
  done
  # Direct and load-balanced connections reuse source ports: avoid TIME_WAIT stalls.
  in_ns "$CLI_NS" sysctl -qw net.ipv4.ip_local_port_range="10000 60999"
  # Static neighbours and bridge FDB entries: at millions of packets/s nothing should wait on
  # ARP, and a bridge that has not learnt a backend's MAC (a sink never sends) floods every
  # frame to all ports.
  local mac
  for k in $(seq 1 "$BT_BACKENDS"); do
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
