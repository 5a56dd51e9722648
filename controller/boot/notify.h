// systemd's service protocol through libsystemd: readiness and watchdog (sd_notify(3),
// sd_watchdog_enabled(3)) and whether our stderr is the journal. Outside systemd
// ($NOTIFY_SOCKET unset) every call is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"

namespace xdplb::boot {

// Sends `state` (e.g. "READY=1\nSTATUS=serving"); fine when not under systemd.
Status notify(const std::string& state);

// How often systemd wants "WATCHDOG=1" from this process, if it wants it at all.
std::optional<std::chrono::microseconds> watchdog_interval();

// Whether stderr goes to the journal ($JOURNAL_STREAM names it): then log to journald natively.
bool stderr_is_journal();

}  // namespace xdplb::boot
