#!/usr/bin/env bash
# End to end: xdplb in front of three HTTP/UDP backends on a bridge, an external client on the
# uplink. Usage: test_core.sh /path/to/xdplb   (root)
set -euo pipefail
XDPLB=$1
. "$(dirname "$0")/lib.sh"
e2e_init xec 81

log "topology: host, client and 3 backend namespaces (prefix $P)"
e2e_topology 3
head -c 10000000 /dev/urandom > "$E2E_TMP/big.bin"
for k in 1 2 3; do serve_http $k; serve_udp $k; done
for k in 1 2 3; do wait_http "$HOST_NS" "http://$(backend_ip $k)/" || { echo "backend $k did not start"; exit 1; }; done

log "errors before attach change nothing"
expect_fail "backend add before attach" "attach" xdplb backend add "$(backend_ip 1)"
expect_fail "attach to a missing bridge" "nosuchbr0" xdplb attach nosuchbr0 --uplink "$UPLINK"
expect_fail "attach with a missing uplink" "nosuchup0" xdplb attach "$BRIDGE" --uplink nosuchup0
expect_fail "attach with port 0" "port" xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 0
expect_fail "attach to a non-bridge" "bridge" xdplb attach "$UPLINK" --uplink "$UPLINK"
ip -n "$HOST_NS" link add "$P-nx" type bridge   # native XDP cannot attach to a bridge
ip -n "$HOST_NS" addr add "10.$N.9.1/24" dev "$P-nx"
ip -n "$HOST_NS" link set "$P-nx" up
expect_fail "native XDP where the driver has none" "native" xdplb attach "$BRIDGE" --uplink "$P-nx" --xdp-mode native
expect_fail "unknown XDP mode" "xdp-mode" xdplb attach "$BRIDGE" --uplink "$UPLINK" --xdp-mode turbo
expect_fail "not root" "root" nsenter --net=/run/netns/"$HOST_NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$XDPLB" status
check "nothing pinned after the failed commands" test ! -e "$XDPLB_PIN_ROOT/$BRIDGE"

log "attach"
xdplb attach "$BRIDGE" --uplink "$UPLINK"
check "XDP is on the uplink" bash -c "ip -n $HOST_NS link show $UPLINK | grep -q xdp"
expect_fail "second attach" "already attached" xdplb attach "$BRIDGE" --uplink "$UPLINK"
for k in 1 2 3; do xdplb backend add "$(backend_ip $k)"; done
expect_fail "malformed address" "10.0.0.300" xdplb backend add 10.0.0.300
expect_fail "port out of range" "65535" xdplb backend add "$(backend_ip 1):70000"
expect_fail "weight 0" "weight" xdplb backend add "10.$N.0.99" --weight 0
expect_fail "duplicate backend" "already" xdplb backend add "$(backend_ip 1)"
expect_fail "removing an unknown backend" "10.$N.0.99" xdplb backend remove "10.$N.0.99"
xdplb backend list

log "30 sequential requests from the client to $VIP:8000"
pages=$(get_pages 40001 30 "http://$VIP:8000/")
echo "$pages" | sort | uniq -c
check "all 30 requests succeed" bash -c "[ \$(grep -c '^Served from b' <<<'$pages') -eq 30 ]"
for k in 1 2 3; do
  check "backend b$k serves at least 5 of 30" bash -c "[ \$(grep -c '^Served from b$k\$' <<<'$pages') -ge 5 ]"
done

log "10 MB download through the load balancer"
in_ns "$CLI_NS" curl -s --max-time 30 -o "$E2E_TMP/got.bin" "http://$VIP:8000/big.bin" || true
check "10 MB download is byte-identical" cmp -s "$E2E_TMP/big.bin" "$E2E_TMP/got.bin"

log "UDP request/response"
udp=$(echo ping | in_ns "$CLI_NS" timeout 5 socat -T2 - UDP4:$VIP:8000,sourceport=45000 || true)
echo "  udp answer: '$udp'"
check "UDP answer comes from a backend, as the VIP" bash -c "grep -qE '^b[123]\$' <<<'$udp'"

log "status"
xdplb status
check "status --json is valid and counts packets" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '[.backends[].packets] | add > 0' >/dev/null"

log "remove backend 3: new requests go to b1/b2 only, without failures"
xdplb backend remove "$(backend_ip 3)"
pages=$(get_pages 41001 30 "http://$VIP:8000/")
echo "$pages" | sort | uniq -c
check "all 30 requests succeed after remove" bash -c "[ \$(grep -c '^Served from b[12]\$' <<<'$pages') -eq 30 ]"

log "detach"
xdplb detach "$BRIDGE"
check "port 8000 is no longer served" bash -c "! nsenter --net=/run/netns/$CLI_NS curl -s --max-time 2 http://$VIP:8000/ >/dev/null"
check "no XDP left on the uplink" bash -c "! ip -n $HOST_NS link show $UPLINK | grep -q xdp"
check "no TC program left on the bridge" bash -c "[ -z \"\$(nsenter --net=/run/netns/$HOST_NS bpftool net show dev $BRIDGE | grep -E 'tcx|clsact|xdplb')\" ]"
check "no pins left" bash -c "[ ! -e $XDPLB_PIN_ROOT/$BRIDGE ]"

e2e_finish
