# shellcheck shell=bash
# LXD bring-up for the demo and the container tests: reuse a running LXD (a real host has one),
# else start the daemon by hand (no systemd here); create only the network, storage pool and
# profile devices that are missing; launch instances. Everything created is recorded in
# $LXD_STATE_FILE so that lxd_cleanup removes exactly that — never an existing LXD's objects.
#
# Never `lxd init --auto`: it probes random 10.x subnets with pings and TCP connects over the
# default route (traffic leaves the machine) and gives up after ~100 s.
#
#   source scripts/lib/lxd.sh
#   lxd_ensure_running
#   lxd_ensure_network lxdbr0 10.99.0.1/24 fd42:99::1/64      # + pool "default", profile "default"
#   lxd_launch web web1 default
#   ...
#   lxd_cleanup
# Callers set `set -euo pipefail`; these functions return non-zero on failure.

LXD_STATE_FILE=${LXD_STATE_FILE:-/run/xdplb/lxd-created}
LXD_LOG_FILE=${LXD_LOG_FILE:-/var/log/lxd/lxd.log}
LXD_WAIT_SECONDS=${LXD_WAIT_SECONDS:-60}

# shellcheck source=SCRIPTDIR/created.sh
source "$(dirname "${BASH_SOURCE[0]}")/created.sh"

# The daemon's unix socket (snap or Debian package); fails when there is none.
lxd_socket() {
  local p
  for p in /var/snap/lxd/common/lxd/unix.socket /var/lib/lxd/unix.socket; do
    if [ -S "$p" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

lxd_is_running() {
  lxd_socket >/dev/null && timeout 10 lxc query /1.0 >/dev/null 2>&1
}

# Reuse a running LXD, else start one and record that we did (cleanup then stops it).
lxd_ensure_running() {
  if lxd_is_running; then
    echo "lxd: reusing the running daemon ($(lxd_socket))"
    return 0
  fi
  if ! command -v lxd >/dev/null; then
    echo "lxd: not installed (apt-get install lxd)" >&2
    return 1
  fi
  # LXD turns on forwarding (ip_forward, IPv6 forwarding, accept_ra=2): put it back when we
  # stop the daemon we started. Recorded before the daemon so it is undone after the stop.
  # (Writing ip_forward / conf.all.forwarding back also resets every interface's forwarding.)
  local key
  for key in net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv6.conf.default.forwarding \
    $(sysctl -N -a 2>/dev/null | grep -E '^net\.ipv6\.conf\.[^.]+\.accept_ra$'); do
    created_record "$LXD_STATE_FILE" sysctl "$key" "$(sysctl -n "$key")"
  done
  created_record "$LXD_STATE_FILE" nft-table-if-empty inet lxd
  mkdir -p "$(dirname "$LXD_LOG_FILE")"
  local group=()
  if getent group lxd >/dev/null; then group=(--group lxd); fi
  # setsid: the daemon must not die with the caller's terminal or test process group.
  setsid lxd "${group[@]}" --logfile="$LXD_LOG_FILE" </dev/null >>"$LXD_LOG_FILE.stdout" 2>&1 &
  local pid=$!
  created_record "$LXD_STATE_FILE" daemon "$pid"
  if ! lxd waitready --timeout="$LXD_WAIT_SECONDS"; then
    echo "lxd: the daemon did not become ready within ${LXD_WAIT_SECONDS}s; see $LXD_LOG_FILE" >&2
    return 1
  fi
  echo "lxd: started the daemon (pid $pid)"
}

lxd_ensure_pool() {
  local pool=$1
  if lxc storage show "$pool" >/dev/null 2>&1; then
    echo "lxd: reusing storage pool $pool"
    return 0
  fi
  lxc storage create "$pool" dir >/dev/null
  created_record "$LXD_STATE_FILE" pool "$pool"
}

# Profile PROFILE with eth0 on BRIDGE and its root disk on POOL; adds only missing devices.
lxd_ensure_profile() {
  local profile=$1 bridge=$2 pool=$3 ours=0 devices
  if ! lxc profile show "$profile" >/dev/null 2>&1; then
    lxc profile create "$profile" >/dev/null
    created_record "$LXD_STATE_FILE" profile "$profile"
    ours=1
  fi
  devices=$(lxc profile device list "$profile")
  if ! grep -qx eth0 <<<"$devices"; then
    lxc profile device add "$profile" eth0 nic network="$bridge" name=eth0 >/dev/null
    [ "$ours" = 1 ] || created_record "$LXD_STATE_FILE" profile-device "$profile" eth0
  else
    local on
    on=$(lxc profile device get "$profile" eth0 network 2>/dev/null || true)
    if [ "$on" != "$bridge" ]; then
      echo "lxd: note: profile $profile already has eth0 on '${on:-?}', not $bridge; left as is" >&2
    fi
  fi
  if ! grep -qx root <<<"$devices"; then
    lxc profile device add "$profile" root disk path=/ pool="$pool" >/dev/null
    [ "$ours" = 1 ] || created_record "$LXD_STATE_FILE" profile-device "$profile" root
  fi
}

# lxd_ensure_network BRIDGE CIDR4 CIDR6 [PROFILE [POOL]]: a managed bridge with these host
# addresses (e.g. 10.99.0.1/24, fd42:99::1/64) and no NAT, so containers cannot reach out
# through the uplink; plus a `dir` pool and the profile's eth0/root devices if missing.
lxd_ensure_network() {
  local bridge=$1 cidr4=$2 cidr6=$3 profile=${4:-default} pool=${5:-default}
  if lxc network show "$bridge" >/dev/null 2>&1; then
    echo "lxd: reusing network $bridge"
  else
    lxc network create "$bridge" ipv4.address="$cidr4" ipv4.nat=false \
      ipv6.address="$cidr6" ipv6.nat=false >/dev/null
    created_record "$LXD_STATE_FILE" network "$bridge"
  fi
  lxd_ensure_pool "$pool"
  lxd_ensure_profile "$profile" "$bridge" "$pool"
}

# lxd_launch IMAGE NAME [PROFILE]
lxd_launch() {
  local image=$1 name=$2 profile=${3:-default}
  lxc launch "$image" "$name" -p "$profile" >/dev/null
  created_record "$LXD_STATE_FILE" instance "$name"
}

# _lxd_wait_address NAME 4|6 SECONDS WHAT: print the instance's first address of that column
# of `lxc list` once it has one; after SECONDS say WHAT is missing and fail.
_lxd_wait_address() {
  local name=$1 column=$2 seconds=$3 what=$4 i addr
  for ((i = 0; i < seconds * 5; i++)); do
    addr=$(lxc list "$name" -c "$column" --format csv | awk '{print $1; exit}')
    if [ -n "$addr" ]; then
      echo "$addr"
      return 0
    fi
    sleep 0.2
  done
  echo "lxd: $name has no $what after ${seconds}s" >&2
  return 1
}

# lxd_wait_ipv4 NAME SECONDS: the instance's first IPv4 address, once it has one.
lxd_wait_ipv4() { _lxd_wait_address "$1" 4 "${2:-30}" "IPv4 address"; }

# lxd_wait_ipv6 NAME SECONDS: its first global IPv6 address (SLAAC from the bridge's router
# advertisements; LXD lists no link-local addresses here).
lxd_wait_ipv6() { _lxd_wait_address "$1" 6 "${2:-30}" "global IPv6 address (router advertisements?)"; }

# lxd_remove KIND NAME: remove one object if it exists (instance, image, profile, network,
# pool) — for tests clearing what a killed earlier run of theirs left behind.
lxd_remove() {
  case $1 in
    instance | image | profile | network | pool) _lxd_undo "$@" ;;
    *) echo "lxd_remove: unknown kind '$1'" >&2; return 1 ;;
  esac
}

_lxd_stop_daemon() {
  local pid=$1 i
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != lxd ]; then return 0; fi
  # Stops the instances cleanly, then the daemon.
  timeout 60 lxd shutdown >/dev/null 2>&1 || true
  for ((i = 0; i < 100; i++)); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ] || return 0
    sleep 0.2
  done
  kill -TERM "$pid" 2>/dev/null || true
  sleep 1
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lxd ]; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

_lxd_undo() {
  local kind=$1
  shift
  case $kind in
    instance) if lxc info "$1" >/dev/null 2>&1; then lxc delete --force "$1" >/dev/null; fi ;;
    image) if lxc image info "$1" >/dev/null 2>&1; then lxc image delete "$1" >/dev/null; fi ;;
    profile)
      if lxc profile show "$1" >/dev/null 2>&1; then lxc profile delete "$1" >/dev/null; fi
      ;;
    profile-device) lxc profile device remove "$1" "$2" >/dev/null 2>&1 || true ;;
    network)
      if lxc network show "$1" >/dev/null 2>&1; then lxc network delete "$1" >/dev/null; fi
      ;;
    pool) if lxc storage show "$1" >/dev/null 2>&1; then lxc storage delete "$1" >/dev/null; fi ;;
    daemon) _lxd_stop_daemon "$1" ;;
    sysctl) sysctl -qw "$1=$2" 2>/dev/null || true ;;  # the interface may be gone
    nft-table-if-empty)
      # LXD leaves an empty `table inet lxd` behind once its networks are gone.
      if nft list table "$1" "$2" >/dev/null 2>&1 &&
        ! nft list table "$1" "$2" | grep -q -E '^\s*(chain|set|map) '; then
        nft delete table "$1" "$2"
      fi
      ;;
    *) echo "lxd: unknown record '$kind $*'" >&2; return 1 ;;
  esac
}

# Undo everything recorded in $LXD_STATE_FILE, newest first.
lxd_cleanup() {
  created_undo "$LXD_STATE_FILE" _lxd_undo
}
