#!/usr/bin/env bash
# End to end: the schedulers. round-robin gives equal turns (external and host-local clients);
# least-conn sends new requests away from a backend that holds long connections, and the
# active-connection counts go back to 0 when connections end; with the daemon, a backend that
# comes back ramps its weight up (slow start). Usage: test_sched.sh /path/to/xdplb
set -euo pipefail
XDPLB=$1
. "$(dirname "$0")/lib.sh"
e2e_init sch 91

# serve_slow K: busybox httpd in backend K; / names the backend, /cgi-bin/slow?S answers after
# S seconds (bounded to 0-19), so its connection stays open that long.
serve_slow() {
  local k=$1 www=$E2E_TMP/www$1
  mkdir -p "$www/cgi-bin"
  echo "Served from b$k" > "$www/index.html"
  printf '#!/bin/sh\ns=${QUERY_STRING:-1}\ncase $s in [0-9]|1[0-9]) ;; *) s=1 ;; esac\nsleep "$s"\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "slow from b%s"\n' "$k" > "$www/cgi-bin/slow"
  chmod +x "$www/cgi-bin/slow"
  spawn_in "$P-b$k" busybox httpd -f -p 80 -h "$www"
  HTTPD[$k]=${E2E_PIDS[-1]}
}
HTTPD=()

# count_of K: backend K's active connections as `xdplb status --json` shows them.
count_of() {
  xdplb status --json | jq -r ".backends[] | select(.address == \"$(backend_ip "$1")\") | .connections"
}
# counts: "c1 c2 c3"
counts() { echo "$(count_of 1) $(count_of 2) $(count_of 3)"; }
# wait_counts "WANT": bounded wait (5 s) until counts prints WANT.
wait_counts() {
  local i
  for i in $(seq 1 50); do [ "$(counts)" = "$1" ] && return 0; sleep 0.1; done
  echo "       (counts are '$(counts)', want '$1')"
  return 1
}
# placement_of K: backend K's weight in the pool's member list now (0: not a member).
placement_of() {
  xdplb status --json | jq -r ".backends[] | select(.address == \"$(backend_ip "$1")\") | .placement_weight"
}
# placements_become "W1 W2 W3": bounded wait (3 s) for those member-list weights. The daemon
# logs a change from inside it and writes the rings right after, so a read at the log line
# may still see the old ones.
placements_become() {
  local i
  for i in $(seq 1 30); do [ "$(placement_of 1) $(placement_of 2) $(placement_of 3)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}
# wait_log REGEX SECONDS: bounded wait for the daemon to log REGEX.
DAEMON_LOG=
wait_log() {
  local i
  for i in $(seq 1 $(($2 * 10))); do grep -qE "$1" "$DAEMON_LOG" && return 0; sleep 0.1; done
  return 1
}
# per_backend PAGES: "n1 n2 n3", how many pages each backend served.
per_backend() {
  echo "$(grep -c '^Served from b1$' <<<"$1" || true) $(grep -c '^Served from b2$' <<<"$1" || true) $(grep -c '^Served from b3$' <<<"$1" || true)"
}

log "topology: host, client and 3 backend namespaces (prefix $P)"
e2e_topology 3
for k in 1 2 3; do serve_slow $k; done
for k in 1 2 3; do wait_http "$HOST_NS" "http://$(backend_ip $k)/" || { echo "backend $k did not start"; exit 1; }; done

expect_fail "attach with an unknown scheduler" "scheduler 'fastest' is not known" xdplb attach "$BRIDGE" --uplink "$UPLINK" --scheduler fastest
check "nothing pinned after the failed attach" test ! -e "$XDPLB_PIN_ROOT/$BRIDGE"

log "attach with --scheduler round-robin"
xdplb attach "$BRIDGE" --uplink "$UPLINK" --scheduler round-robin
for k in 1 2 3; do xdplb backend add "$(backend_ip $k)"; done
check "status --json says round-robin" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '.service.scheduler == \"round-robin\"' >/dev/null"
check "the saved state says round-robin" bash -c "jq -e '.services[0].scheduler == \"round-robin\"' $XDPLB_STATE_DIR/$BRIDGE.json >/dev/null"

log "round-robin: 12 sequential requests from the client"
pages=$(get_pages 40001 12 "http://$VIP:8000/")
echo "$pages" | sort | uniq -c
check "equal turns: 4 4 4 (got $(per_backend "$pages"))" test "$(per_backend "$pages")" = "4 4 4"
check "finished requests leave no active connection" wait_counts "0 0 0"

log "round-robin: 12 requests from the host itself (cgroup hooks)"
pages=$(for i in $(seq 1 12); do in_ns "$HOST_NS" curl -s --max-time 3 "http://$VIP:8000/" || echo FAIL; done)
echo "$pages" | sort | uniq -c
check "host-local equal turns: 4 4 4 (got $(per_backend "$pages"))" test "$(per_backend "$pages")" = "4 4 4"
check "closed host sockets leave no active connection (sock_release)" wait_counts "0 0 0"

log "changing the scheduler"
expect_fail "unknown scheduler name" "scheduler 'least_conn' is not known.*least-conn" xdplb scheduler least_conn
check "an unknown name changes nothing" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB scheduler | grep -q 'round-robin'"
xdplb scheduler least-conn
check "status says least-conn" bash -c "nsenter --net=/run/netns/$HOST_NS $XDPLB status | grep -q 'scheduler least-conn'"
check "the saved state says least-conn" bash -c "jq -e '.services[0].scheduler == \"least-conn\"' $XDPLB_STATE_DIR/$BRIDGE.json >/dev/null"

log "least-conn: b1 takes 3 long requests (b2, b3 drained meanwhile)"
xdplb backend drain "$(backend_ip 2)"
xdplb backend drain "$(backend_ip 3)"
SLOW=()
for i in 1 2 3; do
  in_ns "$CLI_NS" curl -s --max-time 30 -o "$E2E_TMP/slow$i.out" "http://$VIP:8000/cgi-bin/slow?8" &
  E2E_PIDS+=($!)
  SLOW+=($!)
done
check "b1 counts the 3 open connections" wait_counts "3 0 0"
xdplb backend undrain "$(backend_ip 2)"
xdplb backend undrain "$(backend_ip 3)"
xdplb status | sed -n '/^backends:/,/(FLOWS:/p'

log "least-conn: 10 short requests while b1 holds them"
pages=$(get_pages 41001 10 "http://$VIP:8000/")
echo "$pages" | sort | uniq -c
check "no short request went to the busy b1 (got $(per_backend "$pages"))" bash -c "[ \$(grep -c '^Served from b[23]\$' <<<'$pages') -eq 10 ]"
check "both idle backends served some" bash -c "grep -q '^Served from b2\$' <<<'$pages' && grep -q '^Served from b3\$' <<<'$pages'"
check "b1 still counts 3 while they run" test "$(count_of 1)" = 3

log "the long requests finish"
for pid in "${SLOW[@]}"; do wait "$pid" || true; done
for i in 1 2 3; do
  check "long request $i answered by b1" grep -qx 'slow from b1' "$E2E_TMP/slow$i.out"
done
check "every count back to 0 once the connections end (FIN)" wait_counts "0 0 0"

log "slow start: the daemon (tcp checks every 0.2 s, rise 2, fall 2) ramps b3 up over 20 s"
xdplb health --type tcp --interval 0.2 --timeout 0.2 --rise 2 --fall 2 --slow-start 20
DAEMON_LOG=$E2E_TMP/daemon.log
nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" daemon --foreground >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
E2E_PIDS+=($!)
check "the daemon starts" wait_log "daemon for $BRIDGE" 5
all_up() { xdplb status --json | jq -e '[.backends[].health] == ["up", "up", "up"]' >/dev/null; }
wait_all_up() { local i; for i in $(seq 1 50); do all_up && return 0; sleep 0.1; done; return 1; }
check "the daemon has probed every backend up" wait_all_up
check "placement weights are the saved ones: 1 1 1" test "$(placement_of 1) $(placement_of 2) $(placement_of 3)" = "1 1 1"
kill "${HTTPD[3]}"; wait "${HTTPD[3]}" 2>/dev/null || true
check "b3's server stopped: the daemon takes it out" wait_log "$(backend_ip 3):80 is DOWN" 5
check "b3 is out of the member list" placements_become "1 1 0"
serve_slow 3
check "b3 is back up, ramping" wait_log "$(backend_ip 3):80 is UP.*ramping up over 20000 ms" 5
# The log line comes from inside the state change; the rings are written right after it.
for i in $(seq 1 20); do w1=$(placement_of 1); [ "$w1" -gt 1 ] && break; sleep 0.1; done
w3=$(placement_of 3)
check "while ramping, b3's weight ($w3) is far below b1's ($w1, scaled from 1)" bash -c "[ $w3 -ge 1 ] && [ $w3 -lt $((w1 / 2)) ]"
sleep 2
w3b=$(placement_of 3)
check "b3's weight grows once a second ($w3 -> $w3b after 2 s)" bash -c "[ $w3b -gt $w3 ]"
check "the ramp ends by itself" wait_log "slow start over" 30
check "after the ramp the saved weights are back: 1 1 1" placements_become "1 1 1"
xdplb scheduler maglev >/dev/null
check "the daemon sees a scheduler change" wait_log "scheduler now maglev \(was least-conn\)" 5
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true

log "detach"
xdplb detach "$BRIDGE"
check "no pins left" test ! -e "$XDPLB_PIN_ROOT/$BRIDGE"

e2e_finish
