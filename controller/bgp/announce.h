// What a node announces, as values: the VIP routes of its services that can serve, and the
// BIRD 2 config include that announces them to the neighbours. Pure (unit-tested without BIRD).
#pragma once

#include <string>
#include <vector>

#include "bgp/bgp_config.h"
#include "core/state.h"

namespace xdplb::bgp {

struct VipRoute {
  IpAddress vip;        // announced as /32 or /128
  std::string service;  // whose VIP it is
  auto operator<=>(const VipRoute&) const = default;
};

// The routes to announce for `state`: each --listen address of every service that announces
// (config.announce) and has a backend of the address's family that takes new flows now
// (takes_new_flows: reachable, not down by health, not drained; panic does not count, so a
// service whose backends all fail their checks here is withdrawn here). A service without --listen
// answers on this node's own addresses, which are no VIP to share: it announces nothing.
// Nothing while `datapath_attached` is false. Sorted, without repeats.
std::vector<VipRoute> vip_routes(const BridgeState& state, const BgpConfig& config, bool datapath_attached = true);

// The include for BIRD 2: router id (if set), a device protocol, one static protocol per
// family holding the routes (blackhole: BIRD exports them, nothing here installs them), and one
// BGP session per neighbour exporting only those routes and importing nothing.
std::string bird_include(const BgpConfig& config, const std::vector<VipRoute>& routes);

}  // namespace xdplb::bgp
