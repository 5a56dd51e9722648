# Shared helpers for the end-to-end tests: a test topology of network namespaces that the test
# creates and removes itself.
#
#   client ns ($P-cli) ──veth── host ns ($P-host): uplink $P-up (10.$N.1.1/24)
#                                                   bridge $P-br (10.$N.0.1/24)
#                                 ports $P-bKh ──veth── eth0 @ backend ns $P-bK (10.$N.0.1K/24)
#
# Every object carries the test's prefix $P, every process started is recorded by PID, and
# e2e_cleanup (installed as an EXIT trap by e2e_init) removes all of it, also on failure.
# The xdplb CLI runs in the host namespace through nsenter (ip netns exec hides /sys/fs/bpf),
# with its own pin root and state dir so parallel tests never collide.

set -euo pipefail

E2E_PIDS=()
E2E_NETNS=()
E2E_LINKS=()   # links in the root namespace (the namespaces take theirs with them)
E2E_FAILURES=0
E2E_CHECKS=0

# e2e_init PREFIX NET: PREFIX names everything (<= 6 chars); NET is the second octet (10.NET.x.y).
e2e_init() {
  P=$1
  N=$2
  XDPLB=${XDPLB:?set XDPLB to the xdplb binary}
  E2E_TMP=$(mktemp -d /tmp/xdplb-e2e-$P.XXXXXX)
  export XDPLB_PIN_ROOT=/sys/fs/bpf/xdplb-test-$P-$$
  export XDPLB_STATE_DIR=$E2E_TMP/state
  HOST_NS=$P-host
  CLI_NS=$P-cli
  UPLINK=$P-up
  BRIDGE=$P-br
  VIP=10.$N.1.1
  CLIENT_IP=10.$N.1.2
  BRIDGE_IP=10.$N.0.1
  # Namespaces of this test's prefix left by a run that was killed (our names only).
  local ns
  for ns in $(ip netns list | awk '{print $1}'); do
    case $ns in "$P"-*) ip netns del "$ns" ;; esac
  done
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
}

e2e_cleanup() {
  local rc=$?
  set +e
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  # Links attached inside the host namespace go away with it; the pins may still hold them.
  [ -n "${XDPLB_PIN_ROOT:-}" ] && rm -rf "$XDPLB_PIN_ROOT"
  for ns in "${E2E_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  for link in "${E2E_LINKS[@]}"; do ip link del "$link" 2>/dev/null; done
  # Hooks of a test (e.g. LXD cleanup) run last.
  declare -F e2e_extra_cleanup >/dev/null && e2e_extra_cleanup
  [ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
  exit $rc
}

# e2e_cleanup_detaching: the EXIT trap of tests whose attach puts cgroup hooks on the machine's
# cgroup root: whatever happens, detach first (unpinning the links takes the hooks off), then
# the usual cleanup removes the rest.
e2e_cleanup_detaching() {
  local rc=$?
  set +e
  if [ -d "$XDPLB_PIN_ROOT/$BRIDGE" ]; then xdplb detach "$BRIDGE" >/dev/null 2>&1; fi
  (exit $rc)
  e2e_cleanup
}

log() { echo "[$(date +%T)] $*"; }

check() { # check "description" cmd...
  local what=$1; shift
  E2E_CHECKS=$((E2E_CHECKS + 1))
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; E2E_FAILURES=$((E2E_FAILURES + 1)); fi
}

e2e_finish() {
  echo "$((E2E_CHECKS - E2E_FAILURES)) passed, $E2E_FAILURES failed"
  [ "$E2E_FAILURES" -eq 0 ]
}

netns_add() { ip netns add "$1"; E2E_NETNS+=("$1"); ip -n "$1" link set lo up; }
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }
# Runs the xdplb CLI in the host namespace (the root one when HOST_NS is empty: LXD tests).
xdplb() {
  if [ -n "$HOST_NS" ]; then nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" "$@"; else "$XDPLB" "$@"; fi
}

# Starts a background command in a namespace and records its PID.
spawn_in() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@" & E2E_PIDS+=($!); }

# e2e_client: the client namespace ("another machine") and its veth to the host namespace
# (the root namespace when HOST_NS is empty), uplink $UPLINK with address $VIP.
e2e_client() {
  local host=()
  [ -n "$HOST_NS" ] && host=(-n "$HOST_NS")
  if [ -n "$HOST_NS" ]; then
    ip link add "$UPLINK" netns "$HOST_NS" type veth peer name eth0 netns "$CLI_NS"
  else
    ip link add "$UPLINK" type veth peer name eth0 netns "$CLI_NS"
    E2E_LINKS+=("$UPLINK")
  fi
  ip "${host[@]}" addr add "$VIP/24" dev "$UPLINK"
  ip "${host[@]}" link set "$UPLINK" up
  ip -n "$CLI_NS" addr add "$CLIENT_IP/24" dev eth0
  ip -n "$CLI_NS" link set eth0 up
  ip -n "$CLI_NS" route add default via "$VIP"
  # Look like wire traffic: full checksums from the client (DESIGN.md, checksums on veth).
  in_ns "$CLI_NS" ethtool -K eth0 tx off >/dev/null
  in_ns "$CLI_NS" sysctl -qw net.ipv4.tcp_timestamps=2 2>/dev/null || true
}

# e2e_topology NBACKENDS: host + client + NBACKENDS backend namespaces.
e2e_topology() {
  local n=$1 k
  netns_add "$HOST_NS"
  netns_add "$CLI_NS"
  # Like stock Debian: bridged traffic does not go through iptables (see DESIGN.md).
  in_ns "$HOST_NS" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
  in_ns "$HOST_NS" sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true

  e2e_client

  ip -n "$HOST_NS" link add "$BRIDGE" type bridge
  ip -n "$HOST_NS" addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip -n "$HOST_NS" link set "$BRIDGE" up
  for k in $(seq 1 "$n"); do
    netns_add "$P-b$k"
    ip link add "$P-b${k}h" netns "$HOST_NS" type veth peer name eth0 netns "$P-b$k"
    ip -n "$HOST_NS" link set "$P-b${k}h" master "$BRIDGE" up
    ip -n "$P-b$k" addr add "$(backend_ip "$k")/24" dev eth0
    ip -n "$P-b$k" link set eth0 up
    ip -n "$P-b$k" route add default via "$BRIDGE_IP"
  done
}

backend_ip() { echo "10.$N.0.1$1"; }

# serve_http K: busybox httpd in backend K with a page naming it and a shared big file.
serve_http() {
  local k=$1 www=$E2E_TMP/www$1
  mkdir -p "$www"
  echo "Served from b$k" > "$www/index.html"
  [ -f "$E2E_TMP/big.bin" ] && ln -f "$E2E_TMP/big.bin" "$www/big.bin"
  spawn_in "$P-b$k" busybox httpd -f -p 80 -h "$www"
}

# serve_udp K: answers every datagram on port 80 with "b<K>". It reads the datagram first:
# a reply command that exits unread makes socat's write fail (EPIPE) and drop the answer.
serve_udp() {
  spawn_in "$P-b$1" socat UDP4-RECVFROM:80,reuseaddr,fork SYSTEM:"read -r x; echo b$1"
}

# wait_http NS URL: bounded wait until URL answers from NS.
wait_http() {
  local ns=$1 url=$2 i
  for i in $(seq 1 50); do
    in_ns "$ns" curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# get_pages FIRST_PORT COUNT URL: COUNT sequential requests from the client, each from its own
# source port (FIRST_PORT, FIRST_PORT+1, ...) so runs are repeatable; prints one body per line
# ("FAIL" for a failed request).
get_pages() {
  local first=$1 count=$2 url=$3 i
  for i in $(seq 0 $((count - 1))); do
    in_ns "$CLI_NS" curl -s --max-time 3 --local-port $((first + i)) "$url" || echo FAIL
  done
}

# expect_fail "description" REGEX cmd...: cmd must exit non-zero and say something matching REGEX.
expect_fail() {
  local what=$1 pattern=$2 out rc=0; shift 2
  E2E_CHECKS=$((E2E_CHECKS + 1))
  out=$("$@" 2>&1) || rc=$?
  if [ $rc -ne 0 ] && grep -qiE "$pattern" <<<"$out"; then
    echo "  ok   $what: $(head -1 <<<"$out")"
  else
    echo "  FAIL $what (exit $rc): $out"; E2E_FAILURES=$((E2E_FAILURES + 1))
  fi
}

# ---- client-path helpers (test_paths.sh, test_ipv6.sh) ----

# serve_whoami K: busybox httpd in backend K (IPv4 and IPv6); / names the backend,
# /cgi-bin/peer prints the client address the backend sees, /big.bin is a shared 10 MB file.
serve_whoami() {
  local k=$1 www=$E2E_TMP/www$1
  mkdir -p "$www/cgi-bin"
  echo "Served from b$k" > "$www/index.html"
  # busybox httpd listens on an IPv6 socket: REMOTE_ADDR is [::ffff:a.b.c.d] or [fd..::2].
  local addr='a=${REMOTE_ADDR#[}; a=${a#::ffff:}; a=${a%%]}'
  printf '#!/bin/sh\n%s\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "b%s $a $REMOTE_PORT"\n' "$addr" "$k" > "$www/cgi-bin/peer"
  # /cgi-bin/slow holds its connection for 2 s: many of them are open at the same time.
  printf '#!/bin/sh\n%s\nsleep 2\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "b%s $a $REMOTE_PORT"\n' "$addr" "$k" > "$www/cgi-bin/slow"
  chmod +x "$www/cgi-bin/peer" "$www/cgi-bin/slow"
  ln -f "$E2E_TMP/big.bin" "$www/big.bin"
  spawn_in "$P-b$k" busybox httpd -f -p 80 -h "$www"
}
# serve_udp_peer K [6]: answers each datagram with "b<K> <client address as the backend sees
# it> <port>"; with 6, on IPv6 (v6only, next to the IPv4 one). socat writes IPv6 peers in full
# ([fd84:0000:...]): the answer compresses them the usual way (fd84::1).
serve_udp_peer() {
  local listen="UDP4-RECVFROM:80,reuseaddr,fork"
  [ "${2:-}" = 6 ] && listen="UDP6-RECVFROM:80,ipv6-v6only=1,reuseaddr,fork"
  cat > "$E2E_TMP/udp-peer.sh" <<'SH'
read -r x
a=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1].strip("[]")))' "$SOCAT_PEERADDR")
echo "b$1 $a $SOCAT_PEERPORT"
SH
  spawn_in "$P-b$1" socat "$listen" SYSTEM:"sh $E2E_TMP/udp-peer.sh $1"
}

# http_from NS URL: body of one request, "FAIL" on error.
http_from() { in_ns "$1" curl -s -g --max-time 3 "$2" || echo FAIL; }
# udp_from NS ADDR: the answer to one datagram to ADDR:8000 (IPv4 or IPv6), "FAIL" on error.
udp_from() {
  local target="UDP4:$2:8000"
  [[ $2 == *:* ]] && target="UDP6:[$2]:8000"
  echo ping | in_ns "$1" timeout 5 socat -T2 - "$target" 2>/dev/null || echo FAIL
}
# download_ok NS URL: 10 MB through URL arrive byte-identical.
# Prints the rate it saw (a figure, not a check: shared CI machines vary).
download_ok() {
  local speed
  rm -f "$E2E_TMP/got.bin"
  speed=$(in_ns "$1" curl -s -g --max-time 30 -o "$E2E_TMP/got.bin" -w '%{speed_download}' "$2") || return 1
  echo "       ($1 -> $2: $((${speed%.*} / 1000000)) MB/s)"
  cmp -s "$E2E_TMP/big.bin" "$E2E_TMP/got.bin"
}
# spread NS URL COUNT: COUNT requests; prints how many each backend (or FAIL) answered.
spread() {
  local ns=$1 url=$2 n=$3 i
  for i in $(seq 1 "$n"); do http_from "$ns" "$url"; done | sort | uniq -c
}

# only_from NS URL N BK: N requests from NS to URL, all answered by backend BK (prints who
# answered).
only_from() {
  local out
  out=$(spread "$1" "$2" "$3"); echo "$out"
  grep -qE "^ +$3 Served from $4\$" <<<"$out"
}

# svc_at ADDR: "ADDR:8000", "[ADDR]:8000" for IPv6.
svc_at() { if [[ $1 == *:* ]]; then echo "[$1]:8000"; else echo "$1:8000"; fi; }

# check_host_path TARGET: a process in the host namespace dials TARGET:8000 (cgroup hooks):
# TCP served by both backends, a 10 MB download, getpeername shows what it dialled, UDP
# (connected and sendto) answered, replies from what it dialled. Needs PROBE (peer_probe.py).
check_host_path() {
  local target=$1 at out probe udp
  at=$(svc_at "$target")
  log "host-local client -> $at (cgroup hooks)"
  out=$(spread "$HOST_NS" "http://$at/" 20); echo "$out"
  check "host TCP to $at: 20 of 20 served, by both backends" bash -c "[ \$(grep -c 'Served from b' <<<'$out') -eq 2 ] && ! grep -q FAIL <<<'$out'"
  check "host TCP to $at: 10 MB download" download_ok "$HOST_NS" "http://$at/big.bin"
  probe=$(in_ns "$HOST_NS" python3 "$PROBE" tcp "$target" 8000 || echo FAIL); echo "  $probe"
  check "host TCP to $at: getpeername shows $at" bash -c "grep -qF 'peer=$at body=Served from b' <<<'$probe'"
  udp=$(udp_from "$HOST_NS" "$target"); echo "  udp (connected): $udp"
  check "host UDP (connected) to $at answered" bash -c "grep -qE '^b[12] ' <<<'$udp'"
  probe=$(in_ns "$HOST_NS" python3 "$PROBE" udp "$target" 8000 || echo FAIL); echo "  udp (sendto): $probe"
  check "host UDP (sendto) to $at: reply comes from $at" bash -c "grep -qF 'from=$at body=b' <<<'$probe'"
}

# check_hairpin_path TARGET SNAT_ADDR: backend b1 dials TARGET:8000 (TC on the bridge): TCP
# served by b1 itself and by b2, a 10 MB download, the backend sees SNAT_ADDR with a port in
# HP_MIN..HP_MAX, the container's peer is what it dialled; the same for UDP.
check_hairpin_path() {
  local target=$1 snat=$2 at out peer probe udp
  at=$(svc_at "$target")
  log "hairpin: backend b1 -> $at (TC on the bridge)"
  out=$(spread "$P-b1" "http://$at/" 20); echo "$out"
  check "hairpin TCP to $at: 20 of 20 served" bash -c "! grep -q FAIL <<<'$out' && [ \$(awk '{s+=\$1} END {print s}' <<<'$out') -eq 20 ]"
  check "hairpin TCP to $at: b1 is served by itself too" bash -c "grep -q 'Served from b1' <<<'$out'"
  check "hairpin TCP to $at: and by b2" bash -c "grep -q 'Served from b2' <<<'$out'"
  check "hairpin TCP to $at: 10 MB download" download_ok "$P-b1" "http://$at/big.bin"
  peer=$(http_from "$P-b1" "http://$at/cgi-bin/peer"); echo "  tcp peer: $peer"
  check "hairpin TCP to $at: client appears as $snat with a port in $HP_MIN-$HP_MAX" \
    bash -c "read -r b a port <<<'$peer'; [ \"\$a\" = $snat ] && [ \$port -ge $HP_MIN ] && [ \$port -le $HP_MAX ]"
  probe=$(in_ns "$P-b1" python3 "$PROBE" tcp "$target" 8000 || echo FAIL); echo "  $probe"
  check "hairpin TCP to $at: the container's peer is $at" bash -c "grep -qF 'peer=$at body=Served from b' <<<'$probe'"
  udp=$(udp_from "$P-b1" "$target"); echo "  udp: $udp"
  check "hairpin UDP to $at: answered, client seen as $snat with a port in range" \
    bash -c "read -r b a port <<<'$udp'; [[ \$b == b[12] ]] && [ \"\$a\" = $snat ] && [ \$port -ge $HP_MIN ] && [ \$port -le $HP_MAX ]"
  probe=$(in_ns "$P-b1" python3 "$PROBE" udp "$target" 8000 || echo FAIL); echo "  udp (sendto): $probe"
  check "hairpin UDP to $at: the reply comes from $at" bash -c "grep -qF 'from=$at body=b' <<<'$probe'"
}
