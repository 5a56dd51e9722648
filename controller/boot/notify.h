// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=VALUE\n..." lines to the unix socket in $NOTIFY_SOCKET (a path, or '@' for the abstract
// namespace). Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"

namespace xdplb::boot {

// Sends `state` (e.g. "READY=1\nSTATUS=serving"); fine when not under systemd.
Status notify(const std::string& state);

// $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID unset or ours): how often
// systemd wants "WATCHDOG=1".
std::optional<std::chrono::microseconds> watchdog_interval();

// Whether stderr goes to the journal ($JOURNAL_STREAM names it).
bool stderr_is_journal();

}  // namespace xdplb::boot
