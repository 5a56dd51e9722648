// status / backend list: what is attached where, the service, each backend with its counters
// and forwarding path, and the datapath's named outcomes — as text or JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <iostream>

#include "cli/commands.h"
#include "core/reasons.h"
#include "core/state.h"
#include "datapath/flow_census.h"
#include "datapath/datapath.h"
#include "hostlocal/hostlocal.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "net/link.h"

namespace xdplb::cli {

namespace {

using nlohmann::json;

// The whole picture of one bridge, gathered once and printed as text or JSON.
Result<json> gather(const Globals& g, const std::string& bridge) {
  auto saved = load_state(g.state_dir(), bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value()) return make_error("no saved state for " + bridge);
  const BridgeState& state = **saved;
  auto dp = Datapath::open(g.pin_dir(bridge));
  if (!dp) return make_error(dp.error());

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
  std::set<uint32_t> in_pool;  // backends taking new flows (backups only while no primary can)
  out["services"] = json::array();
  for (const auto& svc : state.services) {
    json vips = json::array();
    for (const auto& vip : service_listen(svc, defaults)) vips.push_back(vip.to_string());
    for (int family : {4, 6})
      for (const SavedBackend* b : pool_backends(state, svc, family)) in_pool.insert(b->id);
    out["services"].push_back({{"name", svc.name},
                               {"vips", vips},
                               {"port", svc.port},
                               {"port_last", svc.port_last},
                               {"proto", name_of(svc.protos)},
                               {"backend_port", svc.backend_port},
                               {"backend_port_last", svc.backend_port_end()},
                               {"scheduler", name_of(svc.scheduler)},
                               {"affinity", name_of(svc.affinity)},
                               {"health_check", name_of(svc.health_check.type)},
                               {"ring_size", XDPLB_MAGLEV_RING_SIZE}});
  }
  // The first service, as before there were several (scripts read .service).
  out["service"] = out["services"].empty() ? json::object() : out["services"][0];
  out["host_local"] = host_local;
  auto flows = (*dp)->flow_count();
  out["flows"] = flows ? *flows : 0;
  out["flow_table_size"] = (*dp)->flow_table_size();
  out["backends"] = json::array();
  auto census = flows_per_backend(**dp);  // flows per backend, and those active lately
  std::map<uint32_t, uint32_t> placement;  // id -> weight in the member list now (slow start)
  for (const auto& svc : state.services)
    for (int family : {4, 6})
      if (auto members = (*dp)->pool_members(pool_of_service(svc, family)))
        for (const auto& m : *members) placement[m.id] = m.weight;
  for (const auto& b : state.backends) {
    auto c = (*dp)->backend_counters(b.id);
    BackendCounters counters = c ? *c : BackendCounters{};
    auto conns = (*dp)->active_connections(b.id);
    out["backends"].push_back({{"id", b.id},
                               {"service", b.service},
                               {"name", b.name},
                               {"source", name_of(b.source)},
                               {"address", b.addr.family ? b.addr.to_string() : ""},
                               {"port", b.port},
                               {"weight", b.weight},
                               {"placement_weight", placement.count(b.id) ? placement[b.id] : 0},
                               {"path", name_of(b.path)},
                               {"via", b.via},
                               {"path_reason", b.path_reason},
                               {"packets", counters.packets},
                               {"bytes", counters.bytes},
                               {"new_flows", counters.new_flows},
                               {"connections", conns ? std::max<int64_t>(*conns, 0) : 0},
                               {"drained", b.drained},
                               {"health", name_of(b.health)},
                               {"backup", b.backup},
                               {"health_reason", b.health_reason},
                               {"in_ring", in_pool.count(b.id) > 0},
                               {"flow_entries", census && census->count(b.id) ? census->at(b.id).total : 0},
                               {"active_flows", census && census->count(b.id) ? census->at(b.id).recent : 0}});
  }
  json reasons = json::object();
  if (auto r = (*dp)->reason_counters()) {
    for (unsigned i = 0; i < r->size(); ++i) reasons[reason_info(i).name] = (*r)[i];
  }
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
  }
  std::printf("  flows    %llu in the flow table of %u\n", (unsigned long long)s["flows"].get<uint64_t>(),
              s["flow_table_size"].get<unsigned>());
  std::printf("backends:\n");
  print_backends(s);
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
