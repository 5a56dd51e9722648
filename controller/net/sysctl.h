// Forwarding switches of the calling thread's namespace. The fallback path (XDP_PASS after
// DNAT) needs the kernel to route packets from the uplink to the bridge, and the reply path's
// bpf_fib_lookup() refuses to look up routes for a device that does not forward.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace xdplb::net {

// Whether a 0/1 sysctl under /proc/sys (e.g. "net/ipv4/ip_forward") is on.
Result<bool> sysctl_on(const std::string& key);

// Switch it on; returns whether it was off before (so a caller can say what it changed).
Result<bool> switch_sysctl_on(const std::string& key);

// net.ipv4.ip_forward.
Result<bool> ip_forward_enabled();
Result<bool> enable_ip_forward();

// IPv6 forwarding for one service's interfaces only, never net.ipv6.conf.all.forwarding (that
// would stop every interface, the host's own uplink too, from taking router advertisements):
// `forwarding` on the bridge (the reply path's FIB lookups start there) and `force_forwarding`
// on each uplink (the pass path routes packets that came in on it). Returns the sysctls it
// switched on, for the user.
Result<std::vector<std::string>> enable_ipv6_forwarding(const std::string& bridge,
                                                        const std::vector<std::string>& uplinks);

}  // namespace xdplb::net
