#!/usr/bin/env bash
# End to end with real classic LXC containers (lxc-create from the project's busybox template,
# static addresses on a bridge of the test's own): the same scenario as the LXD test.
# Usage: test_lxc.sh /path/to/xdplb   (root)
set -euo pipefail
XDPLB=$1
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container_scenario.sh"
e2e_init xlc 233
trap e2e_cleanup_detaching EXIT  # attach puts cgroup hooks on the machine's root: off first
HOST_NS=""              # classic LXC's containers hang off a bridge in the root namespace
BRIDGE=xlcbr0
VIP=10.233.51.1
CLIENT_IP=10.233.51.2
export LXC_STATE_FILE=$E2E_TMP/lxc-created
. "$REPO/scripts/lib/lxc.sh"
e2e_extra_cleanup() { lxc_cleanup; }
LXCPATH=$E2E_TMP/lxc

log "classic LXC: bridge $BRIDGE, containers xlc1 xlc2 xlc3 under $LXCPATH"
lxc_ensure_bridge $BRIDGE 10.233.50.1/24
lxc_ensure_lxcpath "$LXCPATH"
for k in 1 2 3; do lxc_create_web xlc$k "$LXCPATH" $BRIDGE 10.233.50.1$k/24; done
for k in 1 2; do lxc_start_web xlc$k "$LXCPATH"; done

netns_add "$CLI_NS"
e2e_client

ct_start() { lxc_start_web "$1" "$LXCPATH"; }
ct_stop() { lxc_stop_web "$1" "$LXCPATH"; }
ct_restart() { lxc_stop_web "$1" "$LXCPATH"; lxc_start_web "$1" "$LXCPATH"; }
C1=xlc1 C2=xlc2 C3=xlc3
ADD_ARGS=(--source lxc --lxcpath "$LXCPATH")
run_container_scenario
e2e_finish
