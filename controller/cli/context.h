// What every command needs before it does anything: the global options, the root check, and
// which attached bridge a command means.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/transaction.h"
#include "net/link.h"

namespace xdplb::cli {

struct Globals {
  std::optional<std::string> pin_root_flag;
  std::optional<std::string> state_dir_flag;
  bool verbose = false;
  // In the daemon, running a command the CLI handed over (cli/handoff.h): the opened datapath
  // is kept for the next command.
  bool in_daemon = false;

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

// An attached bridge a command changes: its link, live maps and whether host-local hooks are
// on. Every change goes through change() (lb/transaction.h): lock, load, change, write, save.
struct BridgeSession {
  const Globals* g = nullptr;
  std::string bridge;
  net::LinkInfo link;
  std::shared_ptr<Datapath> dp;
  std::unique_ptr<DatapathWriter> writer;
  bool host_local = false;

  Result<BridgeState> change(const ChangeFn& fn) const;
  // change(), kept open: the caller commits or rolls it back (apply -f: all bridges or none).
  Result<PendingChange> stage(const ChangeFn& fn) const;
  // The saved state, read without the lock (for checks before a change and for output).
  Result<BridgeState> load() const;
};
// The bridge's pinned maps; in the daemon (g.in_daemon) the last ones opened, kept while the
// pins are the same.
Result<std::shared_ptr<Datapath>> open_datapath(const Globals& g, const std::string& pin_dir);
Result<BridgeSession> open_bridge(const Globals& g, const std::optional<std::string>& bridge_arg,
                                  const std::string& what);

// Prints "xdplb: <message>" to stderr and returns the exit code for a failed command.
int fail(const std::string& message);

}  // namespace xdplb::cli
