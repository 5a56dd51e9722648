#!/usr/bin/env bash
# End to end with real LXD containers: backends by container name, stop/start, refresh after a
# restart, a container added later, clear errors for stopped and unknown containers; and IPv6 by
# container name: the bridge has an IPv6 prefix (dnsmasq sends RAs, the containers take SLAAC
# addresses), the uplink and client have IPv6 addresses, every container is also an IPv6 entry.
# Usage: test_lxd.sh /path/to/xdplb   (root; starts LXD if it is not running and stops it after)
set -euo pipefail
XDPLB=$1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container_scenario.sh"
e2e_init xle 232
trap e2e_cleanup_detaching EXIT  # attach puts cgroup hooks on the machine's root: off first
HOST_NS=""              # LXD's containers live off the root namespace's bridge
BRIDGE=xlebr0
VIP=10.232.51.1
CLIENT_IP=10.232.51.2
BRIDGE6_NET=fd42:232:50::/64
VIP6=fd42:232:51::1     # the uplink's IPv6 address; the client is ::2 of the same /64
CLIENT6=fd42:232:51::2
export LXD_STATE_FILE=$E2E_TMP/lxd-created
. "$REPO/scripts/lib/image.sh"
e2e_extra_cleanup() { lxd_cleanup; }

log "LXD: daemon, bridge $BRIDGE, image, containers xlw1 xlw2 xlw3"
lxd_ensure_running
for obj in "instance xlw1" "instance xlw2" "instance xlw3" "image xle-web" "profile xleprofile" \
  "network $BRIDGE" "pool xlepool"; do
  lxd_remove $obj   # what a killed earlier run of this test left (our names only)
done
lxd_ensure_network $BRIDGE 10.232.50.1/24 fd42:232:50::1/64 xleprofile xlepool
xdplb_lxd_image_build "$E2E_TMP/web.tar.gz"
xdplb_lxd_image_import "$E2E_TMP/web.tar.gz" xle-web
for n in xlw1 xlw2 xlw3; do lxd_launch xle-web $n xleprofile; done
for n in xlw1 xlw2 xlw3; do lxd_wait_ipv4 $n 30 >/dev/null; done
for n in xlw1 xlw2; do echo "  $n: IPv6 $(lxd_wait_ipv6 $n 30)"; done
lxc stop xlw3
# A 10 MB file every container serves as /big.bin (the IPv6 download check, lib.sh's download_ok).
head -c 10000000 /dev/urandom >"$E2E_TMP/big.bin"
for n in xlw1 xlw2 xlw3; do lxc file push -q "$E2E_TMP/big.bin" $n/www/big.bin; done

netns_add "$CLI_NS"
e2e_client
ip -6 addr add "$VIP6/64" dev "$UPLINK" nodad
in_ns "$CLI_NS" ip -6 addr add "$CLIENT6/64" dev eth0 nodad
in_ns "$CLI_NS" ip -6 route add default via "$VIP6"

ct_up() { lxd_wait_ipv4 "$1" 30 >/dev/null; lxd_wait_ipv6 "$1" 30 >/dev/null; }
ct_start() { lxc start "$1"; ct_up "$1"; }
ct_stop() { lxc stop "$1"; }
ct_restart() { lxc restart "$1"; ct_up "$1"; }
# UDP over IPv6: the host's socat in the container's network namespace (the busybox image has
# no UDP responder), stopped again before the container is, so it holds no namespace open.
UDP6_PIDS=()
ct_udp6_start() {
  local pid
  pid=$(lxc list "$1" -c p --format csv)
  nsenter --net=/proc/"$pid"/ns/net socat UDP6-RECVFROM:80,reuseaddr,fork \
    SYSTEM:"read -r x; echo $1 \$SOCAT_PEERADDR" &
  UDP6_PIDS+=($!)
  E2E_PIDS+=($!)
  for _ in $(seq 1 50); do   # bounded wait until it listens
    nsenter --net=/proc/"$pid"/ns/net ss -Hlun 'sport = :80' | grep -q . && return 0
    sleep 0.1
  done
  return 1
}
ct_udp6_stop() {
  local p
  for p in "${UDP6_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${UDP6_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  UDP6_PIDS=()
}
C1=xlw1 C2=xlw2 C3=xlw3
ADD_ARGS=(--source lxd)
run_container_scenario
e2e_finish
