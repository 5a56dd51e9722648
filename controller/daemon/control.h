// The daemon's control socket: a root-only unix socket in the state dir
// (<state_dir>/<bridge>.ctl.sock, mode 0600, peers checked to be root) where `xdplb backend
// add/remove/drain/undrain` hand their command to the bridge's running daemon. The daemon runs
// it in its own process (no exec, no loader, no start-up: the change lands sooner) through the
// same command code and transaction as the CLI, and sends back the exit code and what the
// command printed. One request per connection, one at a time.
//
// Request: {"bridge", "pin_root", "state_dir", "args": [the command's arguments]}, then the
// client shuts down its write side. Reply: {"code", "out", "err"}, or {"refused": why} when the
// request is for another bridge, pin root or state dir (nothing ran: the CLI does it itself).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "core/result.h"

namespace xdplb {

// <state_dir>/<bridge>.ctl.sock
std::string control_socket(const std::string& state_dir, const std::string& bridge);

struct ControlRequest {
  std::string bridge, pin_root, state_dir;
  std::vector<std::string> args;
};

struct ControlReply {
  int code = 1;
  std::string out, err;
  std::string refused;  // non-empty: nothing ran
};

std::string encode(const ControlRequest& r);
Result<ControlRequest> decode_request(const std::string& text);
std::string encode(const ControlReply& r);
Result<ControlReply> decode_reply(const std::string& text);

class ControlServer {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;
  // Binds (replacing a socket a dead daemon left: the caller holds the daemon's pid lock) and
  // serves on a thread of its own until destroyed.
  static Result<std::unique_ptr<ControlServer>> start(const std::string& state_dir, const std::string& bridge,
                                                      Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  ControlServer(UniqueFd fd, std::string path, Handler handler)
      : fd_(std::move(fd)), path_(std::move(path)), handler_(std::move(handler)) {}
  void serve();
  void answer(int conn);

  UniqueFd fd_;
  std::string path_;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends the request to the daemon listening at `path` and waits for its reply (at most
// `timeout_ms`). An error only when the daemon cannot have run it (no socket, a socket a dead
// daemon left, not root, the request not sent whole): the caller does the command itself.
// Once the request is sent, no answer is a failed command (code 1), never an error.
Result<ControlReply> call_control(const std::string& path, const ControlRequest& request, int timeout_ms);

}  // namespace xdplb
