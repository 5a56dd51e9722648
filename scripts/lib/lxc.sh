# shellcheck shell=bash
# Classic LXC bring-up for the demo and the container tests: a bridge of our own (classic LXC
# has no managed network like LXD's), containers from the local busybox template with a static
# address (udhcpc would flush an address LXC set, so the template's init skips DHCP then).
# Everything created is recorded in $LXC_STATE_FILE so that lxc_cleanup removes exactly that.
#
#   source scripts/lib/lxc.sh
#   lxc_ensure_bridge xdplbbr0 10.98.0.1/24 fd42:98::1/64
#   lxc_create_web web1 /var/lib/lxc xdplbbr0 10.98.0.11/24 fd42:98::11/64
#   lxc_start_web web1 /var/lib/lxc
#   ...
#   lxc_cleanup

LXC_STATE_FILE=${LXC_STATE_FILE:-/run/xdplb/lxc-created}
XDPLB_LXC_TEMPLATE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lxc-template-busybox-web

# shellcheck source=SCRIPTDIR/created.sh
source "$(dirname "${BASH_SOURCE[0]}")/created.sh"

# lxc_ensure_bridge BRIDGE CIDR4 [CIDR6]: a Linux bridge with these host addresses.
lxc_ensure_bridge() {
  local bridge=$1 cidr4=$2 cidr6=${3:-}
  if ip link show dev "$bridge" >/dev/null 2>&1; then
    echo "lxc: reusing bridge $bridge"
    return 0
  fi
  # A fixed MAC (as LXD gives its bridges): without one a bridge takes its lowest port's MAC,
  # which changes when a container stops, and the others' ARP entries for the gateway go stale.
  local mac
  mac=$(printf '02:%02x:%02x:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
  ip link add "$bridge" address "$mac" type bridge
  created_record "$LXC_STATE_FILE" bridge "$bridge"
  ip addr add "$cidr4" dev "$bridge"
  # nodad: the address is ours alone on a fresh bridge; no need to wait a second for DAD.
  if [ -n "$cidr6" ]; then ip -6 addr add "$cidr6" dev "$bridge" nodad; fi
  ip link set "$bridge" up
}

# lxc_ensure_lxcpath DIR: create the container directory if missing (recorded).
lxc_ensure_lxcpath() {
  local dir=$1
  [ -d "$dir" ] && return 0
  mkdir -p "$dir"
  created_record "$LXC_STATE_FILE" lxcpath "$dir"
}

# lxc_create_web NAME LXCPATH BRIDGE [IP4/PREFIX [IP6/PREFIX]]: without IP4 the container asks
# for an address by DHCP (e.g. on lxcbr0).
lxc_create_web() {
  local name=$1 lxcpath=$2 bridge=$3 ip4=${4:-} ip6=${5:-} conf
  conf=$(mktemp /tmp/xdplb-lxc-conf.XXXXXX)
  {
    echo "lxc.net.0.type = veth"
    echo "lxc.net.0.link = $bridge"
    echo "lxc.net.0.name = eth0"
    echo "lxc.net.0.flags = up"
    # Random once at creation, then fixed: a new MAC on every start would leave the host's
    # neighbour entry for the static address stale for seconds after a restart.
    echo "lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx"
    # gateway auto = the bridge's address: replies to clients beyond the bridge need a route.
    if [ -n "$ip4" ]; then echo "lxc.net.0.ipv4.address = $ip4"; echo "lxc.net.0.ipv4.gateway = auto"; fi
    if [ -n "$ip6" ]; then echo "lxc.net.0.ipv6.address = $ip6"; echo "lxc.net.0.ipv6.gateway = auto"; fi
    echo "lxc.apparmor.profile = unconfined"
  } >"$conf"
  local rc=0
  lxc-create -P "$lxcpath" -n "$name" -f "$conf" -t "$XDPLB_LXC_TEMPLATE" >/dev/null || rc=$?
  rm -f "$conf"
  if [ "$rc" != 0 ]; then
    echo "lxc: lxc-create of $name under $lxcpath failed" >&2
    return "$rc"
  fi
  created_record "$LXC_STATE_FILE" container "$lxcpath" "$name"
}

# lxc_start_web NAME LXCPATH: start it in the background and wait until it runs.
lxc_start_web() {
  local name=$1 lxcpath=$2
  lxc-start -P "$lxcpath" -n "$name" -d
  lxc-wait -P "$lxcpath" -n "$name" -s RUNNING -t 20
}

# lxc_stop_web NAME LXCPATH: clean stop (SIGPWR to init), killed after 20 s.
lxc_stop_web() {
  lxc-stop -P "$2" -n "$1" -t 20 2>/dev/null || true
}

_lxc_undo() {
  local kind=$1
  shift
  case $kind in
    container)
      if [ -d "$1/$2" ]; then
        lxc-stop -P "$1" -n "$2" -t 10 >/dev/null 2>&1 || true
        lxc-destroy -P "$1" -n "$2" -f >/dev/null
      fi
      ;;
    bridge) if ip link show dev "$1" >/dev/null 2>&1; then ip link del "$1"; fi ;;
    # Only the directory we created, and only once no container is left in it.
    lxcpath)
      if [ -d "$1" ] && [ -z "$(lxc-ls -P "$1" -1 2>/dev/null)" ]; then
        rm -rf --one-file-system "$1"
      fi
      ;;
    *) echo "lxc: unknown record '$kind $*'" >&2; return 1 ;;
  esac
}

# Undo everything recorded in $LXC_STATE_FILE, newest first.
lxc_cleanup() {
  created_undo "$LXC_STATE_FILE" _lxc_undo
}
