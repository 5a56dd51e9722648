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

// Everything a pool change needs, opened in order: lock, state, live maps, bridge link.
struct PoolSession {
  StateLock lock;
  BridgeState state;
  std::unique_ptr<Datapath> dp;
  net::LinkInfo bridge;
};

Result<PoolSession> open_pool(const Globals& g, const std::optional<std::string>& bridge_arg,
                              const std::string& what) {
  XDPLB_TRY(require_root(what));
  auto bridge = choose_bridge(g, bridge_arg);
  if (!bridge) return make_error(bridge.error());
  auto locked = lock_state(g, *bridge);
  if (!locked) return make_error(locked.error());
  auto dp = Datapath::open(g.pin_dir(*bridge));
  if (!dp) return make_error(dp.error());
  auto link = net::get_link(*bridge);
  if (!link) return make_error(link.error());
  return PoolSession{std::move(locked->lock), std::move(locked->state), std::move(*dp),
                     std::move(*link)};
}

// The address families a container on `bridge` serves: those the bridge has global addresses
// of (a container there gets the same), IPv4 when it has none.
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

int run_backend_add(const Globals& g, const BackendArgs& a) {
  uint32_t weight = 1;
  if (auto s = check_add_args(a, weight); !s) return fail(s.error());
  auto session = open_pool(g, a.bridge, "backend add");
  if (!session) return fail(session.error());
  BridgeState& state = session->state;

  SavedBackend proto;
  proto.weight = weight;
  proto.fast_path_disabled = a.no_fast_path;
  std::vector<int> families;
  if (looks_like_address(a.target)) {
    auto ep = parse_endpoint(a.target, state.backend_port);
    if (!ep) return fail(ep.error());
    proto.addr = ep->addr;
    proto.port = ep->port;
    families = {ep->addr.is_v6() ? 6 : 4};
  } else {
    proto.name = a.target;
    proto.source = a.source;  // "auto" becomes lxd or lxc when install_backend resolves it
    proto.lxcpath = a.lxcpath;
    proto.port = state.backend_port;
    families = bridge_families(session->bridge);
  }
  if (auto dup = find_backends(state, a.target); dup) {
    const SavedBackend& d = state.backends[dup->front()];
    return fail(describe(d) + " is already a backend of " + state.bridge + " (id " +
                std::to_string(d.id) + "); to change it, remove it first");
  }

  // A container is one entry per family of its bridge. If one family cannot be installed
  // (an IPv6 address that has not come up yet) the other still serves, and that one is kept
  // as down for `backend refresh` or the daemon to bring in; if none can, nothing changes.
  std::vector<SavedBackend> added;
  std::vector<std::string> errors;
  auto undo = [&] {
    for (const auto& b : added) (void)session->dp->delete_backend(b.id);
  };
  for (int family : families) {
    SavedBackend b = proto;
    b.family = family;
    BridgeState with_added = state;
    with_added.backends.insert(with_added.backends.end(), added.begin(), added.end());
    auto id = allocate_backend_id(with_added);
    if (!id) {
      undo();
      return fail(id.error());
    }
    b.id = *id;
    if (auto s = session->dp->take_backend_id(b.id); !s) {
      undo();
      return fail(s.error());
    }
    auto plan = install_backend(*session->dp, session->bridge, b, wait_of(a));
    if (!plan) {
      errors.push_back(plan.error());
      (void)mark_down(*session->dp, b, plan.error());
      added.push_back(b);
      continue;
    }
    for (const auto& other : state.backends)
      if (other.addr == b.addr && other.port == b.port) {
        undo();
        (void)session->dp->delete_backend(b.id);
        return fail(describe(b) + " has the same address as backend " + describe(other) +
                    ": remove that one first");
      }
    added.push_back(b);
  }
  if (errors.size() == families.size()) {
    undo();
    std::string why = errors.front();
    for (size_t i = 1; i < errors.size(); ++i)  // a stopped or unknown container: said once
      if (std::find(errors.begin(), errors.begin() + static_cast<long>(i), errors[i]) ==
          errors.begin() + static_cast<long>(i))
        why += "; " + errors[i];
    return fail("backend " + a.target + ": " + why);
  }
  state.backends.insert(state.backends.end(), added.begin(), added.end());
  if (auto s = rebuild_ring(*session->dp, state); !s) {
    undo();
    return fail(s.error());
  }
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  for (const auto& b : added) {
    if (b.path == "down")
      std::cout << "added backend " << describe(b) << " to " << state.bridge << " (id " << b.id
                << ") as down for now: " << b.path_reason
                << "; `xdplb backend refresh " << b.name << "` or the daemon brings it in\n";
    else
      std::cout << "added backend " << describe(b) << " to " << state.bridge << " (id " << b.id
                << ", weight " << b.weight << ", " << b.path << " path"
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
  auto session = open_pool(g, a.bridge, "backend remove");
  if (!session) return fail(session.error());
  BridgeState& state = session->state;
  auto found = find_backends(state, a.target);
  if (!found) return fail(found.error());
  std::vector<SavedBackend> removed;
  for (auto it = found->rbegin(); it != found->rend(); ++it) {
    removed.insert(removed.begin(), state.backends[*it]);
    state.backends.erase(state.backends.begin() + static_cast<long>(*it));
  }
  // Ring first, so no new flow picks the backend; then the entry, so its flows are re-placed.
  if (auto s = rebuild_ring(*session->dp, state); !s) return fail(s.error());
  for (const auto& b : removed)
    if (auto s = session->dp->delete_backend(b.id); !s) return fail(s.error());
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  for (const auto& b : removed)
    std::cout << "removed backend " << describe(b) << " from " << state.bridge
              << "; its flows move to the remaining backends on their next packet\n";
  return 0;
}

}  // namespace xdplb::cli

namespace xdplb::cli {

int run_backend_refresh(const Globals& g, const BackendArgs& a) {
  if (!a.target.empty()) {
    if (auto s = check_container_name(a.target); !s) return fail(s.error());
  }
  auto session = open_pool(g, a.bridge, "backend refresh");
  if (!session) return fail(session.error());
  BridgeState& state = session->state;
  if (!a.target.empty()) {
    auto found = find_backends(state, a.target);
    if (!found) return fail(found.error());
  }
  int refreshed = 0;
  for (auto& b : state.backends) {
    if (b.name.empty() || (!a.target.empty() && b.name != a.target)) continue;
    ++refreshed;
    auto plan = install_backend(*session->dp, session->bridge, b, wait_of(a),
                                b.health != "down");  // a failing backend stays inactive
    if (plan) {
      std::cout << b.name << ": " << describe(b) << ", " << b.path << " path"
                << (b.via.empty() ? "" : " via " + b.via) << "\n";
    } else {
      if (auto s = mark_down(*session->dp, b, plan.error()); !s) return fail(s.error());
      std::cout << b.name << ": down, out of the rotation: " << plan.error() << "\n";
    }
  }
  if (auto s = rebuild_ring(*session->dp, state); !s) return fail(s.error());
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  if (refreshed == 0) std::cout << "no backends given by container name on " << state.bridge << "\n";
  return 0;
}

}  // namespace xdplb::cli
