#!/usr/bin/env bash
# The demo: the LXD tutorial's "load-balanced container cluster", with xdplb in place of the
# nginx load-balancer container and the iptables DNAT rule.
#
#   sudo bash scripts/demo.sh            # set up (idempotent) and show it working
#   sudo bash scripts/demo.sh --cleanup  # remove everything the demo created, nothing else
#
# It installs the dependencies, builds and installs xdplb, brings up LXD if it is not running
# (an LXD that is already there is reused; its other instances are not touched), builds a tiny
# offline web image, launches web1..web3 ("Served from the webN container!"), and makes a
# client network namespace joined to the host by a veth that plays "another machine" (the
# demo never attaches to eth0). Then it shows requests to host:8000 from that client, a
# container stopped and started again (the daemon's health checks and container polls take it
# out and bring it back: no xdplb command), a fourth container added, and `xdplb status`.
#
# Environment: XDPLB_DEMO_SKIP_BUILD=1 skips dependency install and build (xdplb already on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

# The client side of the tests' topology (tests/e2e/lib/topo.py through tests/e2e/topology.py:
# the same code and conventions): namespace xdplb-demo-cli on a veth whose host side
# xdplb-demo-up (10.150.1.1, fd42:150:1::1) is in the root namespace; the client is ::2/.2.
topology() {
  /usr/bin/python3 -B "$REPO/tests/e2e/topology.py" "$1" --prefix xdplb-demo --net 150 --ipv6 \
    --root-host --no-bridge
}
# CLI_NS UPLINK VIP CLIENT_IP BRIDGE_IP VIP6 CLIENT_IP6 BRIDGE_IP6 (and names unused here)
eval "$(topology names)"
CLIENT_NS=$CLI_NS
BRIDGE=lxdbr0                # LXD's bridge, with the topology's bridge addresses
BRIDGE_CIDR4=$BRIDGE_IP/24
BRIDGE_CIDR6=$BRIDGE_IP6/64
UPLINK_IP=$VIP
UPLINK_IP6=$VIP6
IMAGE=xdplb-demo-web
DEMO_DIR=/var/lib/xdplb-demo # what the demo created (LXD objects, our own records)
export LXD_STATE_FILE=$DEMO_DIR/lxd-created

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
client() { nsenter --net=/run/netns/$CLIENT_NS "$@"; }

if [ "$(id -u)" -ne 0 ]; then echo "demo.sh: run as root" >&2; exit 1; fi

STATE_DIR=${XDPLB_STATE_DIR:-/var/lib/xdplb}
daemon_pid() { # the pid of the running daemon of $BRIDGE, if any
  local pid
  pid=$(cat "$STATE_DIR/$BRIDGE.daemon.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cleanup() {
  step "removing what the demo created"
  if pid=$(daemon_pid); then
    kill "$pid" && echo "stopped the xdplb daemon (pid $pid)"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$STATE_DIR/$BRIDGE.daemon.log"
  if command -v xdplb >/dev/null && [ -e /sys/fs/bpf/xdplb/$BRIDGE ]; then
    xdplb detach $BRIDGE --forget || true
  fi
  topology down && echo "deleted namespace $CLIENT_NS and $UPLINK"
  if [ -f "$LXD_STATE_FILE" ]; then
    # shellcheck source=lib/lxd.sh
    source scripts/lib/lxd.sh
    lxd_cleanup
  fi
  rm -rf "$DEMO_DIR"
  echo "done"
}

if [ "${1:-}" = "--cleanup" ]; then cleanup; exit 0; fi
if [ -n "${1:-}" ]; then echo "usage: demo.sh [--cleanup]" >&2; exit 2; fi

if [ "${XDPLB_DEMO_SKIP_BUILD:-}" != 1 ]; then
  step "installing dependencies (Debian packages) and building xdplb"
  bash scripts/install-deps.sh >/tmp/xdplb-demo-deps.log 2>&1 || { tail -20 /tmp/xdplb-demo-deps.log; exit 1; }
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target xdplb >/dev/null
  cmake --install build >/dev/null
  echo "installed $(command -v xdplb)"
fi
mkdir -p "$DEMO_DIR"

# shellcheck source=lib/image.sh
source scripts/lib/image.sh

step "LXD: daemon, network $BRIDGE, image, containers web1..web3"
lxd_ensure_running
lxd_ensure_network $BRIDGE $BRIDGE_CIDR4 $BRIDGE_CIDR6
if ! lxc image info $IMAGE >/dev/null 2>&1; then
  xdplb_lxd_image_build "$DEMO_DIR/web.tar.gz"
  xdplb_lxd_image_import "$DEMO_DIR/web.tar.gz" $IMAGE
  echo "built and imported image $IMAGE (busybox, offline)"
fi
launch() { # launch NAME: ours from an earlier run is reused; someone else's is refused
  local name=$1
  if lxc info "$name" >/dev/null 2>&1; then
    if ! grep -qx "instance $name" "$LXD_STATE_FILE" 2>/dev/null; then
      echo "demo.sh: LXD already has an instance '$name' that the demo did not create; not touching it" >&2
      exit 1
    fi
    lxc start "$name" 2>/dev/null || true
  else
    echo "$ lxc launch $IMAGE $name"
    lxd_launch $IMAGE "$name"
  fi
  lxd_wait_ipv4 "$name" 30 >/dev/null
}
for n in web1 web2 web3; do launch $n; done
lxc list -c ns4 web

step "a client namespace '$CLIENT_NS' that plays another machine, on uplink $UPLINK"
# Dual stack, like lxdbr0; full checksums from the client like a real NIC (a veth sender hands
# over partial ones). An earlier run's namespace is reused.
if ! ip netns list | grep -qw $CLIENT_NS; then topology up >/dev/null; fi

step "xdplb in place of the LB container and the iptables rule"
if [ ! -e /sys/fs/bpf/xdplb/$BRIDGE ]; then run xdplb attach $BRIDGE --uplink $UPLINK; fi
for n in web1 web2 web3; do
  xdplb backend list --json | jq -e --arg n $n 'any(.name == $n)' >/dev/null || run xdplb backend add $n
done

step "the daemon: health checks (TCP every 0.5 s, out after 2 failures) and container polls"
run xdplb health --type tcp --interval 0.5 --timeout 0.5 --rise 2 --fall 2
if pid=$(daemon_pid); then echo "xdplb daemon already runs (pid $pid)"; else run xdplb daemon; fi

requests() { # requests N [URL]: N requests from the client, each on a new connection, timed
  local i out url=${2:-http://$UPLINK_IP:8000/}
  for i in $(seq 1 "$1"); do
    out=$(client curl -s -g --max-time 3 -w ' (%{time_total} s)' "$url") || out="FAILED${out:+ $out}"
    printf '  %2d: %s\n' "$i" "$(printf '%s' "$out" | tr -d '\n')"
  done
}
wait_in_ring() { # wait_in_ring NAME: until the daemon has put it back in the ring (at most 30 s)
  local i
  for i in $(seq 1 60); do
    xdplb backend list --json | jq -e --arg n "$1" 'any(.[]; .name == $n and .in_ring)' >/dev/null && \
      { echo "  $1 is back in the ring after $(( (i - 1) / 2 )) s (the daemon found it and probed it; no xdplb command)"; return 0; }
    sleep 0.5
  done
  echo "  $1 is not back in the ring after 30 s" >&2; return 1
}

step "1. six requests from the client to $UPLINK_IP:8000 (Maglev spreads flows by their hash)"
requests 6

step "1b. the same over IPv6, to [$UPLINK_IP6]:8000 (the containers' IPv6 addresses, their own pool)"
requests 4 "http://[$UPLINK_IP6]:8000/"

step "1c. from the host itself — the tutorial's iptables rule cannot do this (socket hooks)"
for url in http://127.0.0.1:8000/ "http://[::1]:8000/" http://$UPLINK_IP:8000/; do
  printf '$ curl %s\n  %s\n' "$url" "$(curl -s -g --max-time 3 "$url" || echo FAILED)"
done

step "1d. from a container on the bridge, to the bridge address (hairpin: DNAT + SNAT in TC)"
# (busybox nc: the static busybox's wget crashes in these containers, with or without xdplb.)
for i in 1 2 3; do
  printf '$ lxc exec web2 -- sh -c "printf \x27GET / HTTP/1.0\\r\\n\\r\\n\x27 | nc %s 8000"\n  %s\n' "${BRIDGE_CIDR4%/*}" \
    "$(lxc exec web2 -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc ${BRIDGE_CIDR4%/*} 8000" 2>/dev/null | tail -n 1 || echo FAILED)"
done

step "2. lxc stop web1: the very next requests are served by web2/web3, each as fast as before"
run lxc stop web1
requests 6
step "2b. lxc start web1: the daemon finds it, probes it and puts it back by itself"
run lxc start web1
wait_in_ring web1
requests 6

step "3. a fourth container, web4, added by name"
launch web4
xdplb backend list --json | jq -e 'any(.name == "web4")' >/dev/null || run xdplb backend add web4
requests 12

step "4. xdplb status"
run xdplb status

step "done: try \`nsenter --net=/run/netns/$CLIENT_NS curl http://$UPLINK_IP:8000/\`; remove it all with \`bash scripts/demo.sh --cleanup\`"
