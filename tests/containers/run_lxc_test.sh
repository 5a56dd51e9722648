#!/usr/bin/env bash
# Driver of resolver_lxc_test: a bridge xctlbr0, an lxcpath of our own and two classic-LXC
# busybox containers from the local template with static addresses; runs the gtest binary;
# removes everything it created — also when something fails.
#   run_lxc_test.sh /path/to/containers_resolver_lxc_test [gtest args]
set -euo pipefail
test_bin=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/xct-lxc.XXXXXX)
export LXC_STATE_FILE=$work/lxc-created
# shellcheck source=SCRIPTDIR/../../scripts/lib/lxc.sh
source "$repo/scripts/lib/lxc.sh"

cleanup() {
  local rc=$?
  lxc_cleanup || rc=1
  rm -rf --one-file-system "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }

lxcpath=$work/lxc
names=(xctlxc1 xctlxc2)
ipv4s=(10.231.48.11 10.231.48.12)
ipv6s=(fd42:7863:7402::11 fd42:7863:7402::12)
# A bridge a killed earlier run left behind (our name) would otherwise be reused and kept.
if ip link show dev xctlbr0 >/dev/null 2>&1; then ip link del xctlbr0; fi
lxc_ensure_bridge xctlbr0 10.231.48.1/24 fd42:7863:7402::1/64
lxc_ensure_lxcpath "$lxcpath"
t=$(now)
for i in "${!names[@]}"; do
  lxc_create_web "${names[$i]}" "$lxcpath" xctlbr0 "${ipv4s[$i]}/24" "${ipv6s[$i]}/64"
done
echo "timing: two lxc-create $(elapsed "$t")"
t=$(now)
for name in "${names[@]}"; do lxc_start_web "$name" "$lxcpath"; done
echo "timing: two lxc-start $(elapsed "$t")"

export XCT_BRIDGE=xctlbr0 XCT_LXCPATH=$lxcpath XCT_NAMES="${names[*]}"
export XCT_IPV4S="${ipv4s[*]}" XCT_IPV6S="${ipv6s[*]}"
t=$(now)
"$test_bin" "$@"
echo "timing: tests $(elapsed "$t")"
