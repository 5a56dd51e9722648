#!/usr/bin/env bash
# End to end with real LXD containers: backends by container name, stop/start, refresh after a
# restart, a container added later, clear errors for stopped and unknown containers.
# Usage: test_lxd.sh /path/to/xdplb   (root; starts LXD if it is not running and stops it after)
set -euo pipefail
XDPLB=$1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container_scenario.sh"
e2e_init xle 232
HOST_NS=""              # LXD's containers live off the root namespace's bridge
BRIDGE=xlebr0
VIP=10.232.51.1
CLIENT_IP=10.232.51.2
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
lxc stop xlw3

netns_add "$CLI_NS"
e2e_client

ct_start() { lxc start "$1"; lxd_wait_ipv4 "$1" 30 >/dev/null; }
ct_stop() { lxc stop "$1"; }
ct_restart() { lxc restart "$1"; lxd_wait_ipv4 "$1" 30 >/dev/null; }
C1=xlw1 C2=xlw2 C3=xlw3
ADD_ARGS=(--source lxd)
run_container_scenario
e2e_finish
