# shellcheck shell=bash
# The root filesystem shared by the LXD image (image.sh) and the classic LXC template
# (lxc-template-busybox-web): busybox-static, a shell /sbin/init that brings up lo and eth0,
# gets an address by DHCP unless the container manager already set one, serves
# "Served from the <hostname> container!" on port 80 with busybox httpd, and exits cleanly on
# SIGPWR (how `lxc stop` and `lxc-stop` ask). The page is written at boot from the hostname, so
# one image serves web1..web4.

_XDPLB_BUSYBOX=${XDPLB_BUSYBOX:-/bin/busybox}

# xdplb_busybox_rootfs DIR: fill DIR (absent or empty) with the web-server root filesystem.
#
# Pitfall: busybox applet links are usually absolute (/bin/busybox), so writing through one
# while building would write into the HOST's file. Here every file is written before any link
# exists, and the links are relative (sbin/ip -> ../bin/busybox), so nothing resolves outside.
xdplb_busybox_rootfs() {
  local root=$1
  if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
    echo "image: $root is not empty" >&2
    return 1
  fi
  if ! "$_XDPLB_BUSYBOX" --list-full >/dev/null 2>&1 || ldd "$_XDPLB_BUSYBOX" >/dev/null 2>&1; then
    echo "image: $_XDPLB_BUSYBOX is not a static busybox (apt-get install busybox-static)" >&2
    return 1
  fi
  mkdir -p "$root"
  (
    cd "$root" || exit 1
    mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev run tmp var/log root www
    chmod 1777 tmp
    install -m 0755 "$_XDPLB_BUSYBOX" bin/busybox
    printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
    printf 'root:x:0:\n' >etc/group
    printf '127.0.0.1 localhost\n::1 localhost\n' >etc/hosts
    _xdplb_write_init >sbin/init
    _xdplb_write_udhcpc_hook >etc/udhcpc.hook
    chmod 0755 sbin/init etc/udhcpc.hook
    # Links last, relative, and never over a file that exists (sbin/init is ours). One perl
    # (Essential in Debian) instead of ~270 `ln` processes: 0.05 s instead of 1.5 s.
    bin/busybox --list-full | perl -ne '
      chomp;
      next unless m{/};
      next if -e $_ || -l $_;
      my $up = join("/", ("..") x (tr{/}{}));
      symlink("$up/bin/busybox", $_) or die "symlink $_: $!\n";
    '
  )
}

_xdplb_write_init() {
  cat <<'INIT'
#!/bin/sh
# PID 1 of the xdplb busybox web container (LXD image and classic LXC template alike).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
[ -e /proc/self ] || mount -t proc proc /proc
name=$(hostname)
echo "Served from the $name container!" >/www/index.html
ip link set lo up
ip link set eth0 up
pids=""
# An address the manager already set (classic LXC's lxc.net.0.ipv4.address) must stay:
# udhcpc's deconfig would flush it.
if ! ip -4 addr show dev eth0 | grep -q ' inet '; then
  udhcpc -f -i eth0 -s /etc/udhcpc.hook -x hostname:"$name" -t 20 -T 1 -A 2 \
    >/var/log/udhcpc.log 2>&1 &
  pids="$pids $!"
fi
httpd -f -p 80 -h /www &
pids="$pids $!"
stop() {
  kill $pids 2>/dev/null
  exit 0
}
trap stop PWR TERM INT
# PID 1 must stay; `wait` is interrupted by the trapped signals (and reaps orphans).
while :; do
  sleep 3600 &
  wait $!
done
INIT
}

_xdplb_write_udhcpc_hook() {
  cat <<'HOOK'
#!/bin/sh
# udhcpc event hook: apply the DHCPv4 lease to the interface.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr add "$ip/${mask:-24}" dev "$interface" 2>/dev/null
    if [ -n "$router" ]; then
      set -- $router
      ip -4 route add default via "$1" dev "$interface" 2>/dev/null
    fi
    ;;
esac
exit 0
HOOK
}

