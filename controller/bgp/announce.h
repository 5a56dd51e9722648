// What a node announces, as values: the VIP routes of its services that can serve, and the
// BIRD 2 config includes that announce them to the neighbours: the node's (config.include), and
// one per bridge beside it, so each bridge's daemon announces its VIPs without touching another
// bridge's. Pure (unit-tested without BIRD).
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

// The node's include (config.include) for BIRD 2: router id (if set), a device protocol, every
// bridge's include (bridge_include_dir), and one BGP session per neighbour exporting only the
// bridges' routes and importing nothing. The same for every bridge of the node.
std::string bird_include(const BgpConfig& config);

// Where the bridges' includes are: config.include without its ".conf", plus ".d"
// (/etc/bird/xdplb.conf -> /etc/bird/xdplb.d).
std::string bridge_include_dir(const BgpConfig& config);
// <bridge_include_dir>/<bridge>.conf.
std::string bridge_include_path(const BgpConfig& config, const std::string& bridge);

// A bridge's include: one static protocol per family (xdplb_v4_<bridge>, xdplb_v6_<bridge>;
// characters a BIRD name cannot hold become '_') holding its routes (blackhole: BIRD exports
// them, nothing here installs them). Empty protocols when nothing is announced.
std::string bird_bridge_include(const std::string& bridge, const std::vector<VipRoute>& routes);

}  // namespace xdplb::bgp
