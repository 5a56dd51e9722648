// systemd's service protocol through libsystemd (loaded at the first use): readiness and
// watchdog (sd_notify(3), sd_watchdog_enabled(3)), whether our stderr is the journal, and a
// log sink to journald. Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op.
#pragma once

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <memory>
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

// Log lines to journald, each with its priority (sd_journal_send(3)).
std::shared_ptr<spdlog::sinks::sink> journal_sink();

}  // namespace xdplb::boot
