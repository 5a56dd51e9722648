// Withdrawing a bridge's routes before its datapath goes (`xdplb detach`, a daemon stopping
// with --withdraw-on-stop): the bridge's include is emptied, BIRD re-reads it, and the caller
// waits until BIRD no longer exports any of the bridge's routes to any neighbour (`show route
// export xdplb_peerN`), then config.withdraw_hold for the peers to act on the withdrawal and
// for replies already on the wire; only then may the datapath go (else replies in flight reach
// a node that no longer translates them).
#pragma once

#include <chrono>
#include <string>

#include "bgp/bgp_config.h"
#include "core/result.h"

namespace xdplb::bgp {

inline constexpr std::chrono::milliseconds kWithdrawBound{3000};  // for BIRD to stop exporting

struct Withdrawal {
  bool was_exported = false;                // something of the bridge's was exported before
  std::chrono::milliseconds unexported{0};  // from the include's rewrite until BIRD exports none
  std::chrono::milliseconds held{0};        // the hold after that (none if nothing was exported)
  bool timed_out = false;                   // BIRD still exported something after kWithdrawBound
};

// Withdraws everything `bridge` announces and waits as above (bounded: kWithdrawBound plus the
// hold). An error when BIRD cannot be asked (the caller goes on: there is no one to wait for).
Result<Withdrawal> withdraw_bridge(const BgpConfig& config, const std::string& bridge);

// What BIRD exports of `bridge`'s routes now, to any neighbour.
Result<bool> bridge_exported(const BgpConfig& config, const std::string& bridge);

// While `xdplb detach` withdraws: <state dir>/<bridge>.bgp-withdrawing holds its pid, and the
// daemon's announcer announces nothing for the bridge while that process lives.
std::string withdrawing_file(const std::string& state_dir, const std::string& bridge);
bool withdrawing(const std::string& state_dir, const std::string& bridge);

class WithdrawingMark {
 public:
  WithdrawingMark(std::string state_dir, const std::string& bridge);  // writes the file
  ~WithdrawingMark();                                                 // removes it
  WithdrawingMark(const WithdrawingMark&) = delete;
  WithdrawingMark& operator=(const WithdrawingMark&) = delete;

 private:
  std::string path_;
};

}  // namespace xdplb::bgp
