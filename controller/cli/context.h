// What every command needs before it does anything: the global options, the root check, and
// which attached bridge a command means.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "core/state.h"

namespace xdplb::cli {

struct Globals {
  std::optional<std::string> pin_root_flag;
  std::optional<std::string> state_dir_flag;
  bool verbose = false;

  std::string pin_root() const;
  std::string state_dir() const;
  std::string pin_dir(const std::string& bridge) const;
};

// "xdplb <what> needs root ...".
Status require_root(const std::string& what);

// The bridge a command is about: the one given, else the only attached one.
Result<std::string> choose_bridge(const Globals& g, const std::optional<std::string>& given);

// A bridge's saved state, read under its lock, for a read-modify-write by one command.
struct LockedState {
  StateLock lock;
  BridgeState state;
};
Result<LockedState> lock_state(const Globals& g, const std::string& bridge);

// Prints "xdplb: <message>" to stderr and returns the exit code for a failed command.
int fail(const std::string& message);

}  // namespace xdplb::cli
