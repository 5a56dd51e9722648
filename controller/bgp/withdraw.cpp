#include "bgp/withdraw.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>

#include "bgp/announce.h"
#include "bgp/bird.h"
#include "core/atomic_file.h"

namespace xdplb::bgp {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr milliseconds kPoll{20};

milliseconds since(Clock::time_point t) { return std::chrono::duration_cast<milliseconds>(Clock::now() - t); }

}  // namespace

Result<bool> bridge_exported(const BgpConfig& config, const std::string& bridge) {
  const auto ours = bridge_protocols(bridge);
  for (const auto& peer : peer_protocols(config)) {
    auto shown = bird_command(config.bird_socket, "show route export " + peer);
    if (shown && lists_route_of(*shown, ours)) return true;
    // BIRD refusing the question for one session (it has no such protocol yet) means nothing
    // is exported there; BIRD not answering at all is an error.
    if (!shown && shown.error().find("failed:") == std::string::npos) return make_error(shown.error());
  }
  return false;
}

Result<Withdrawal> withdraw_bridge(const BgpConfig& config, const std::string& bridge) {
  Withdrawal w;
  auto before = bridge_exported(config, bridge);
  if (!before) return make_error(before.error());
  w.was_exported = *before;
  const auto t0 = Clock::now();
  XDPLB_TRY(bird_apply(config.bird_socket, {{bridge_include_path(config, bridge), bird_bridge_include(bridge, {})}}));
  for (;;) {
    auto now = bridge_exported(config, bridge);
    if (!now) return make_error(now.error());
    if (!*now) break;
    if (since(t0) >= kWithdrawBound) {
      w.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(kPoll);
  }
  w.unexported = since(t0);
  if (w.was_exported) {
    std::this_thread::sleep_for(config.withdraw_hold);
    w.held = config.withdraw_hold;
  }
  return w;
}

std::string withdrawing_file(const std::string& state_dir, const std::string& bridge) {
  return state_dir + "/" + bridge + ".bgp-withdrawing";
}

bool withdrawing(const std::string& state_dir, const std::string& bridge) {
  std::ifstream in(withdrawing_file(state_dir, bridge));
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;  // a mark left by a process that died counts not
}

WithdrawingMark::WithdrawingMark(std::string state_dir, const std::string& bridge)
    : path_(withdrawing_file(state_dir, bridge)) {
  // Without the mark (state dir not writable: detach fails later anyway) the daemon may
  // announce again before the datapath goes; detach withdraws regardless.
  (void)write_file_atomic(path_, std::to_string(::getpid()) + "\n", 0644);
}

WithdrawingMark::~WithdrawingMark() { ::unlink(path_.c_str()); }

}  // namespace xdplb::bgp
