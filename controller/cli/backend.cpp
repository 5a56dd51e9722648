// backend add / remove: change a bridge's pool, in the saved state and in the live maps.
#include <sys/socket.h>

#include <iostream>

#include "cli/commands.h"
#include "containers/container_info.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/backends.h"
#include "lb/balancer.h"
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

// The saved backend a user means: a container name, or ADDR[:PORT].
Result<size_t> find_backend(const BridgeState& state, const std::string& target) {
  if (!looks_like_address(target)) {
    for (size_t i = 0; i < state.backends.size(); ++i)
      if (state.backends[i].name == target) return i;
    return make_error("no backend named '" + target + "' on " + state.bridge +
                      ": see `xdplb backend list`");
  }
  auto ep = parse_endpoint(target, state.backend_port);
  if (!ep) return make_error(ep.error());
  for (size_t i = 0; i < state.backends.size(); ++i) {
    const auto& b = state.backends[i];
    if (b.addr == ep->addr && b.port == ep->port) return i;
  }
  return make_error("no backend " + ep->to_string() + " on " + state.bridge +
                    ": see `xdplb backend list`");
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
    if (!ep->addr.is_v4())
      return make_error(ep->to_string() + ": IPv6 backends are not supported yet; give an IPv4 address");
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

  SavedBackend b;
  b.weight = weight;
  b.fast_path_disabled = a.no_fast_path;
  if (looks_like_address(a.target)) {
    auto ep = parse_endpoint(a.target, state.backend_port);
    if (!ep) return fail(ep.error());
    b.addr = ep->addr;
    b.port = ep->port;
  } else {
    b.name = a.target;
    b.source = a.source;  // "auto" becomes lxd or lxc when install_backend resolves it
    b.lxcpath = a.lxcpath;
    b.port = state.backend_port;
  }
  if (auto dup = find_backend(state, b.name.empty() ? a.target : b.name); dup)
    return fail(describe(state.backends[*dup]) + " is already a backend of " + state.bridge +
                " (id " + std::to_string(state.backends[*dup].id) + "); to change it, remove it first");
  auto id = allocate_backend_id(state);
  if (!id) return fail(id.error());
  b.id = *id;

  auto plan = install_backend(*session->dp, session->bridge, b, wait_of(a));
  if (!plan) return fail("backend " + a.target + ": " + plan.error());
  for (const auto& other : state.backends)
    if (other.addr == b.addr && other.port == b.port) {
      (void)session->dp->delete_backend(b.id);
      return fail(describe(b) + " has the same address as backend " + describe(other) +
                  ": remove that one first");
    }
  state.backends.push_back(b);
  if (auto s = rebuild_ring(*session->dp, state); !s) {
    (void)session->dp->delete_backend(b.id);
    return fail(s.error());
  }
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  std::cout << "added backend " << describe(b) << " to " << state.bridge << " (id " << b.id
            << ", weight " << b.weight << ", " << b.path << " path"
            << (b.via.empty() ? "" : " via " + b.via) << ": " << b.path_reason << ")\n";
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
  auto index = find_backend(state, a.target);
  if (!index) return fail(index.error());
  const SavedBackend removed = state.backends[*index];
  state.backends.erase(state.backends.begin() + static_cast<long>(*index));
  // Ring first, so no new flow picks the backend; then the entry, so its flows are re-placed.
  if (auto s = rebuild_ring(*session->dp, state); !s) return fail(s.error());
  if (auto s = session->dp->delete_backend(removed.id); !s) return fail(s.error());
  if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  std::cout << "removed backend " << describe(removed) << " from " << state.bridge
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
    auto index = find_backend(state, a.target);
    if (!index) return fail(index.error());
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
