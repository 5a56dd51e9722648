#!/usr/bin/env bash
# End to end: the uplink guard. A client on the uplink that sends from the bridge's subnet or
# from the host's bridge address opens no flow (drop_spoofed), the genuine client is served,
# and the daemon follows a new bridge address at once. Usage: test_guard.sh /path/to/xdplb (root)
set -euo pipefail
XDPLB=$1
. "$(dirname "$0")/lib.sh"
e2e_init gdg 187

log "topology: host, client and 1 backend namespace (prefix $P)"
e2e_topology 1
serve_http 1
wait_http "$HOST_NS" "http://$(backend_ip 1)/" || { echo "backend 1 did not start"; exit 1; }

log "attach (no host-local hooks: this test is about the uplink)"
xdplb attach "$BRIDGE" --uplink "$UPLINK" --no-host-local
xdplb backend add "$(backend_ip 1)"
# reason COUNTER: its current value in `xdplb status --json`.
reason() { nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" status --json | jq -r ".reasons.$1"; }

page=$(http_from "$CLI_NS" "http://$VIP:8000/")
check "the genuine client is served" test "$page" = "Served from b1"
check "and was not taken for spoofed" test "$(reason drop_spoofed)" = 0

log "the client sends from the bridge's subnet and from the bridge's own address"
ip -n "$CLI_NS" addr add "10.$N.0.77/32" dev eth0
ip -n "$CLI_NS" addr add "$BRIDGE_IP/32" dev eth0
for src in "10.$N.0.77" "$BRIDGE_IP"; do
  in_ns "$CLI_NS" curl -s --max-time 1 --interface "$src" "http://$VIP:8000/" >/dev/null || true
done
# curl retransmits its SYN within the second: every attempt is dropped, none becomes a flow.
check "spoofed SYNs are dropped as drop_spoofed" bash -c "[ \$(nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -r .reasons.drop_spoofed) -ge 2 ]"
check "they made no flow (the genuine client's is the only one)" test "$(nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" status --json | jq -r .flows)" = 1

log "the daemon follows a new bridge subnet"
spawn_in "$HOST_NS" "$XDPLB" daemon --bridge "$BRIDGE" --foreground >"$E2E_TMP/daemon.log" 2>&1
DAEMON_PID=${E2E_PIDS[-1]}
sleep 0.5  # it writes the guard at start, then follows address events
ip -n "$CLI_NS" addr add "10.$N.7.9/32" dev eth0
new_flows_before=$(reason new_flow)
in_ns "$CLI_NS" curl -s --max-time 1 --interface "10.$N.7.9" "http://$VIP:8000/" >/dev/null || true
check "before: 10.$N.7.9 is not guarded (a new flow, no reply route)" bash -c "[ \$(nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -r .reasons.new_flow) -gt $new_flows_before ]"
spoofed_before=$(reason drop_spoofed)
ip -n "$HOST_NS" addr add "10.$N.7.1/24" dev "$BRIDGE"
guarded=
for _ in $(seq 1 50); do  # bounded: 5 s
  in_ns "$CLI_NS" curl -s --max-time 0.1 --interface "10.$N.7.9" --local-port 50000-50999 "http://$VIP:8000/" >/dev/null || true
  if [ "$(reason drop_spoofed)" -gt "$spoofed_before" ]; then guarded=1; break; fi
done
check "after the bridge got 10.$N.7.1/24 its subnet is guarded" test -n "$guarded"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true

log "detach"
xdplb detach "$BRIDGE"
check "no pins left" test ! -e "$XDPLB_PIN_ROOT/$BRIDGE"
e2e_finish
