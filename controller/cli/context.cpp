#include "cli/context.h"

#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <mutex>

#include "core/paths.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "hostlocal/hostlocal.h"
#include "lb/balancer.h"

namespace xdplb::cli {

std::string Globals::pin_root() const { return resolve_pin_root(pin_root_flag); }
std::string Globals::state_dir() const { return resolve_state_dir(state_dir_flag); }
std::string Globals::pin_dir(const std::string& bridge) const {
  return xdplb::pin_dir(pin_root(), bridge);
}

Status require_root(const std::string& what) {
  if (geteuid() == 0) return {};
  return make_error("xdplb " + what +
                    " needs root (it loads BPF programs and reads pinned maps): run it with sudo");
}

Result<std::string> choose_bridge(const Globals& g, const std::optional<std::string>& given) {
  if (given) {
    if (!Datapath::is_attached(g.pin_dir(*given)))
      return make_error("bridge '" + *given + "' is not attached: run `xdplb attach " + *given +
                        "` first");
    return *given;
  }
  auto saved = list_bridges(g.state_dir());
  if (!saved) return make_error(saved.error());
  std::vector<std::string> attached;
  for (const auto& b : *saved)
    if (Datapath::is_attached(g.pin_dir(b))) attached.push_back(b);
  if (attached.empty())
    return make_error("no bridge is attached: run `xdplb attach BRIDGE` first");
  if (attached.size() > 1) {
    std::string names;
    for (const auto& b : attached) names += (names.empty() ? "" : ", ") + b;
    return make_error("several bridges are attached (" + names + "): pick one with --bridge");
  }
  return attached.front();
}

Result<LockedState> lock_state(const Globals& g, const std::string& bridge) {
  auto lock = StateLock::acquire(g.state_dir(), bridge);
  if (!lock) return make_error(lock.error());
  auto saved = load_state(g.state_dir(), bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value())
    return make_error("no saved state for " + bridge + " in " + g.state_dir() + ": run `xdplb detach " +
                      bridge + "` and `xdplb attach " + bridge + "`");
  return LockedState{std::move(*lock), std::move(**saved)};
}

namespace {

// The inodes of two of a bridge's pins: a detach and attach, or an upgrade in place, pins new
// maps under the same names (new inodes).
std::optional<std::pair<ino_t, ino_t>> pin_inodes(const std::string& pin_dir) {
  struct stat meta{}, ring{};
  if (::stat((pin_dir + "/meta").c_str(), &meta) != 0 || ::stat((pin_dir + "/ring").c_str(), &ring) != 0)
    return std::nullopt;
  return std::make_pair(meta.st_ino, ring.st_ino);
}

}  // namespace

Result<std::shared_ptr<Datapath>> open_datapath(const Globals& g, const std::string& pin_dir) {
  if (!g.in_daemon) {
    auto dp = Datapath::open(pin_dir);
    if (!dp) return make_error(dp.error());
    return std::shared_ptr<Datapath>(std::move(*dp));
  }
  struct Kept {
    std::string pin_dir;
    std::pair<ino_t, ino_t> pins;
    std::shared_ptr<Datapath> dp;
  };
  static std::mutex mutex;
  static std::optional<Kept> kept;
  std::lock_guard hold(mutex);
  const auto pins = pin_inodes(pin_dir);
  if (kept && pins && kept->pin_dir == pin_dir && kept->pins == *pins) return kept->dp;
  kept.reset();
  auto dp = Datapath::open(pin_dir);
  if (!dp) return make_error(dp.error());
  std::shared_ptr<Datapath> opened(std::move(*dp));
  if (pins) kept = Kept{pin_dir, *pins, opened};
  return opened;
}

Result<BridgeSession> open_bridge(const Globals& g, const std::optional<std::string>& bridge_arg,
                                  const std::string& what) {
  XDPLB_TRY(require_root(what));
  auto bridge = choose_bridge(g, bridge_arg);
  if (!bridge) return make_error(bridge.error());
  auto dp = open_datapath(g, g.pin_dir(*bridge));
  if (!dp) return make_error(dp.error());
  auto link = net::get_link(*bridge);
  if (!link) return make_error(link.error());
  BridgeSession s;
  s.g = &g;
  s.bridge = *bridge;
  s.link = std::move(*link);
  s.dp = std::move(*dp);
  s.writer = std::make_unique<DatapathWriter>(*s.dp);
  s.host_local = hostlocal::is_attached(g.pin_dir(*bridge));
  return s;
}

Result<BridgeState> BridgeSession::change(const ChangeFn& fn) const {
  return run_transaction(bridge_transaction(g->state_dir(), bridge, link.ifindex, host_local, *writer), fn);
}

Result<PendingChange> BridgeSession::stage(const ChangeFn& fn) const {
  return stage_transaction(bridge_transaction(g->state_dir(), bridge, link.ifindex, host_local, *writer), fn);
}

Result<BridgeState> BridgeSession::load() const {
  auto saved = load_state(g->state_dir(), bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value())
    return make_error("no saved state for " + bridge + " in " + g->state_dir() + ": run `xdplb detach " + bridge +
                      "` and `xdplb attach " + bridge + "`");
  return std::move(**saved);
}

int fail(const std::string& message) {
  std::cerr << "xdplb: " << message << "\n";
  return 1;
}

}  // namespace xdplb::cli
