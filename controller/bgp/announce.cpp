#include "bgp/announce.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "lb/plan.h"

namespace xdplb::bgp {

std::vector<VipRoute> vip_routes(const BridgeState& state, const BgpConfig& config, bool datapath_attached) {
  std::vector<VipRoute> out;
  if (!datapath_attached) return out;
  for (const auto& svc : state.services) {
    if (!config.announces(svc.name)) continue;
    // takes_new_flows, not pool_backends: a pool in panic serves on backends that failed their
    // checks, but when none passes, another node that has one should take the flows.
    bool serves4 = false, serves6 = false;
    for (const auto& b : state.backends)
      if (b.service == svc.name && takes_new_flows(b)) (b.family == 6 ? serves6 : serves4) = true;
    for (const auto& vip : svc.listen)
      if (vip.is_v6() ? serves6 : serves4) out.push_back({vip, svc.name});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end(), [](const VipRoute& a, const VipRoute& b) { return a.vip == b.vip; }),
            out.end());
  return out;
}

namespace {

// The static protocol of a bridge and family: a BIRD symbol (letters, digits, '_').
std::string static_name(const std::string& bridge, bool v6) {
  std::string out = v6 ? "xdplb_v6_" : "xdplb_v4_";
  for (char c : bridge) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void static_protocol(std::ostringstream& o, const std::string& bridge, bool v6, const std::vector<VipRoute>& routes) {
  o << "protocol static " << static_name(bridge, v6) << " {\n  " << (v6 ? "ipv6" : "ipv4") << ";\n";
  for (const auto& r : routes)
    if (r.vip.is_v6() == v6)
      o << "  route " << r.vip.to_string() << (v6 ? "/128" : "/32") << " blackhole;  # service " << r.service << "\n";
  o << "}\n";
}

}  // namespace

std::string bridge_include_dir(const BgpConfig& config) {
  std::string base = config.include;
  if (base.size() > 5 && base.ends_with(".conf")) base.resize(base.size() - 5);
  return base + ".d";
}

std::string bridge_include_path(const BgpConfig& config, const std::string& bridge) {
  return bridge_include_dir(config) + "/" + bridge + ".conf";
}

std::string bird_bridge_include(const std::string& bridge, const std::vector<VipRoute>& routes) {
  std::ostringstream o;
  o << "# Written by xdplb: the VIPs bridge " << bridge << " announces. Do not edit; xdplb rewrites it.\n";
  static_protocol(o, bridge, false, routes);
  static_protocol(o, bridge, true, routes);
  return o.str();
}

std::string bird_include(const BgpConfig& config) {
  std::ostringstream o;
  o << "# Written by xdplb: this node's BGP sessions; each bridge's VIPs are in "
    << bridge_include_dir(config) << ". Do not edit; xdplb rewrites it.\n";
  if (config.router_id.is_v4()) o << "router id " << config.router_id.to_string() << ";\n";
  o << "protocol device xdplb_device {\n}\n";
  o << "include \"" << bridge_include_dir(config) << "/*.conf\";\n";
  for (size_t i = 0; i < config.neighbors.size(); ++i) {
    const Neighbor& n = config.neighbors[i];
    const bool v6 = n.address.is_v6();
    o << "protocol bgp xdplb_peer" << i + 1 << " {\n"
      << "  local as " << config.asn << ";\n"
      << "  neighbor " << n.address.to_string() << " as " << n.asn << ";\n"
      << "  " << (v6 ? "ipv6" : "ipv4") << " {\n"
      << "    import none;\n"
      << "    export where proto ~ \"" << (v6 ? "xdplb_v6_*" : "xdplb_v4_*") << "\";\n"
      << "  };\n"
      << "}\n";
  }
  return o.str();
}

}  // namespace xdplb::bgp
