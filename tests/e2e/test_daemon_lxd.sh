#!/usr/bin/env bash
# End to end with LXD containers and the daemon: backends added by name; `lxc stop --force`
# of one under a bounded HTTP load takes it out (no failed request after the daemon saw it);
# `lxc start` brings it back by itself (new veth, re-resolved, probed, back in the ring).
# Usage: test_daemon_lxd.sh /path/to/xdplb /path/to/xdplb_http_load   (root; starts LXD if needed)
set -euo pipefail
XDPLB=$1
LOAD=$2
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
e2e_init xdl 236
HOST_NS=""              # LXD's containers live off the root namespace's bridge
BRIDGE=xdmbr0
VIP=10.236.51.1
CLIENT_IP=10.236.51.2
DURATION=${XDM_DURATION:-20}
RATE=${XDM_RATE:-250}   # busybox httpd in the containers forks per request
export LXD_STATE_FILE=$E2E_TMP/lxd-created
. "$REPO/scripts/lib/image.sh"
DAEMON_PID=
e2e_extra_cleanup() {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
  lxd_cleanup
}
now_ms() { date +%s%3N; }
DAEMON_LOG=$E2E_TMP/daemon.log
log_ms_after() {
  local after=$1 pattern=$2 line t
  while read -r line; do
    t=$(date -d "$(cut -c1-23 <<<"$line")" +%s%3N 2>/dev/null) || continue
    if [ "$t" -ge "$after" ]; then echo "$t"; return 0; fi
  done < <(grep -E "$pattern" "$DAEMON_LOG")
  return 1
}
failed() { awk -v a="${2:--1}" -v b="${3:-1e12}" '$3!="200" && $1>=a && $1<b' "$E2E_TMP/$1.txt" | wc -l; }
served_by_after() { awk -v a="$2" -v who="$3" '$1>=a && $3=="200" && index($4, who)' "$E2E_TMP/$1.txt" | wc -l; }

log "LXD: daemon, bridge $BRIDGE, image, containers xdmw1 xdmw2"
lxd_ensure_running
for obj in "instance xdmw1" "instance xdmw2" "image xdm-web" "profile xdmprofile" "network $BRIDGE" "pool xdmpool"; do
  lxd_remove $obj
done
lxd_ensure_network $BRIDGE 10.236.50.1/24 fd42:236:50::1/64 xdmprofile xdmpool
xdplb_lxd_image_build "$E2E_TMP/web.tar.gz"
xdplb_lxd_image_import "$E2E_TMP/web.tar.gz" xdm-web
for n in xdmw1 xdmw2; do lxd_launch xdm-web $n xdmprofile; done
for n in xdmw1 xdmw2; do lxd_wait_ipv4 $n 30 >/dev/null; done
netns_add "$CLI_NS"
e2e_client

xdplb attach "$BRIDGE" --uplink "$UPLINK" --no-host-local >/dev/null
for n in xdmw1 xdmw2; do xdplb backend add $n --source lxd >/dev/null; done
xdplb health --type tcp --interval 0.2 --timeout 0.2 --rise 2 --fall 2
"$XDPLB" daemon --foreground >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
sleep 1.5

log "lxc stop --force xdmw2 under load, lxc start it 6 s later"
nsenter --net=/run/netns/"$CLI_NS" "$LOAD" "$VIP" 8000 / --duration "$DURATION" --rate "$RATE" \
  --concurrency 16 --timeout 3000 --out "$E2E_TMP/l.txt" 2>"$E2E_TMP/l.err" &
LOAD_PID=$!
E2E_PIDS+=($LOAD_PID)
for _ in $(seq 1 50); do grep -q t0_epoch_ms "$E2E_TMP/l.err" 2>/dev/null && break; sleep 0.05; done
T0=$(awk '/t0_epoch_ms/{print $3}' "$E2E_TMP/l.err")
sleep 4
STOP=$(now_ms); lxc stop --force xdmw2
sleep 6
START=$(now_ms); lxc start xdmw2
wait $LOAD_PID || true
grep -v t0_epoch "$E2E_TMP/l.err"
DOWN=$(log_ms_after "$STOP" "xdmw2.*DOWN") || DOWN=
UP=$(log_ms_after "$START" "xdmw2.*is UP") || UP=
echo "  stop at +$((STOP - T0)) ms, DOWN at +$(( ${DOWN:-0} - T0 )) ms, start at +$((START - T0)) ms, UP at +$(( ${UP:-0} - T0 )) ms"
check "the daemon took xdmw2 out" test -n "$DOWN"
[ -n "$DOWN" ] && check "no failed request started after detection ($((DOWN - STOP)) ms after the stop)" \
  test "$(failed l $((DOWN - T0 + 20)))" -eq 0
check "xdmw2 came back by itself" test -n "$UP"
[ -n "$UP" ] && check "xdmw2 serves again after it is UP" test "$(served_by_after l $((UP - T0 + 50)) xdmw2)" -gt 0
echo "lxd stop --force: $(wc -l < "$E2E_TMP/l.txt") requests, failed $(failed l), detection $(( ${DOWN:-0} - STOP )) ms, back UP $(( ${UP:-0} - START )) ms after lxc start"
echo "--- daemon log"
cat "$DAEMON_LOG"
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
xdplb detach "$BRIDGE" >/dev/null
e2e_finish
