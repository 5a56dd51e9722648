#!/usr/bin/env bash
# Installs every Debian 12 package xdplb needs to build, test and run its demo.
# Safe to run again; needs root.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then echo "install-deps.sh: run as root (apt-get needs it)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
# LXD's preinst needs these to exist (empty is fine).
touch /etc/subuid /etc/subgid
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake ccache git pkg-config clang llvm libclang-rt-14-dev gcc-multilib linux-libc-dev \
  libbpf-dev bpftool libmnl-dev lxc-dev libcli11-dev libspdlog-dev libgtest-dev \
  nlohmann-json3-dev libyaml-cpp-dev libsystemd-dev help2man bash-completion man-db \
  iproute2 ethtool iptables nftables curl socat jq busybox-static nginx-light wrk \
  lxc lxd lxd-client squashfs-tools procps psmisc gnuplot-nox python3-pytest
# Prometheus and promtool: tests/e2e/test_observe.py starts its own server (temp config and
# data dir, on a test namespace's loopback) to scrape the daemon's /metrics; the package's own
# system service is not needed by anything here.
apt-get install -y --no-install-recommends prometheus
# BIRD 2: tests/e2e/test_scaleout.py runs its own bird instances (own config, control socket and
# pid file) inside test namespaces; xdplb's daemon drives an operator's bird through its control
# socket. The package's system instance is not needed here: keep it from running.
apt-get install -y --no-install-recommends bird2
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now bird.service || true
fi
