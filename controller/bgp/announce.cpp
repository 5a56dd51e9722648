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

Announcement announcement(const BridgeState& state, const BgpConfig& config, bool datapath_attached) {
  Announcement a{vip_routes(state, config, datapath_attached), {}};
  if (datapath_attached) a.returns = config.return_routes;
  std::sort(a.returns.begin(), a.returns.end());
  a.returns.erase(std::unique(a.returns.begin(), a.returns.end()), a.returns.end());
  return a;
}

namespace {

// The name prefixes of a bridge's static protocols: VIPs and return routes, per family.
constexpr const char* kVip4 = "xdplb_v4_";
constexpr const char* kVip6 = "xdplb_v6_";
constexpr const char* kReturn4 = "xdplb_rt4_";
constexpr const char* kReturn6 = "xdplb_rt6_";

// A static protocol's name: a BIRD symbol (letters, digits, '_').
std::string static_name(const char* kind, const std::string& bridge) {
  std::string out = kind;
  for (char c : bridge) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void static_protocol(std::ostringstream& o, const std::string& name, bool v6, const std::vector<std::string>& lines) {
  o << "protocol static " << name << " {\n  " << (v6 ? "ipv6" : "ipv4") << ";\n";
  for (const auto& l : lines) o << "  " << l << "\n";
  o << "}\n";
}

// A neighbour's export filter: the bridges' protocols of its family that it takes.
std::string export_filter(const Neighbor& n) {
  const bool v6 = n.address.is_v6();
  std::vector<std::string> kinds;
  if (n.vips) kinds.push_back(v6 ? kVip6 : kVip4);
  if (n.return_routes) kinds.push_back(v6 ? kReturn6 : kReturn4);
  std::string out = "export where ";
  for (size_t i = 0; i < kinds.size(); ++i) out += (i ? " || " : "") + std::string("proto ~ \"") + kinds[i] + "*\"";
  return kinds.empty() ? "export none" : out;
}

}  // namespace

std::vector<std::string> bridge_protocols(const std::string& bridge) {
  return {static_name(kVip4, bridge), static_name(kVip6, bridge), static_name(kReturn4, bridge),
          static_name(kReturn6, bridge)};
}

std::vector<std::string> peer_protocols(const BgpConfig& config) {
  std::vector<std::string> out;
  for (size_t i = 0; i < config.neighbors.size(); ++i) out.push_back("xdplb_peer" + std::to_string(i + 1));
  return out;
}

bool lists_route_of(const std::string& show_route, const std::vector<std::string>& protocols) {
  for (const auto& p : protocols)
    for (const char end : {' ', ']'})
      if (show_route.find("[" + p + end) != std::string::npos) return true;
  return false;
}

std::string bridge_include_dir(const BgpConfig& config) {
  std::string base = config.include;
  if (base.size() > 5 && base.ends_with(".conf")) base.resize(base.size() - 5);
  return base + ".d";
}

std::string bridge_include_path(const BgpConfig& config, const std::string& bridge) {
  return bridge_include_dir(config) + "/" + bridge + ".conf";
}

std::string bird_bridge_include(const std::string& bridge, const Announcement& routes) {
  std::ostringstream o;
  o << "# Written by xdplb: the VIPs and return routes bridge " << bridge
    << " announces. Do not edit; xdplb rewrites it.\n";
  for (const bool v6 : {false, true}) {
    std::vector<std::string> lines;
    for (const auto& r : routes.vips)
      if (r.vip.is_v6() == v6)
        lines.push_back("route " + r.vip.to_string() + (v6 ? "/128" : "/32") + " blackhole;  # service " + r.service);
    static_protocol(o, static_name(v6 ? kVip6 : kVip4, bridge), v6, lines);
  }
  for (const bool v6 : {false, true}) {
    std::vector<std::string> lines;
    for (const auto& p : routes.returns)
      if (p.addr.is_v6() == v6) lines.push_back("route " + p.to_string() + " blackhole;  # return route");
    static_protocol(o, static_name(v6 ? kReturn6 : kReturn4, bridge), v6, lines);
  }
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
      << "    " << export_filter(n) << ";\n"
      << "  };\n"
      << "}\n";
  }
  return o.str();
}

}  // namespace xdplb::bgp
