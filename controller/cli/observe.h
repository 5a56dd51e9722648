// `xdplb events` and `xdplb trace`: following what the daemon and the datapath do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/context.h"

namespace xdplb::cli {

struct EventsArgs {
  std::optional<std::string> bridge;
  bool json = false;                // one JSON object per line, as the daemon sends them
  std::optional<uint64_t> count;    // exit after this many events
};
int run_events(const Globals& g, const EventsArgs& a);

struct TraceArgs {
  std::optional<std::string> bridge;
  std::optional<std::string> service;  // only packets of this service
  std::optional<std::string> client;   // only packets from (and replies to) this address
  std::optional<uint64_t> count;       // stop after this many packets
  std::optional<double> timeout;       // stop after this many seconds
  bool json = false;
};
int run_trace(const Globals& g, const TraceArgs& a);

}  // namespace xdplb::cli
