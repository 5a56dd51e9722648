#include "cli/handoff.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>

#include "core/paths.h"
#include "core/state.h"

namespace xdplb::cli {

namespace {

// A handed command may wait for a starting container's address (--wait, at most 300 s).
constexpr int kReplyTimeoutMs = 330 * 1000;

// The command line without the global options that name directories: the request carries
// those resolved (the CLI's environment may set them, the daemon's need not).
std::vector<std::string> without_directories(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--pin-root" || a == "--state-dir") {
      ++i;
      continue;
    }
    if (a.rfind("--pin-root=", 0) == 0 || a.rfind("--state-dir=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

bool same_dir(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || std::filesystem::equivalent(a, b, ec);
}

// std::cout and std::cerr into strings while a handed command runs (the daemon's own log goes
// through spdlog's sinks, which write to the file descriptors, not to these streams).
class Captured {
 public:
  Captured() : out_(std::cout.rdbuf(out.rdbuf())), err_(std::cerr.rdbuf(err.rdbuf())) {}
  ~Captured() {
    std::cout.rdbuf(out_);
    std::cerr.rdbuf(err_);
  }
  Captured(const Captured&) = delete;
  Captured& operator=(const Captured&) = delete;
  std::ostringstream out, err;

 private:
  std::streambuf* out_;
  std::streambuf* err_;
};

}  // namespace

std::optional<int> hand_to_daemon(const Globals& g, const std::optional<std::string>& bridge,
                                  const std::vector<std::string>& args) {
  const std::string state_dir = g.state_dir();
  ControlRequest request{bridge.value_or(""), g.pin_root(), state_dir, without_directories(args)};
  if (!bridge) {  // the only saved bridge, as choose_bridge would find it; else the CLI decides
    auto saved = list_bridges(state_dir);
    if (!saved || saved->size() != 1) return std::nullopt;
    request.bridge = saved->front();
    request.args.insert(request.args.end(), {"--bridge", request.bridge});
  }
  const std::string path = control_socket(state_dir, request.bridge);
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;  // no daemon: no connect tried
  auto reply = call_control(path, request, kReplyTimeoutMs);
  if (!reply) {
    spdlog::debug("running the command here: {}", reply.error());
    return std::nullopt;
  }
  if (!reply->refused.empty()) {
    spdlog::debug("the daemon did not take the command ({}): running it here", reply->refused);
    return std::nullopt;
  }
  std::cout << reply->out << std::flush;
  std::cerr << reply->err << std::flush;
  return reply->code;
}

ControlReply run_handed(const ControlRequest& request, const std::string& bridge, const std::string& pin_dir,
                        const std::string& state_dir) {
  ControlReply reply;
  if (request.bridge != bridge || !same_dir(xdplb::pin_dir(request.pin_root, request.bridge), pin_dir) ||
      !same_dir(request.state_dir, state_dir)) {
    reply.refused = "this daemon serves " + bridge + " with pins in " + pin_dir + " and state in " + state_dir;
    return reply;
  }
  std::vector<std::string> args{"--pin-root", request.pin_root, "--state-dir", request.state_dir};
  args.insert(args.end(), request.args.begin(), request.args.end());
  static std::mutex one_at_a_time;
  std::lock_guard hold(one_at_a_time);
  const auto t0 = std::chrono::steady_clock::now();
  {
    Captured captured;
    reply.code = run_command_line(args, true);
    std::cout.flush();
    std::cerr.flush();
    reply.out = captured.out.str();
    reply.err = captured.err.str();
  }
  std::string line;
  for (const auto& a : request.args) line += (line.empty() ? "" : " ") + a;
  spdlog::info("ran `xdplb {}` for the CLI in {:.2f} ms (exit {})", line,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(), reply.code);
  return reply;
}

ControlServer::Handler handed_commands(const DaemonOptions& opts) {
  // Opened now, so the first handed command finds the maps open (a failure shows again then).
  Globals g;
  g.in_daemon = true;
  (void)open_datapath(g, opts.pin_dir);
  return [bridge = opts.bridge, pin_dir = opts.pin_dir, state_dir = opts.state_dir](const ControlRequest& r) {
    return run_handed(r, bridge, pin_dir, state_dir);
  };
}

}  // namespace xdplb::cli
