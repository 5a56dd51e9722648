// IPv4 forwarding (net.ipv4.ip_forward) of the calling thread's namespace: the fallback path
// (XDP_PASS after DNAT) needs the kernel to route packets from the uplink to the bridge.
#pragma once

#include "core/result.h"

namespace xdplb::net {

Result<bool> ip_forward_enabled();

// Switch it on; returns whether it was off before (so a caller can say what it changed).
Result<bool> enable_ip_forward();

}  // namespace xdplb::net
