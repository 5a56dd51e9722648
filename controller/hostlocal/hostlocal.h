// Host-local clients: `curl localhost:8000` (or the uplink's or the bridge's address) on the
// host itself never passes an uplink, so XDP cannot balance it. These cgroup socket hooks
// (bpf/xdplb_sock.bpf.c) point such sockets at a backend at connect()/sendmsg() time instead,
// over the same pinned maps (services, ring, backends) as the bridge's datapath.
//
// Scope: the hooks sit on the cgroup v2 root, so they see every process on the machine; the
// BPF side acts only in the network namespace `attach` runs in (its netns cookie goes into the
// program's rodata), whose services these are. Links are pinned next to the datapath's as
// link_hostlocal_*, so Datapath::detach (which unpins every link_*) removes them as well.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/result.h"

namespace xdplb::hostlocal {

// The VIPs only host-local clients use, besides the uplink addresses: 127.0.0.1 and ::1. (The bridge
// address is a VIP for every path: see lb's service_vips callers.)
std::vector<IpAddress> loopback_vips();

// Where the cgroup v2 hierarchy is mounted, read from /proc/mounts (e.g. /sys/fs/cgroup or
// /sys/fs/cgroup/unified on hybrid hosts).
Result<std::string> cgroup2_root();

// The cookie of the calling thread's network namespace (SO_NETNS_COOKIE), as
// bpf_get_netns_cookie() reports it inside the hooks.
Result<uint64_t> current_netns_cookie();

// Loads the hooks over the maps pinned in pin_dir (an attached bridge), attaches them to the
// cgroup v2 root limited to the calling thread's network namespace, pins their links into
// pin_dir. Leaves nothing behind on failure.
Status attach(const std::string& pin_dir);

// Whether the hooks of this bridge are attached (their link pins exist).
bool is_attached(const std::string& pin_dir);

// Detaches and unpins only the host-local links (Datapath::detach removes them too).
Status detach(const std::string& pin_dir);

// The pin file names of the links (link_hostlocal_<hook>), for tests and status.
std::vector<std::string> link_pin_names();

}  // namespace xdplb::hostlocal
