#!/usr/bin/env bash
# End to end: `xdplb daemon` under a bounded HTTP load (20 s per scenario, one new connection
# per request, every request recorded by xdplb_http_load) against nginx backends in namespaces:
#   (a) kill -9 of one backend's server: failures only around the kill, none after the daemon
#       takes it out; detection time <= fall x interval + timeout; (d) restarted, it comes back
#       by itself;
#   (b) backend drain, then kill: zero failed requests;
#   (c) daemon stop + start under load: zero failed requests;
# then the tutorial's setup (nft DNAT to an nginx least_conn proxy) under the same kill, for
# comparison. Usage: test_daemon.sh /path/to/xdplb /path/to/xdplb_http_load   (root)
set -euo pipefail
XDPLB=$1
LOAD=$2
. "$(dirname "$0")/lib.sh"
e2e_init xdm 83

DURATION=${XDM_DURATION:-20}  # seconds of load per scenario
RATE=${XDM_RATE:-500}         # requests/s offered
INTERVAL=0.2 TIMEOUT=0.2 RISE=2 FALL=2
BOUND_MS=$(awk "BEGIN{print ($FALL*$INTERVAL+$TIMEOUT)*1000}")
REPORT=${XDM_REPORT:-$E2E_TMP/report.txt}
: > "$REPORT"

now_ms() { date +%s%3N; }
NGINX_PIDS=()

# serve_nginx K: nginx (single process, so kill -9 takes the whole server) in backend K.
# nginx_conf DIR HTTP_BODY: a foreground, single-process nginx config under DIR (no files
# outside it) whose http block holds HTTP_BODY.
nginx_conf() {
  local d=$1
  cat > "$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  $2
}
CONF
}

serve_nginx() {
  local k=$1 d=$E2E_TMP/nginx$1
  mkdir -p "$d/www"
  echo "Served from b$k" > "$d/www/index.html"
  nginx_conf "$d" "server { listen 80 backlog=4096; root $d/www; }"
  nsenter --net=/run/netns/"$P-b$k" nginx -c "$d/nginx.conf" &
  NGINX_PIDS[$k]=$!
  E2E_PIDS+=($!)
}
# A backend that vanishes without a word (no RST): its link goes down; and comes back.
link_down() { ip -n "$P-b$1" link set eth0 down; }
link_up() {
  ip -n "$P-b$1" link set eth0 up
  ip -n "$P-b$1" route replace default via "$BRIDGE_IP"
}
kill_nginx() { kill -9 "${NGINX_PIDS[$1]}"; wait "${NGINX_PIDS[$1]}" 2>/dev/null || true; }

DAEMON_PID=
DAEMON_LOG=$E2E_TMP/daemon.log
start_daemon() {
  nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" daemon --foreground >>"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  E2E_PIDS+=($!)
}
stop_daemon() { kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; }

# start_load NAME: the load client in the client namespace, in the background.
LOAD_PID=
start_load() {
  nsenter --net=/run/netns/"$CLI_NS" "$LOAD" "$VIP" 8000 / --duration "$DURATION" --rate "$RATE" \
    --concurrency 32 --timeout 3000 --out "$E2E_TMP/$1.txt" 2>"$E2E_TMP/$1.err" &
  LOAD_PID=$!
  E2E_PIDS+=($!)
  for _ in $(seq 1 50); do grep -q t0_epoch_ms "$E2E_TMP/$1.err" 2>/dev/null && break; sleep 0.05; done
}
load_t0() { awk '/t0_epoch_ms/{print $3}' "$E2E_TMP/$1.err"; }
wait_load() { wait "$LOAD_PID" || true; cat "$E2E_TMP/$1.err" | grep -v t0_epoch; }
# Epoch ms of the first daemon log line after epoch ms $1 matching $2.
log_ms_after() {
  local after=$1 pattern=$2 line t
  while read -r line; do
    t=$(date -d "$(cut -c1-23 <<<"$line")" +%s%3N 2>/dev/null) || continue
    if [ "$t" -ge "$after" ]; then echo "$t"; return 0; fi
  done < <(grep -E "$pattern" "$DAEMON_LOG")
  return 1
}
# failed NAME [FROM_MS [TO_MS]]: failed requests that started in [FROM, TO) ms of the run.
failed() { awk -v a="${2:--1}" -v b="${3:-1e12}" '$3!="200" && $1>=a && $1<b' "$E2E_TMP/$1.txt" | wc -l; }
total() { wc -l < "$E2E_TMP/$1.txt"; }
rate_of() { awk -v d="$DURATION" '{n++} END{printf "%.0f", n/d}' "$E2E_TMP/$1.txt"; }
slowest_after() { awk -v a="$2" '$1>=a && $2>m{m=$2} END{printf "%.1f", m+0}' "$E2E_TMP/$1.txt"; }
served_by_after() { awk -v a="$2" -v who="Served_from_$3" '$1>=a && $3=="200" && $4==who' "$E2E_TMP/$1.txt" | wc -l; }
report() { echo "$*" | tee -a "$REPORT"; }

log "topology: host, client and 4 backend namespaces (prefix $P), nginx in b1-b3"
e2e_topology 4
for k in 1 2 3; do serve_nginx $k; done
for k in 1 2 3; do wait_http "$HOST_NS" "http://$(backend_ip $k)/" || { echo "backend $k did not start"; exit 1; }; done
in_ns "$HOST_NS" sysctl -qw net.ipv4.ip_forward=1

xdplb attach "$BRIDGE" --uplink "$UPLINK" --no-host-local >/dev/null
for k in 1 2 3; do xdplb backend add "$(backend_ip $k)" >/dev/null; done
xdplb health --type http --path / --expect 200-299 --interval $INTERVAL --timeout $TIMEOUT --rise $RISE --fall $FALL
expect_fail "health interval below 100 ms" "interval" xdplb health --interval 0.05
expect_fail "drain of an unknown backend" "no backend" xdplb backend drain "10.$N.0.99"

log "daemon"
start_daemon
sleep 1
expect_fail "a second daemon on the same bridge" "already runs" xdplb daemon --foreground
check "all three backends are checked up" bash -c \
  "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '[.backends[] | select(.health==\"up\")] | length == 3' >/dev/null"

log "(a) kill -9 of b2's server under load, restart it 7 s later"
start_load a
T0=$(load_t0 a)
sleep 5
KILL=$(now_ms); kill_nginx 2
sleep 7
RESTART=$(now_ms); serve_nginx 2
wait_load a
DOWN=$(log_ms_after "$KILL" "10.$N.0.12:80.*is DOWN") || DOWN=
UP=$(log_ms_after "$RESTART" "10.$N.0.12:80.*is UP") || UP=
echo "  kill at +$((KILL - T0)) ms, daemon DOWN at +$(( ${DOWN:-0} - T0 )) ms, restart at +$((RESTART - T0)) ms, UP at +$(( ${UP:-0} - T0 )) ms"
check "the daemon took b2 out" test -n "$DOWN"
if [ -n "$DOWN" ]; then
  DETECT=$((DOWN - KILL))
  check "detection ${DETECT} ms <= fall x interval + timeout (${BOUND_MS} ms) + 100 ms tick slack" test "$DETECT" -le $((BOUND_MS + 100))
  check "no failed request started after detection" test "$(failed a $((DOWN - T0 + 20)))" -eq 0
  check "no failed request before the kill" test "$(failed a 0 $((KILL - T0 - 3000)))" -eq 0
fi
check "offered load >= 200 req/s ($(rate_of a) req/s)" test "$(rate_of a)" -ge 200
check "(d) b2 came back by itself (daemon UP)" test -n "$UP"
[ -n "$UP" ] && check "(d) b2 serves again after it is UP" test "$(served_by_after a $((UP - T0 + 50)) b2)" -gt 0
report "xdplb kill -9: $(total a) requests, $(rate_of a) req/s, failed $(failed a), detection ${DETECT:-?} ms (bound ${BOUND_MS} ms), slowest after kill $(slowest_after a $((KILL - T0))) ms, back UP $(( ${UP:-0} - RESTART )) ms after restart"

log "(a2) b1 vanishes (its link goes down: no RST, like a container gone), back 7 s later"
start_load a2
T0=$(load_t0 a2)
sleep 5
KILL=$(now_ms); link_down 1
sleep 7
RESTART=$(now_ms); link_up 1
wait_load a2
DOWN=$(log_ms_after "$KILL" "10.$N.0.11:80.*is DOWN") || DOWN=
UP=$(log_ms_after "$RESTART" "10.$N.0.11:80.*is UP") || UP=
check "the daemon took b1 out" test -n "$DOWN"
DETECT2=
if [ -n "$DOWN" ]; then
  DETECT2=$((DOWN - KILL))
  check "detection ${DETECT2} ms <= fall x interval + timeout (${BOUND_MS} ms) + 100 ms" test "$DETECT2" -le $((BOUND_MS + 100))
  check "no failed request started after detection" test "$(failed a2 $((DOWN - T0 + 20)))" -eq 0
fi
check "b1 came back by itself" test -n "$UP"
report "xdplb link down: $(total a2) requests, $(rate_of a2) req/s, failed $(failed a2), detection ${DETECT2:-?} ms, slowest after the failure $(slowest_after a2 $((KILL - T0))) ms"

log "(b) drain b3, wait until it is quiet, kill it: zero failed"
start_load b
T0=$(load_t0 b)
sleep 3
DRAIN=$(now_ms)
xdplb backend drain "$(backend_ip 3)"
for _ in $(seq 1 100); do
  grep -q "10.$N.0.13:80.*drained, no flow active" "$DAEMON_LOG" && break; sleep 0.1
done
QUIET=$(now_ms)
xdplb status | grep -E "STATE|10.$N.0.13" || true
check "status: b3 drained, out of the ring, 0 active flows" bash -c \
  "nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -e '.backends[] | select(.address==\"10.$N.0.13\") | .drained and (.in_ring|not) and .active_flows==0' >/dev/null"
kill_nginx 3
KILL=$(now_ms)
wait_load b
check "the daemon saw b3's flows go quiet" grep -q "10.$N.0.13:80.*drained, no flow active" "$DAEMON_LOG"
check "(b) zero failed requests with drain + kill" test "$(failed b)" -eq 0
check "no request reached b3 after the drain" test "$(served_by_after b $((DRAIN - T0 + 100)) b3)" -eq 0
report "xdplb drain+kill: $(total b) requests, $(rate_of b) req/s, failed $(failed b), drain quiet after $((QUIET - DRAIN)) ms"
serve_nginx 3
xdplb backend undrain "$(backend_ip 3)"

log "CLI changes while the daemon runs: remove + add b3 again"
# wait_log REGEX SECONDS: bounded wait for the daemon to log REGEX.
wait_log() {
  local i
  for i in $(seq 1 $(($2 * 10))); do grep -qE "$1" "$DAEMON_LOG" && return 0; sleep 0.1; done
  echo "  (no '$1' in the daemon log within $2 s; its last lines:)"; tail -n 12 "$DAEMON_LOG" | sed 's/^/    /'
  return 1
}
B3_ID=$(xdplb backend list --json | jq -r ".[] | select(.address == \"10.$N.0.13\") | .id")
xdplb backend remove "$(backend_ip 3)" >/dev/null
# The daemon re-reads the state within 50 ms of a change, unless a probe round holds it up.
check "the daemon saw b3 removed" wait_log "backend id $B3_ID: gone from the saved state" 5
xdplb backend add "$(backend_ip 3)" >/dev/null
check "the daemon picked up the re-added b3" wait_log "10.$N.0.13:80: picked up from the saved state" 5
b3_up() { xdplb status --json | jq -e ".backends[] | select(.address == \"10.$N.0.13\") | .health == \"up\"" >/dev/null; }
wait_b3_up() { local i; for i in $(seq 1 50); do b3_up && return 0; sleep 0.1; done; return 1; }
check "re-added b3 is probed up" wait_b3_up

log "(c) daemon stop + start under load: zero failed"
sleep 1
start_load c
T0=$(load_t0 c)
sleep 5
stop_daemon
check "daemon stopped" bash -c "! kill -0 $DAEMON_PID 2>/dev/null"
sleep 3
start_daemon
wait_load c
check "(c) zero failed requests across daemon stop + start" test "$(failed c)" -eq 0
report "xdplb daemon restart: $(total c) requests, $(rate_of c) req/s, failed $(failed c)"
stop_daemon

log "background mode: forks, writes its pid file and log, stops on SIGTERM"
xdplb daemon --log-file "$E2E_TMP/bg.log"
sleep 1
BG_PID=$(cat "$XDPLB_STATE_DIR/$BRIDGE.daemon.pid" 2>/dev/null || echo 0)
check "background daemon runs (pid $BG_PID)" kill -0 "$BG_PID"
check "background daemon logs" grep -q "daemon for $BRIDGE" "$E2E_TMP/bg.log"
kill_nginx 1
sleep 1.5
in_ring() { nsenter --net=/run/netns/$HOST_NS $XDPLB status --json | jq -r ".backends[] | select(.address==\"10.$N.0.1$1\") | .in_ring"; }
check "background daemon took the killed b1 out" test "$(in_ring 1)" = false
kill -TERM "$BG_PID" 2>/dev/null || true
for _ in $(seq 1 30); do kill -0 "$BG_PID" 2>/dev/null || break; sleep 0.1; done
check "background daemon stopped on SIGTERM" bash -c "! kill -0 $BG_PID 2>/dev/null"
serve_nginx 1
wait_http "$HOST_NS" "http://$(backend_ip 1)/" || true
xdplb health --type none
check "health checks off: b1 back in the ring without a daemon" test "$(in_ring 1)" = true

log "the tutorial's setup: nft DNAT :8000 -> nginx least_conn proxy (b4) -> b1..b3"
xdplb detach "$BRIDGE" >/dev/null
PROXY_IP=$(backend_ip 4)
d=$E2E_TMP/proxy; mkdir -p "$d"
nginx_conf "$d" "upstream web { least_conn; server $(backend_ip 1):80; server $(backend_ip 2):80; server $(backend_ip 3):80; }
  server { listen 80 backlog=4096; location / { proxy_pass http://web; } }"
nsenter --net=/run/netns/"$P-b4" nginx -c "$d/nginx.conf" &
E2E_PIDS+=($!)
wait_http "$HOST_NS" "http://$PROXY_IP/" || { echo "proxy did not start"; exit 1; }
in_ns "$HOST_NS" nft -f - <<NFT
table ip xdm_tutorial {
  chain pre { type nat hook prerouting priority dstnat; ip daddr $VIP tcp dport 8000 dnat to $PROXY_IP:80; }
}
NFT
start_load t
T0=$(load_t0 t)
sleep 5
KILL=$(now_ms); kill_nginx 2
wait_load t
check "tutorial setup: offered load >= 200 req/s ($(rate_of t) req/s)" test "$(rate_of t)" -ge 200
report "tutorial kill -9: $(total t) requests, $(rate_of t) req/s, failed $(failed t), detection: passive (first failed connect), slowest after kill $(slowest_after t $((KILL - T0))) ms"

serve_nginx 2
sleep 1
log "tutorial setup, b1 vanishes (link down)"
start_load t2
T0=$(load_t0 t2)
sleep 5
KILL=$(now_ms); link_down 1
wait_load t2
link_up 1
report "tutorial link down: $(total t2) requests, $(rate_of t2) req/s, failed $(failed t2), slowest after the failure $(slowest_after t2 $((KILL - T0))) ms"

echo "--- report"
cat "$REPORT"
echo "--- daemon log (last 30 lines)"
tail -30 "$DAEMON_LOG"
e2e_finish
