// Bridge forwarding database (RTM_GETNEIGH, AF_BRIDGE): which bridge port a MAC sits behind.
// The fast path redirects straight into that port (the backend's host-side veth).
#pragma once

#include "core/mac.h"
#include "core/result.h"

namespace xdplb::net {

// The ifindex of the port of `bridge_ifindex` that learned (or was configured with) `mac`.
// Errors if the bridge has no entry for it — traffic from that MAC has not been seen yet.
Result<int> bridge_port_for_mac(int bridge_ifindex, const Mac& mac);

}  // namespace xdplb::net
