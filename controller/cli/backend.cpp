// backend add / remove: change a bridge's pool, in the saved state and in the live maps.
#include <sys/socket.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "containers/container_info.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "net/address.h"
#include "net/link.h"

namespace xdplb::cli {

namespace {

// Checks the arguments of `backend add` that need no state; fills what it parsed.
Status check_add_args(const BackendArgs& a, uint32_t& weight) {
  auto w = parse_weight(a.weight);
  if (!w) return make_error("--weight: " + w.error());
  weight = *w;
  if (auto src = parse_container_source(a.source); !src) return make_error("--source: " + src.error());
  if (a.wait_seconds < 0 || a.wait_seconds > 300)
    return make_error("--wait: give seconds from 0 to 300");
  if (looks_like_address(a.target)) {
    auto ep = parse_endpoint(a.target, 80);
    if (!ep) return make_error(ep.error());
    return {};
  }
  return check_container_name(a.target);
}

std::chrono::milliseconds wait_of(const BackendArgs& a) {
  return std::chrono::milliseconds(static_cast<long>(a.wait_seconds * 1000));
}

}  // namespace

std::vector<int> bridge_families(const net::LinkInfo& bridge) {
  auto addrs = net::link_addresses(bridge.ifindex, AF_UNSPEC);
  bool v4 = false, v6 = false;
  if (addrs)
    for (const auto& a : *addrs) (a.address.is_v6() ? v6 : v4) = true;
  std::vector<int> families;
  if (v4 || !v6) families.push_back(4);
  if (v6) families.push_back(6);
  return families;
}

int run_backend_add(const Globals& g, const BackendArgs& a) {
  uint32_t weight = 1;
  if (auto s = check_add_args(a, weight); !s) return fail(s.error());
  auto session = open_bridge(g, a.bridge, "backend add");
  if (!session) return fail(session.error());
  std::vector<SavedBackend> added;
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    auto chosen = choose_service(state, a.service);
    if (!chosen) return make_error(chosen.error());
    const ServiceConfig& svc = **chosen;
    SavedBackend proto;
    proto.service = svc.name;
    proto.weight = weight;
    proto.backup = a.backup;
    proto.fast_path_disabled = a.no_fast_path;
    std::vector<int> families;
    if (looks_like_address(a.target)) {
      auto ep = parse_endpoint(a.target, svc.backend_port);
      if (!ep) return make_error(ep.error());
      proto.addr = ep->addr;
      proto.port = ep->port;
      families = {ep->addr.is_v6() ? 6 : 4};
    } else {
      proto.name = a.target;
      // Auto becomes Lxd or Lxc when resolve_backend finds the container.
      const auto src = *parse_container_source(a.source);  // checked by check_add_args
      proto.source = src == ContainerSource::Lxd ? BackendSource::Lxd
                     : src == ContainerSource::Lxc ? BackendSource::Lxc : BackendSource::Auto;
      proto.lxcpath = a.lxcpath;
      proto.port = svc.backend_port;
      families = bridge_families(session->link);
    }
    if (auto dup = find_backends(state, svc, a.target); dup) {
      const SavedBackend& d = state.backends[dup->front()];
      return make_error(describe(d) + " is already a backend of " +
                        (state.services.size() > 1 ? "service " + svc.name + " of " : "") + state.bridge +
                        " (id " + std::to_string(d.id) + "); to change it, remove it first");
    }
    // A container is one entry per family of its bridge. If one family cannot be installed
    // (an IPv6 address that has not come up yet) the other still serves, and that one is kept
    // as down for `backend refresh` or the daemon to bring in; if none can, nothing changes.
    std::vector<std::string> errors;
    for (int family : families) {
      SavedBackend b = proto;
      b.family = family;
      auto id = allocate_backend_id(state);
      if (!id) return make_error(id.error());
      b.id = *id;
      entries.new_ids.insert(b.id);
      if (auto plan = resolve_backend(session->link, b, wait_of(a)); plan) {
        for (const auto& other : state.backends)
          if (other.service == svc.name && other.addr == b.addr && other.port == b.port)
            return make_error(describe(b) + " has the same address as backend " + describe(other) +
                              ": remove that one first");
        entries.put[b.id] = plan->entry;
      } else {
        errors.push_back(plan.error());
        mark_down(b, plan.error(), entries);
      }
      state.backends.push_back(b);
      added.push_back(b);
    }
    if (errors.size() == families.size()) {
      std::string why = errors.front();
      for (size_t i = 1; i < errors.size(); ++i)  // a stopped or unknown container: said once
        if (std::find(errors.begin(), errors.begin() + static_cast<long>(i), errors[i]) ==
            errors.begin() + static_cast<long>(i))
          why += "; " + errors[i];
      return make_error("backend " + a.target + ": " + why);
    }
    return {};
  });
  if (!done) return fail(done.error());
  const std::string where = (done->services.size() > 1 ? "service " + added.front().service + " of " : "") + done->bridge;
  for (const auto& b : added) {
    if (b.path == BackendPath::Down)
      std::cout << "added backend " << describe(b) << " to " << where << " (id " << b.id
                << ") as down for now: " << b.path_reason
                << "; `xdplb backend refresh " << b.name << "` or the daemon brings it in\n";
    else
      std::cout << "added " << (b.backup ? "backup " : "") << "backend " << describe(b) << " to " << where
                << " (id " << b.id << ", weight " << b.weight << ", " << name_of(b.path) << " path"
                << (b.via.empty() ? "" : " via " + b.via) << ": " << b.path_reason << ")\n";
  }
  return 0;
}

int run_backend_remove(const Globals& g, const BackendArgs& a) {
  if (looks_like_address(a.target)) {
    if (auto ep = parse_endpoint(a.target, 80); !ep) return fail(ep.error());
  } else if (auto s = check_container_name(a.target); !s) {
    return fail(s.error());
  }
  auto session = open_bridge(g, a.bridge, "backend remove");
  if (!session) return fail(session.error());
  std::vector<SavedBackend> removed;
  // The pools first, so no new flow picks the backend; then the entry, so its flows are re-placed.
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    auto svc = choose_service(state, a.service);
    if (!svc) return make_error(svc.error());
    auto found = find_backends(state, **svc, a.target);
    if (!found) return make_error(found.error());
    for (auto it = found->rbegin(); it != found->rend(); ++it) {
      removed.insert(removed.begin(), state.backends[*it]);
      entries.remove.insert(state.backends[*it].id);
      state.backends.erase(state.backends.begin() + static_cast<long>(*it));
    }
    return {};
  });
  if (!done) return fail(done.error());
  for (const auto& b : removed)
    std::cout << "removed backend " << describe(b) << " from " << done->bridge
              << "; its flows move to the remaining backends on their next packet\n";
  return 0;
}

int run_backend_refresh(const Globals& g, const BackendArgs& a) {
  if (!a.target.empty()) {
    if (auto s = check_container_name(a.target); !s) return fail(s.error());
  }
  auto session = open_bridge(g, a.bridge, "backend refresh");
  if (!session) return fail(session.error());
  std::vector<std::string> report;
  auto done = session->change([&](BridgeState& state, EntryChanges& entries) -> Status {
    bool known = a.target.empty();
    for (auto& b : state.backends) {
      if (b.name.empty() || (!a.target.empty() && b.name != a.target)) continue;
      known = true;
      // A failing backend stays inactive.
      auto plan = resolve_backend(session->link, b, wait_of(a), b.health != Health::Down);
      if (plan) {
        entries.put[b.id] = plan->entry;
        report.push_back(b.name + ": " + describe(b) + ", " + name_of(b.path) + " path" +
                         (b.via.empty() ? "" : " via " + b.via));
      } else {
        mark_down(b, plan.error(), entries);
        report.push_back(b.name + ": down, out of the rotation: " + plan.error());
      }
    }
    if (!known) return make_error("no backend named '" + a.target + "' on " + state.bridge + ": see `xdplb backend list`");
    return {};
  });
  if (!done) return fail(done.error());
  for (const auto& line : report) std::cout << line << "\n";
  if (report.empty()) std::cout << "no backends given by container name on " << done->bridge << "\n";
  return 0;
}

}  // namespace xdplb::cli
