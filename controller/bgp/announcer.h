// The daemon's BGP executor (one per bridge): on each turn it asks announce.h what this bridge
// should announce (nothing while its datapath is not attached or `xdplb detach` is withdrawing
// it, bgp/withdraw.h) and, when that differs from what BIRD was last told, rewrites the
// bridge's include and the node's and has BIRD reload them. A failure (BIRD not running, a bad
// include) is logged and tried again later.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bgp/announce.h"
#include "bgp/bgp_config.h"
#include "core/state.h"

namespace xdplb::bgp {

class Announcer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kRetry{1000};

  Announcer(std::string state_dir, std::string pin_dir, std::string bridge)
      : state_dir_(std::move(state_dir)), pin_dir_(std::move(pin_dir)), bridge_(std::move(bridge)) {}

  // Reads <state dir>/bgp.json when it changed, then brings BIRD in line with `state`.
  void update(const BridgeState& state, Clock::time_point now);
  // Withdraws every route and waits until BIRD exports none of them, then the hold
  // (withdraw.h): the daemon stops with --withdraw-on-stop.
  void withdraw_all();

 private:
  void tell(const Announcement& routes, Clock::time_point now);
  std::string state_dir_, pin_dir_, bridge_;
  std::optional<BgpConfig> config_;
  std::string config_stamp_;  // bgp.json's mtime and size as last read
  std::optional<Announcement> told_;  // what BIRD holds (nullopt: unknown)
  Clock::time_point retry_at_{};
};

}  // namespace xdplb::bgp
