#!/usr/bin/env bash
# End to end: IPv6 on every client path, TCP and UDP, with data checked — next to IPv4 on the
# same dual-stack topology (one pool per family: IPv6 VIPs are served by IPv6 backends).
#   external  client namespace -> [uplink IPv6]:8000 (XDP), keeps its own address
#   host      a process in the host namespace -> [::1] / [uplink] / [bridge]:8000 (cgroup hooks)
#   hairpin   a backend -> [bridge] / [uplink]:8000 (TC on the bridge, DNAT + SNAT to the
#             bridge's IPv6 address from the reserved port range), served by itself too
# b1 is on the fast path (devmap redirect), b2 on the pass path (--no-fast-path): both kinds of
# IPv6 forwarding are crossed. ICMPv6 and neighbour discovery must keep working untouched.
# Usage: test_ipv6.sh /path/to/xdplb   (root)
set -euo pipefail
XDPLB=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_init xh6 84
PROBE="$HERE/peer_probe.py"
VIP6=fd84:1::1
CLIENT6=fd84:1::2
BRIDGE6=fd84::1
backend6() { echo "fd84::1$1"; }

trap e2e_cleanup_detaching EXIT  # the cgroup hooks come off first, whatever happens

log "dual-stack topology: host, client and 2 backend namespaces (prefix $P)"
e2e_topology 2
# nodad: usable at once (duplicate address detection would hold them tentative for a second).
ip -n "$HOST_NS" addr add "$VIP6/64" dev "$UPLINK" nodad
ip -n "$CLI_NS" addr add "$CLIENT6/64" dev eth0 nodad
ip -n "$CLI_NS" -6 route add default via "$VIP6"
ip -n "$HOST_NS" addr add "$BRIDGE6/64" dev "$BRIDGE" nodad
for k in 1 2; do
  ip -n "$P-b$k" addr add "$(backend6 $k)/64" dev eth0 nodad
  ip -n "$P-b$k" -6 route add default via "$BRIDGE6"
done
head -c 10000000 /dev/urandom > "$E2E_TMP/big.bin"
for k in 1 2; do serve_whoami $k; serve_udp_peer $k; serve_udp_peer $k 6; done
for k in 1 2; do wait_http "$HOST_NS" "http://[$(backend6 $k)]/" || { echo "backend $k did not start on IPv6"; exit 1; }; done
in_ns "$HOST_NS" sysctl -qw net.ipv6.conf.all.forwarding=0  # xdplb must not need it

log "attach; IPv4 and IPv6 backends"
out=$(xdplb attach "$BRIDGE" --uplink "$UPLINK"); echo "$out"
check "attach serves [$VIP6]:8000 and [$BRIDGE6]:8000 and [::1]:8000" \
  bash -c "grep -qF 'serving [$VIP6]:8000' <<<'$out' && grep -qF 'serving [$BRIDGE6]:8000' <<<'$out' && grep -qF 'serving [::1]:8000' <<<'$out'"
check "attach turns on IPv6 forwarding for the bridge and force_forwarding for the uplink only" bash -c \
  "[ \$(ip netns exec $HOST_NS sysctl -n net.ipv6.conf.$BRIDGE.forwarding) = 1 ] && [ \$(ip netns exec $HOST_NS sysctl -n net.ipv6.conf.$UPLINK.force_forwarding) = 1 ] && [ \$(ip netns exec $HOST_NS sysctl -n net.ipv6.conf.all.forwarding) = 0 ]"
xdplb backend add "$(backend_ip 1)"
xdplb backend add "$(backend_ip 2)"
xdplb backend add "$(backend6 1)"
xdplb backend add "[$(backend6 2)]:80" --no-fast-path
status=$(xdplb status --json)
check "status lists both IPv6 backends, b1 on the redirect path and b2 on the pass path" bash -c \
  "jq -e '[.backends[] | select(.address == \"$(backend6 1)\" and .path == \"redirect\")] | length == 1' <<<'$status' >/dev/null && jq -e '[.backends[] | select(.address == \"$(backend6 2)\" and .path == \"pass\")] | length == 1' <<<'$status' >/dev/null"
expect_fail "a duplicate IPv6 backend is refused" "already a backend" xdplb backend add "[$(backend6 1)]:80"
expect_fail "a malformed IPv6 address is refused" "address|invalid|not" xdplb backend add "fd84::zz"

log "external client -> [$VIP6]:8000 (XDP)"
out=$(spread "$CLI_NS" "http://[$VIP6]:8000/" 20); echo "$out"
check "external TCP6: 20 of 20 served, by both backends" bash -c "[ \$(grep -c 'Served from b' <<<'$out') -eq 2 ] && ! grep -q FAIL <<<'$out'"
check "external TCP6: 10 MB download" download_ok "$CLI_NS" "http://[$VIP6]:8000/big.bin"
for i in 1 2 3 4 5 6; do udp_from "$CLI_NS" "$VIP6"; done > "$E2E_TMP/udp6.txt"; cat "$E2E_TMP/udp6.txt"
check "external UDP6: 6 of 6 answered by an IPv6 backend that sees $CLIENT6" \
  bash -c "[ \$(grep -cE '^b[12] $CLIENT6 [0-9]+\$' $E2E_TMP/udp6.txt) -eq 6 ]"
peer=$(http_from "$CLI_NS" "http://[$VIP6]:8000/cgi-bin/peer"); echo "  tcp peer: $peer"
check "external TCP6 client keeps its address ($CLIENT6) up to the backend" bash -c "grep -qE '^b[12] $CLIENT6 ' <<<'$peer'"
out=$(spread "$CLI_NS" "http://$VIP:8000/" 10); echo "$out"
check "IPv4 on the same service still served (by the IPv4 pool)" bash -c "! grep -q FAIL <<<'$out' && [ \$(awk '{s+=\$1} END {print s}' <<<'$out') -eq 10 ]"
check "ICMPv6 echo to the VIP answered by the host (XDP leaves it alone)" in_ns "$CLI_NS" busybox ping -6 -c 2 -W 2 "$VIP6"
check "neighbour discovery on the uplink works (the client resolved the VIP's MAC)" bash -c \
  "ip -n $CLI_NS -6 neigh show $VIP6 | grep -qE 'REACHABLE|STALE|DELAY|PROBE'"

for target in ::1 "$VIP6" "$BRIDGE6"; do check_host_path "$target"; done
peer=$(http_from "$HOST_NS" "http://[::1]:8000/cgi-bin/peer"); echo "  host-local tcp peer: $peer"
check "host-local IPv6 client appears as the bridge address ($BRIDGE6)" bash -c "grep -qE '^b[12] $BRIDGE6 ' <<<'$peer'"

HP_MIN=61000 HP_MAX=65000
for target in "$BRIDGE6" "$VIP6"; do check_hairpin_path "$target" "$BRIDGE6"; done

log "IPv6 backend b2 removed: IPv6 clients of every path go to b1 only, IPv4 keeps both"
xdplb backend remove "$(backend6 2)"
check "external TCP6: 10 of 10 served by b1" only_from "$CLI_NS" "http://[$VIP6]:8000/" 10 b1
check "host TCP6: 10 of 10 served by b1" only_from "$HOST_NS" "http://[::1]:8000/" 10 b1
check "hairpin TCP6: 10 of 10 served by b1" only_from "$P-b2" "http://[$BRIDGE6]:8000/" 10 b1
out=$(spread "$CLI_NS" "http://$VIP:8000/" 20); echo "$out"
check "IPv4: still both backends" bash -c "[ \$(grep -c 'Served from b' <<<'$out') -eq 2 ]"

xdplb detach "$BRIDGE"
e2e_finish
