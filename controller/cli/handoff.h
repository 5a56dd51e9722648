// `xdplb backend add/remove/drain/undrain` with a daemon running for the bridge: the command is
// handed to the daemon over its control socket (daemon/control.h) and runs there, through the
// same command code and transaction (lb/transaction.h) as here; its output and exit code come
// back as if it had run here. Without a daemon (no socket, or one a dead daemon left) the CLI
// runs the command itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "daemon/control.h"
#include "daemon/daemon.h"

namespace xdplb::cli {

// The whole command line (without the program name): parse, then run the command. In the
// daemon (in_daemon) only the commands above run, nothing is handed on and the log is the
// daemon's.
int run_command_line(const std::vector<std::string>& args, bool in_daemon);

// The command's exit code once the bridge's daemon ran it (what it printed printed here), or
// nullopt: no daemon took it, nothing changed, run it here. `args`: the whole command line.
std::optional<int> hand_to_daemon(const Globals& g, const std::optional<std::string>& bridge,
                                  const std::vector<std::string>& args);

// The daemon's side: runs a handed command for the daemon of `bridge` (pins in pin_dir, state
// in state_dir), its output captured; refused if the request is for another bridge, pin root or
// state dir. One at a time.
ControlReply run_handed(const ControlRequest& request, const std::string& bridge, const std::string& pin_dir,
                        const std::string& state_dir);
// run_handed for the daemon these options start.
ControlServer::Handler handed_commands(const DaemonOptions& opts);

}  // namespace xdplb::cli
