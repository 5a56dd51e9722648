// What a node announces, as values: the VIP routes of its services that can serve, the return
// routes while its datapath is attached, and the BIRD 2 config includes that announce them to
// the neighbours: the node's (config.include), and one per bridge beside it, so each bridge's
// daemon announces its routes without touching another bridge's. Pure (unit-tested without BIRD).
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

// Everything a bridge announces: its VIPs (vip_routes) and, while its datapath is attached,
// the node's return routes (config.return_routes), whatever its backends' health: the replies
// of flows already placed still need this node's translation when no backend takes new ones,
// and stateless reply translation is the datapath's, not a service's.
struct Announcement {
  std::vector<VipRoute> vips;
  std::vector<Prefix> returns;
  bool empty() const { return vips.empty() && returns.empty(); }
  bool operator==(const Announcement&) const = default;
};
Announcement announcement(const BridgeState& state, const BgpConfig& config, bool datapath_attached);

// The node's include (config.include) for BIRD 2: router id (if set), a device protocol, every
// bridge's include (bridge_include_dir), and one BGP session per neighbour exporting only the
// bridges' routes it takes (Neighbor::vips, ::return_routes) and importing nothing. The same for
// every bridge of the node.
std::string bird_include(const BgpConfig& config);

// Where the bridges' includes are: config.include without its ".conf", plus ".d"
// (/etc/bird/xdplb.conf -> /etc/bird/xdplb.d).
std::string bridge_include_dir(const BgpConfig& config);
// <bridge_include_dir>/<bridge>.conf.
std::string bridge_include_path(const BgpConfig& config, const std::string& bridge);

// A bridge's include: static protocols per family for its VIPs (xdplb_v4_<bridge>,
// xdplb_v6_<bridge>) and its return routes (xdplb_rt4_<bridge>, xdplb_rt6_<bridge>; characters
// a BIRD name cannot hold become '_'), holding the routes as blackholes: BIRD exports them, and
// nothing installs them here as long as this BIRD's kernel protocol (if any) exports none of
// them (a return route 0.0.0.0/0 installed here would cut the node off). Empty protocols when
// nothing is announced.
std::string bird_bridge_include(const std::string& bridge, const Announcement& routes);

// The names of the static protocols above, and of the node's BGP sessions (xdplb_peer<N>).
std::vector<std::string> bridge_protocols(const std::string& bridge);
std::vector<std::string> peer_protocols(const BgpConfig& config);
// Whether BIRD's answer to `show route export PEER` lists a route of one of `protocols`
// (a route line names its protocol as "[NAME " or "[NAME]").
bool lists_route_of(const std::string& show_route, const std::vector<std::string>& protocols);

}  // namespace xdplb::bgp
