// status / backend list: what is attached where, the service, each backend with its counters
// and forwarding path, and the datapath's named outcomes — as text or JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <iostream>

#include "bgp/announce.h"
#include "bgp/store.h"
#include "cli/commands.h"
#include "core/reasons.h"
#include "core/ring_checksum.h"
#include "core/state.h"
#include "datapath/flow_census.h"
#include "datapath/datapath.h"
#include "hostlocal/hostlocal.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "lb/plan.h"
#include "net/link.h"
#include "observe/shapes.h"
#include "observe/snapshot.h"

namespace xdplb::cli {

namespace {

using json = observe::Json;

// The checksum of the ring the datapath holds for a service's pool of `family`: its members
// and weights as written (the daemon's slow start included), named by their keys.
Result<std::string> ring_checksum_of(Datapath& dp, const BridgeState& state, const ServiceConfig& svc, int family) {
  auto members = dp.pool_members(pool_of_service(svc, family));
  if (!members) return make_error(members.error());
  std::vector<MaglevBackend> ring_input;
  for (const auto& m : *members) {
    auto b = std::find_if(state.backends.begin(), state.backends.end(),
                          [&](const SavedBackend& s) { return s.id == m.id; });
    ring_input.push_back({m.id, b != state.backends.end() ? maglev_key(*b) : "id " + std::to_string(m.id), m.weight});
  }
  auto sum = ring_checksum(std::move(ring_input));
  if (!sum) return make_error("the ring of service '" + svc.name + "': " + sum.error());
  return checksum_text(*sum);
}

// The whole picture of one bridge, gathered once and printed as text or JSON.
Result<json> gather(const Globals& g, const std::string& bridge) {
  auto saved = load_state(g.state_dir(), bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value()) return make_error("no saved state for " + bridge);
  auto dp = Datapath::open(g.pin_dir(bridge));
  if (!dp) return make_error(dp.error());
  auto snap = observe::take_snapshot(**dp, std::move(**saved));
  if (!snap) return make_error(snap.error());
  const BridgeState& state = snap->state;

  json out;
  out["bridge"] = bridge;
  out["pin_dir"] = g.pin_dir(bridge);
  out["state_file"] = state_file(g.state_dir(), bridge);
  out["uplinks"] = json::array();
  for (const auto& [name, mode] : state.xdp_modes)
    out["uplinks"].push_back({{"name", name}, {"xdp_mode", name_of(mode)}});
  auto bridge_link = net::get_link(bridge);
  const bool host_local = hostlocal::is_attached(g.pin_dir(bridge));
  std::vector<IpAddress> defaults;
  if (auto v = bridge_link ? service_addresses(state, bridge_link->ifindex, host_local)
                           : service_vips(state.uplinks))
    defaults = *v;
  out["services"] = json::array();
  for (const auto& svc : state.services) {
    json shown = observe::service_status_json(svc, defaults, in_panic(state, svc, 4) || in_panic(state, svc, 6));
    for (int family : {4, 6}) {
      auto sum = ring_checksum_of(**dp, state, svc, family);
      if (!sum) return make_error(sum.error());
      shown[family == 4 ? "ring_checksum" : "ring_checksum_v6"] = *sum;
    }
    out["services"].push_back(std::move(shown));
  }
  // The first service, as before there were several (scripts read .service).
  out["service"] = out["services"].empty() ? json::object() : out["services"][0];
  auto bgp_config = bgp::load_bgp(g.state_dir());
  if (!bgp_config) return make_error(bgp_config.error());
  if (*bgp_config) {
    // What this node's daemon announces for this state (it does so while it runs).
    // status reads an attached datapath: the return routes are announced with it.
    const auto a = bgp::announcement(state, **bgp_config, /*datapath_attached=*/true);
    json routes = json::array(), returns = json::array();
    for (const auto& r : a.vips) routes.push_back({{"vip", r.vip.to_string()}, {"service", r.service}});
    for (const auto& p : a.returns) returns.push_back(p.to_string());
    out["bgp"] = bgp::to_json(**bgp_config);
    out["bgp"]["announced"] = routes;
    out["bgp"]["announced_return_routes"] = returns;
  }
  out["host_local"] = host_local;
  out["flows"] = snap->flows;
  out["flow_table_size"] = snap->flow_table_size;
  out["syn_table_size"] = snap->syn_table_size;
  out["hairpin_flows"] = snap->hairpin_flows;
  out["hairpin_table_size"] = snap->hairpin_table_size;
  out["backends"] = json::array();
  for (const auto& b : state.backends) out["backends"].push_back(observe::backend_json(b, snap->backends[b.id]));
  // The stateless reply endpoints as the map holds them (it is what the datapath does), each
  // with the VIP:ports the plan has claim it (why an ambiguous one is dropped).
  auto nats = (*dp)->reply_nats();
  if (!nats) return make_error(nats.error());
  const auto plan = plan_maps(state, defaults);
  out["reply_nats"] = json::array();
  for (const auto& [endpoint, nat] : *nats) {
    std::vector<ServiceKey> serves;
    if (plan) {
      if (auto c = plan->reply_nat_claims.find(endpoint); c != plan->reply_nat_claims.end()) serves = c->second;
    }
    out["reply_nats"].push_back(observe::reply_nat_json(endpoint, nat, serves));
  }
  json reasons = json::object();
  for (unsigned i = 0; i < snap->reasons.size(); ++i) reasons[reason_info(i).name] = snap->reasons[i];
  out["reasons"] = reasons;
  return out;
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

void print_backends(const json& s) {
  std::printf("  %-4s %-10s %-22s %-9s %-14s %6s %12s %11s %9s %-9s %7s %6s\n", "ID", "SERVICE", "BACKEND", "PATH",
              "VIA", "WEIGHT", "PACKETS", "BYTES", "FLOWS", "STATE", "ACTIVE", "CONNS");
  for (const auto& b : s["backends"]) {
    std::string who = b["name"].get<std::string>().empty()
                          ? b["address"].get<std::string>() + ":" + std::to_string(b["port"].get<int>())
                          : b["name"].get<std::string>() +
                                (b["address"].get<std::string>().find(':') != std::string::npos ? " (IPv6)" : "");
    // up / down (health or container) / draining (drained, flows still active) / drained.
    const std::string health = b.value("health", "");
    const bool drained = b.value("drained", false);
    const uint64_t active = b.value("active_flows", uint64_t{0});
    std::string st = b["path"] == "down" || health == "down" ? "down"
                     : drained ? (active ? "draining" : "drained")
                     : health.empty() ? "unchecked" : "up";
    if (b.value("backup", false)) st += b.value("in_ring", false) ? " (backup, serving)" : " (backup)";
    std::printf("  %-4u %-10s %-22s %-9s %-14s %6u %12llu %11s %9llu %-9s %7llu %6lld\n", b["id"].get<unsigned>(),
                b.value("service", "").c_str(), who.c_str(), b["path"].get<std::string>().c_str(),
                b["via"].get<std::string>().empty() ? "-" : b["via"].get<std::string>().c_str(),
                b["weight"].get<unsigned>(), (unsigned long long)b["packets"].get<uint64_t>(),
                human_bytes(b["bytes"].get<uint64_t>()).c_str(),
                (unsigned long long)b["new_flows"].get<uint64_t>(), st.c_str(),
                (unsigned long long)active, (long long)b.value("connections", int64_t{0}));
    if (!health.empty() && !b.value("health_reason", "").empty())
      std::printf("       health: %s\n", b["health_reason"].get<std::string>().c_str());
  }
  std::printf("  (FLOWS: flows placed since attach; ACTIVE: flows with a packet in the last %lld s;\n"
              "   CONNS: open connections as least-conn counts them, see README \"Schedulers\")\n",
              static_cast<long long>(kRecentFlowWindow.count()));
  if (s["backends"].empty()) std::printf("  (no backends: `xdplb backend add ADDR`)\n");
}

// The routed backends' endpoints whose replies (and ICMP errors) without a reverse entry this
// node translates, or drops as ambiguous.
void print_reply_nats(const json& nats) {
  if (nats.empty()) return;
  std::printf("stateless reply endpoints (routed backends' replies no reverse entry knows):\n");
  for (const auto& n : nats) {
    const auto& serves = n["serves"];
    std::string claims;
    for (size_t i = 0; i < serves.size() && i < 8; ++i) claims += (i ? ", " : "") + serves[i].get<std::string>();
    if (serves.size() > 8) claims += ", ... (" + std::to_string(serves.size()) + " in all)";
    const std::string endpoint = Endpoint{*IpAddress::parse(n["backend"].get<std::string>()), n["port"].get<uint16_t>()}
                                     .to_string() + "/" + n["proto"].get<std::string>();
    if (n["ambiguous"].get<bool>())
      std::printf("  %-28s -> ambiguous: dropped (serves %s)\n", endpoint.c_str(), claims.empty() ? "?" : claims.c_str());
    else
      std::printf("  %-28s -> %s\n", endpoint.c_str(),
                  Endpoint{*IpAddress::parse(n["vip"].get<std::string>()), n["vport"].get<uint16_t>()}.to_string().c_str());
  }
}

void print_status(const json& s) {
  std::printf("bridge %s (pins %s)\n", s["bridge"].get<std::string>().c_str(),
              s["pin_dir"].get<std::string>().c_str());
  for (const auto& u : s["uplinks"])
    std::printf("  uplink   %s: XDP %s\n", u["name"].get<std::string>().c_str(),
                u["xdp_mode"].get<std::string>().c_str());
  std::printf("  replies  TC ingress on %s\n", s["bridge"].get<std::string>().c_str());
  std::printf("  host     %s\n", s["host_local"].get<bool>()
                                     ? "cgroup socket hooks on (clients on this host are balanced)"
                                     : "off (attached with --no-host-local)");
  for (const auto& svc : s["services"]) {
    std::string vips;
    for (const auto& v : svc["vips"]) vips += (vips.empty() ? "" : ", ") + v.get<std::string>();
    const std::string ports = port_range_text(svc["port"].get<uint16_t>(), svc["port_last"].get<uint16_t>());
    const std::string backend_ports =
        port_range_text(svc["backend_port"].get<uint16_t>(), svc["backend_port_last"].get<uint16_t>());
    std::printf("  service  %s: %s port %s/%s -> backend port %s (scheduler %s, affinity %s, checks %s)\n",
                svc["name"].get<std::string>().c_str(), vips.c_str(), ports.c_str(),
                svc["proto"].get<std::string>().c_str(), backend_ports.c_str(),
                svc["scheduler"].get<std::string>().c_str(), svc["affinity"].get<std::string>().c_str(),
                svc["health_check"].get<std::string>().c_str());
    std::printf("           ring checksum %s (IPv4), %s (IPv6): nodes that show the same place flows alike\n",
                svc["ring_checksum"].get<std::string>().c_str(), svc["ring_checksum_v6"].get<std::string>().c_str());
    if (svc["panic"].get<bool>())
      std::printf("           PANIC: fewer than %u%% of its backends are healthy; health is ignored, all take new flows\n",
                  svc["panic_threshold"].get<unsigned>());
  }
  if (s.contains("bgp")) {
    const auto& b = s["bgp"];
    std::string peers, vips, returns;
    for (const auto& n : b["neighbors"]) {
      std::string exports;
      for (const auto& e : n["exports"]) exports += (exports.empty() ? "" : "+") + e.get<std::string>();
      peers += (peers.empty() ? "" : ", ") + n["address"].get<std::string>() + " AS " +
               std::to_string(n["asn"].get<uint32_t>()) + " (" + exports + ")";
    }
    for (const auto& r : b["announced"])
      vips += (vips.empty() ? "" : ", ") + r["vip"].get<std::string>() + " (" + r["service"].get<std::string>() + ")";
    for (const auto& p : b["announced_return_routes"]) returns += (returns.empty() ? "" : ", ") + p.get<std::string>();
    std::printf("  bgp      AS %u, neighbours %s, BIRD at %s\n", b["asn"].get<uint32_t>(), peers.c_str(),
                b["bird_socket"].get<std::string>().c_str());
    std::printf("           announces %s (while the daemon runs)\n", vips.empty() ? "nothing" : vips.c_str());
    if (!returns.empty())
      std::printf("           return routes %s (while attached; withdrawn %lld ms before a detach)\n", returns.c_str(),
                  static_cast<long long>(b["withdraw_hold_ms"].get<int64_t>()));
  }
  std::printf("  flows    %llu in the flow table of %u (SYN-only flows' replies: a table of %u)\n",
              (unsigned long long)s["flows"].get<uint64_t>(), s["flow_table_size"].get<unsigned>(),
              s["syn_table_size"].get<unsigned>());
  std::printf("backends:\n");
  print_backends(s);
  print_reply_nats(s["reply_nats"]);
  std::printf("datapath outcomes (packets since attach):\n");
  for (unsigned i = 0; i < XDPLB_R_MAX; ++i) {
    const auto& info = reason_info(i);
    std::printf("  %-20s %12llu  %s\n", info.name,
                (unsigned long long)s["reasons"][info.name].get<uint64_t>(), info.meaning);
  }
}

}  // namespace

int run_status(const Globals& g, const ShowArgs& a) {
  if (auto s = require_root("status"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto s = gather(g, *bridge);
  if (!s) return fail(s.error());
  if (a.json)
    std::cout << s->dump(2) << "\n";
  else
    print_status(*s);
  return 0;
}

int run_backend_list(const Globals& g, const ShowArgs& a) {
  if (auto s = require_root("backend list"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto s = gather(g, *bridge);
  if (!s) return fail(s.error());
  if (a.json) {
    std::cout << (*s)["backends"].dump(2) << "\n";
    return 0;
  }
  std::printf("backends of %s:\n", bridge->c_str());
  print_backends(*s);
  for (const auto& b : (*s)["backends"])
    std::printf("  id %u %s path: %s\n", b["id"].get<unsigned>(), b["path"].get<std::string>().c_str(),
                b["path_reason"].get<std::string>().c_str());
  return 0;
}

}  // namespace xdplb::cli
