# shellcheck shell=bash
# A tiny offline web-server image from busybox-static: /sbin/init brings up lo and eth0, gets
# an address by DHCP (unless the container manager already set one), serves
# "Served from the <hostname> container!" on port 80 with busybox httpd, and exits cleanly on
# SIGPWR (how `lxc stop` and `lxc-stop` ask). One image serves web1..web4: the page is written
# at boot from the container's hostname.
#
#   source scripts/lib/image.sh
#   xdplb_lxd_image_build /tmp/web.tar.gz        # unified LXD image tarball (~1 MB, ~1 s)
#   xdplb_lxd_image_import /tmp/web.tar.gz web   # recorded for lxd_cleanup
# Classic LXC uses the same rootfs through the template lxc-template-busybox-web (see lxc.sh).

# shellcheck source=SCRIPTDIR/lxd.sh
source "$(dirname "${BASH_SOURCE[0]}")/lxd.sh"
# shellcheck source=SCRIPTDIR/busybox-rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/busybox-rootfs.sh"

# xdplb_lxd_image_build OUT.tar.gz: a unified LXD image (metadata.yaml + rootfs/).
xdplb_lxd_image_build() {
  local out=$1 work
  work=$(mktemp -d /tmp/xdplb-image.XXXXXX)
  if ! xdplb_busybox_rootfs "$work/rootfs"; then
    rm -rf --one-file-system "$work"
    return 1
  fi
  cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: xdplb busybox web backend
  os: busybox
  release: "$("$_XDPLB_BUSYBOX" | head -1 | awk '{print $2}')"
META
  tar -C "$work" --numeric-owner --owner=0 --group=0 -czf "$out" metadata.yaml rootfs
  rm -rf --one-file-system "$work"
}

# xdplb_lxd_image_import TARBALL ALIAS: import it under ALIAS (which must be free).
xdplb_lxd_image_import() {
  local tarball=$1 alias=$2
  if lxc image info "$alias" >/dev/null 2>&1; then
    echo "image: LXD already has an image with alias '$alias'; delete it or choose another" >&2
    return 1
  fi
  lxc image import "$tarball" --alias "$alias" >/dev/null
  created_record "$LXD_STATE_FILE" image "$alias"
}
