#!/usr/bin/env bash
# End to end: every client path of a service, TCP and UDP, with data checked.
#   external  client namespace -> uplink (XDP)                       keeps its own address
#   host      a process in the host namespace -> 127.0.0.1 / uplink / bridge address
#             (cgroup socket hooks), and that a second namespace is untouched by them
#   hairpin   a backend container -> bridge address / uplink address (TC on the bridge, DNAT +
#             SNAT to the bridge address from the reserved port range), also served by itself
# Backends report the client address they see, so each path's source address is checked too.
# Usage: test_paths.sh /path/to/xdplb   (root)
set -euo pipefail
XDPLB=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
e2e_init xhp 83
export XDPLB_PIN_ROOT=/sys/fs/bpf/xhp-$$
PROBE="$HERE/peer_probe.py"
OTHER_NS=$P-oth

trap e2e_cleanup_detaching EXIT  # the cgroup hooks come off first, whatever happens

CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
# Program ids on the cgroup root (other helpers' tests may attach their own at any time, so
# checks compare ids of our own links, never plain counts).
cgroup_prog_ids() { bpftool -j cgroup show "$CGROOT" 2>/dev/null | jq -r '.[].id' | sort -n; }
# The programs of our pinned host-local links.
our_hook_ids() {
  local f
  for f in "$XDPLB_PIN_ROOT/$BRIDGE"/link_hostlocal_*; do
    [ -e "$f" ] && bpftool -j link show pinned "$f" | jq -r '.prog_id'
  done | sort -n
}
# ids_on_cgroup IDS...: how many of IDS are attached to the cgroup root.
ids_on_cgroup() { comm -12 <(printf '%s\n' "$@" | sort -n) <(cgroup_prog_ids) | grep -c . || true; }


log "topology: host, client, other and 2 backend namespaces (prefix $P)"
e2e_topology 2
netns_add "$OTHER_NS"
head -c 10000000 /dev/urandom > "$E2E_TMP/big.bin"
for k in 1 2; do serve_whoami $k; serve_udp_peer $k; done
for k in 1 2; do wait_http "$HOST_NS" "http://$(backend_ip $k)/" || { echo "backend $k did not start"; exit 1; }; done
# The other namespace has its own server on 127.0.0.1:8000: the hooks must leave it alone.
printf '#!/bin/sh\nread -r x\nprintf "HTTP/1.0 200 OK\\r\\n\\r\\nother namespace\\n"\n' > "$E2E_TMP/other.sh"
spawn_in "$OTHER_NS" socat TCP4-LISTEN:8000,bind=127.0.0.1,reuseaddr,fork EXEC:"sh $E2E_TMP/other.sh"
spawn_in "$OTHER_NS" socat UDP4-RECVFROM:8000,bind=127.0.0.1,reuseaddr,fork SYSTEM:"read -r x; echo other namespace"
wait_http "$OTHER_NS" "http://127.0.0.1:8000/" || { echo "other namespace server did not start"; exit 1; }

check "baseline: 10 MB straight from b1, no load balancer" download_ok "$HOST_NS" "http://$(backend_ip 1)/big.bin"

log "attach (host-local on by default)"
xdplb attach "$BRIDGE" --uplink "$UPLINK"
for k in 1 2; do xdplb backend add "$(backend_ip $k)"; done
HOOK_IDS=($(our_hook_ids))
echo "  hook programs: ${HOOK_IDS[*]}"
check "9 hook programs (IPv4 + IPv6, sock_release included), all on the cgroup root ($CGROOT)" bash -c "[ ${#HOOK_IDS[@]} -eq 9 ] && [ \$(comm -12 <(printf '%s\n' ${HOOK_IDS[*]} | sort -n) <(bpftool -j cgroup show $CGROOT | jq -r '.[].id' | sort -n) | wc -l) -eq 9 ]"
check "host-local links pinned next to the datapath's" bash -c "ls $XDPLB_PIN_ROOT/$BRIDGE | grep -c '^link_hostlocal_' | grep -qx 9"
check "status says host-local is on" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '.host_local == true' >/dev/null"

log "external client -> $VIP:8000 (XDP)"
out=$(spread "$CLI_NS" "http://$VIP:8000/" 20); echo "$out"
check "external TCP: 20 of 20 served, by both backends" bash -c "[ \$(grep -c 'Served from b' <<<'$out') -eq 2 ] && ! grep -q FAIL <<<'$out'"
check "external TCP: 10 MB download" download_ok "$CLI_NS" "http://$VIP:8000/big.bin"
udp=$(udp_from "$CLI_NS" "$VIP"); echo "  udp: $udp"
check "external UDP answered by a backend" bash -c "grep -qE '^b[12] ' <<<'$udp'"

for target in 127.0.0.1 "$VIP" "$BRIDGE_IP"; do check_host_path "$target"; done

log "another namespace is untouched by the hooks"
out=$(http_from "$OTHER_NS" "http://127.0.0.1:8000/"); echo "  tcp: $out"
check "other namespace TCP 127.0.0.1:8000 reaches its own server" [ "$out" = "other namespace" ]
udp=$(udp_from "$OTHER_NS" 127.0.0.1); echo "  udp: $udp"
check "other namespace UDP 127.0.0.1:8000 reaches its own server" [ "$udp" = "other namespace" ]

log "client address as the backend sees it"
peer=$(http_from "$CLI_NS" "http://$VIP:8000/cgi-bin/peer"); echo "  external tcp: $peer"
check "external TCP client keeps its address ($CLIENT_IP) up to the backend" bash -c "grep -qE '^b[12] $CLIENT_IP ' <<<'$peer'"
udp=$(echo ping | in_ns "$CLI_NS" timeout 5 socat -T2 - "UDP4:$VIP:8000,sourceport=45123" 2>/dev/null || echo FAIL); echo "  external udp: $udp"
check "external UDP client keeps its address and port up to the backend" bash -c "grep -qE '^b[12] $CLIENT_IP 45123\$' <<<'$udp'"
peer=$(http_from "$HOST_NS" "http://127.0.0.1:8000/cgi-bin/peer"); echo "  host-local tcp: $peer"
check "host-local client appears as the bridge address (the host's source towards the backends)" bash -c "grep -qE '^b[12] $BRIDGE_IP ' <<<'$peer'"

HP_MIN=61000 HP_MAX=65000
for target in "$BRIDGE_IP" "$VIP"; do check_hairpin_path "$target" "$BRIDGE_IP"; done

log "hairpin under concurrency: 200 connections open at once from b1"
urls=(); for i in $(seq 1 200); do urls+=("http://$BRIDGE_IP:8000/cgi-bin/slow?$i"); done
start=$(date +%s.%N)
in_ns "$P-b1" curl -s -Z --parallel-immediate --parallel-max 200 --max-time 30 "${urls[@]}" > "$E2E_TMP/conc.txt" 2>/dev/null || true
secs=$(echo "$(date +%s.%N) - $start" | bc)
echo "  200 parallel 2-second requests took ${secs}s; answers: $(wc -l < "$E2E_TMP/conc.txt")"
sort "$E2E_TMP/conc.txt" | awk '{print $1}' | uniq -c
check "all 200 concurrent hairpin requests answered" [ "$(grep -cE '^b[12] ' "$E2E_TMP/conc.txt")" -eq 200 ]
check "all from $BRIDGE_IP with ports in $HP_MIN-$HP_MAX" bash -c "awk '\$2 != \"$BRIDGE_IP\" || \$3 < $HP_MIN || \$3 > $HP_MAX { bad++ } END { exit bad > 0 }' $E2E_TMP/conc.txt"
check "no two concurrent connections share (backend, SNAT port)" bash -c "[ \$(awk '{print \$1, \$3}' $E2E_TMP/conc.txt | sort -u | wc -l) -eq 200 ]"
check "the 200 overlapped (done in well under 200 x 2 s)" bash -c "(( \$(echo '$secs < 30' | bc) ))"
xdplb status | grep -E 'hairpin|revnat' || true
check "status counts hairpin flows" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '.reasons.tc_hairpin_new >= 200' >/dev/null"

log "backend b2 removed: host-local and hairpin clients go to b1 only"
xdplb backend remove "$(backend_ip 2)"
check "host-local: 10 of 10 served by b1 after removing b2" only_from "$HOST_NS" "http://127.0.0.1:8000/" 10 b1
check "hairpin: 10 of 10 served by b1 after removing b2" only_from "$P-b1" "http://$BRIDGE_IP:8000/" 10 b1
xdplb backend add "$(backend_ip 2)"

log "detach removes the hooks"
xdplb detach "$BRIDGE"
check "none of our hook programs left on the cgroup root" [ "$(ids_on_cgroup "${HOOK_IDS[@]}")" -eq 0 ]
check "host 127.0.0.1:8000 no longer served" bash -c "! nsenter --net=/run/netns/$HOST_NS curl -s --max-time 2 http://127.0.0.1:8000/ >/dev/null"

log "attach --no-host-local"
xdplb attach "$BRIDGE" --uplink "$UPLINK" --no-host-local --hairpin-ports 62000-62099
check "no host-local links with --no-host-local" [ -z "$(our_hook_ids)" ]
check "status says host-local is off" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '.host_local == false' >/dev/null"
check "host 127.0.0.1:8000 not served with --no-host-local" bash -c "! nsenter --net=/run/netns/$HOST_NS curl -s --max-time 2 http://127.0.0.1:8000/ >/dev/null"
out=$(http_from "$CLI_NS" "http://$VIP:8000/")
check "external clients still served with --no-host-local" bash -c "grep -q 'Served from b' <<<'$out'"
peer=$(http_from "$P-b2" "http://$BRIDGE_IP:8000/cgi-bin/peer"); echo "  hairpin tcp peer: $peer"
check "hairpin uses the configured --hairpin-ports 62000-62099" \
  bash -c "read -r b a port <<<'$peer'; [ \"\$a\" = $BRIDGE_IP ] && [ \$port -ge 62000 ] && [ \$port -le 62099 ]"
expect_fail "an inverted --hairpin-ports range is refused" "hairpin-ports" xdplb attach "$BRIDGE" --uplink "$UPLINK" --hairpin-ports 65000-61000
xdplb detach "$BRIDGE"

e2e_finish
