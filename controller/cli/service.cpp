// service add / set / remove / list: the services of a bridge, each its ports, protocols,
// addresses, scheduler and affinity, and its own backends.
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "core/parse.h"
#include "core/state.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "observe/shapes.h"

namespace xdplb::cli {

namespace {

using observe::ports_text;
std::string backend_ports_text(const ServiceConfig& s) { return port_range_text(s.backend_port, s.backend_port_end()); }

std::string describe(const ServiceConfig& s) {
  std::string listen;
  for (const auto& a : s.listen) listen += (listen.empty() ? "" : ",") + a.to_string();
  return "service " + s.name + ": port " + ports_text(s) + "/" + name_of(s.protos) + " -> backend port " +
         backend_ports_text(s) + (listen.empty() ? "" : " on " + listen) + ", scheduler " +
         name_of(s.scheduler) + ", affinity " + name_of(s.affinity);
}

}  // namespace

Status apply_service_options(const ServiceOptions& o, ServiceConfig& svc) {
  ServiceConfig s = svc;
  if (o.port) {
    auto p = parse_ports(*o.port);
    if (!p) return make_error("--port: " + p.error());
    s.port = p->first;
    s.port_last = p->last;
  }
  if (o.backend_port) {
    auto p = parse_ports(*o.backend_port);
    if (!p) return make_error("--backend-port: " + p.error());
    s.backend_port = p->first;
    s.backend_port_last = p->last == p->first ? 0 : p->last;
  }
  if (o.proto) {
    auto p = parse_name<ProtoSet>(*o.proto);
    if (!p) return make_error("--proto: " + p.error());
    s.protos = *p;
  }
  if (o.listen) {
    s.listen.clear();
    for (const auto& text : *o.listen) {
      auto a = IpAddress::parse(text);
      if (!a) return make_error("--listen: " + a.error());
      if (std::find(s.listen.begin(), s.listen.end(), *a) == s.listen.end()) s.listen.push_back(*a);
    }
  }
  if (o.scheduler) {
    auto p = parse_scheduler(*o.scheduler);
    if (!p) return make_error("--scheduler: " + p.error());
    s.scheduler = static_cast<Scheduler>(*p);
  }
  if (o.affinity) {
    auto p = parse_name<Affinity>(*o.affinity);
    if (!p) return make_error("--affinity: " + p.error());
    s.affinity = *p;
  }
  // A TCP probe of a port that only speaks UDP would take every backend out.
  if (!s.tcp()) s.health_check.type = CheckType::None;
  svc = std::move(s);
  return {};
}

int run_service_add(const Globals& g, const ServiceArgs& a) {
  if (auto s = check_service_name(a.name); !s) return fail(s.error());
  if (!a.options.port) return fail("service add " + a.name + ": give its port with --port P (or a range P-Q)");
  ServiceConfig checked;
  if (auto s = apply_service_options(a.options, checked); !s) return fail(s.error());
  auto session = open_bridge(g, a.bridge, "service add");
  if (!session) return fail(session.error());
  ServiceConfig made;
  auto done = session->change([&](BridgeState& state, EntryChanges&) -> Status {
    if (find_service(state, a.name))
      return make_error("bridge " + state.bridge + " already has a service '" + a.name +
                        "': change it with `xdplb service set " + a.name + "`");
    auto slot = allocate_service_slot(state);
    if (!slot) return make_error(slot.error());
    ServiceConfig svc;
    svc.name = a.name;
    svc.slot = *slot;
    XDPLB_TRY(apply_service_options(a.options, svc));
    made = svc;
    state.services.push_back(std::move(svc));
    return {};
  });
  if (!done) return fail(done.error());
  std::cout << "added " << describe(made) << " to " << done->bridge
            << "; add backends with `xdplb backend add NAME --service " << made.name << "`\n";
  return 0;
}

int run_service_set(const Globals& g, const ServiceArgs& a) {
  if (auto s = check_service_name(a.name); !s) return fail(s.error());
  ServiceConfig checked;
  if (auto s = apply_service_options(a.options, checked); !s) return fail(s.error());
  auto session = open_bridge(g, a.bridge, "service set");
  if (!session) return fail(session.error());
  ServiceConfig now;
  auto done = session->change([&](BridgeState& state, EntryChanges&) -> Status {
    auto chosen = choose_service(state, a.name);
    if (!chosen) return make_error(chosen.error());
    ServiceConfig& svc = *find_service(state, a.name);
    XDPLB_TRY(apply_service_options(a.options, svc));
    now = svc;
    return {};
  });
  if (!done) return fail(done.error());
  std::cout << "set " << describe(now) << " (flows keep their backend)\n";
  return 0;
}

int run_service_remove(const Globals& g, const ServiceArgs& a) {
  if (auto s = check_service_name(a.name); !s) return fail(s.error());
  auto session = open_bridge(g, a.bridge, "service remove");
  if (!session) return fail(session.error());
  size_t backends = 0;
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    auto chosen = choose_service(state, a.name);
    if (!chosen) return make_error(chosen.error());
    for (const auto& b : state.backends)
      if (b.service == a.name) entries.remove.insert(b.id);
    backends = entries.remove.size();
    std::erase_if(state.backends, [&](const SavedBackend& b) { return b.service == a.name; });
    std::erase_if(state.services, [&](const ServiceConfig& s) { return s.name == a.name; });
    return {};
  });
  if (!done) return fail(done.error());
  std::cout << "removed service " << a.name << " and its " << backends << " backend entries from " << done->bridge
            << "; the other services are untouched\n";
  return 0;
}

int run_service_list(const Globals& g, const ShowArgs& a) {
  auto session = open_bridge(g, a.bridge, "service list");
  if (!session) return fail(session.error());
  auto state = session->load();
  if (!state) return fail(state.error());
  auto defaults = service_addresses(*state, session->link.ifindex, session->host_local);
  if (!defaults) return fail(defaults.error());
  if (a.json) {
    observe::Json out = observe::Json::array();
    for (const auto& s : state->services) out.push_back(observe::service_list_json(*state, s, *defaults));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (state->services.empty()) std::cout << "no services on " << session->bridge << ": `xdplb service add`\n";
  for (const auto& s : state->services) {
    size_t n = 0;
    for (const auto& b : state->backends) n += b.service == s.name;
    std::cout << describe(s) << ", " << n << " backend entries\n";
  }
  return 0;
}

}  // namespace xdplb::cli
