#!/usr/bin/env bash
# Driver of resolver_lxd_test: brings up LXD with scripts/lib (reusing a running daemon, else
# starting one), a bridge xctbr0 (no NAT), a dir pool and a profile of our own, the busybox
# image and two instances, plus a stopped classic-LXC container with the first one's name;
# runs the gtest binary; removes everything it created — also when something fails.
#   run_lxd_test.sh /path/to/containers_resolver_lxd_test [gtest args]
set -euo pipefail
test_bin=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/xct-lxd.XXXXXX)
export LXD_STATE_FILE=$work/lxd-created LXC_STATE_FILE=$work/lxc-created
# shellcheck source=SCRIPTDIR/../../scripts/lib/image.sh
source "$repo/scripts/lib/image.sh"
# shellcheck source=SCRIPTDIR/../../scripts/lib/lxc.sh
source "$repo/scripts/lib/lxc.sh"

cleanup() {
  local rc=$? t=$SECONDS
  lxc_cleanup || rc=1
  lxd_cleanup || rc=1
  rm -rf --one-file-system "$work"
  echo "timing: cleanup $((SECONDS - t)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

t=$(now)
lxd_ensure_running
# What a killed earlier run may have left (our names only; nothing else is touched).
for obj in "instance xctweb1" "instance xctweb2" "image xct-web" "profile xctprofile" \
  "network xctbr0" "pool xctpool"; do
  # shellcheck disable=SC2086
  lxd_remove $obj
done
echo "timing: LXD daemon ready $(elapsed "$t")"
t=$(now)
lxd_ensure_network xctbr0 10.231.47.1/24 fd42:7863:7401::1/64 xctprofile xctpool
echo "timing: network, pool, profile $(elapsed "$t")"
t=$(now)
xdplb_lxd_image_build "$work/web.tar.gz"
echo "timing: image build $(elapsed "$t")"
t=$(now)
xdplb_lxd_image_import "$work/web.tar.gz" xct-web
echo "timing: image import $(elapsed "$t")"
t=$(now)
lxd_launch xct-web xctweb1 xctprofile
lxd_launch xct-web xctweb2 xctprofile
echo "timing: two launches $(elapsed "$t")"
t=$(now)
lxd_wait_ipv4 xctweb1 30 >/dev/null
lxd_wait_ipv4 xctweb2 30 >/dev/null
echo "timing: both have IPv4 $(elapsed "$t")"

# A classic-LXC container with the same name (never started): resolve must ask for --source.
lxc_ensure_lxcpath "$work/lxc-twin"
lxc_create_web xctweb1 "$work/lxc-twin" xctbr0 10.231.47.250/24
mkdir -p "$work/lxc-empty"

export XCT_BRIDGE=xctbr0 XCT_NAMES="xctweb1 xctweb2" XCT_NET4=10.231.47. XCT_NET6=fd42:7863:7401:
export XCT_EMPTY_LXCPATH=$work/lxc-empty XCT_TWIN_LXCPATH=$work/lxc-twin
t=$(now)
"$test_bin" "$@"
echo "timing: tests $(elapsed "$t")"
