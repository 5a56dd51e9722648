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

}  // namespace xdplb::cli
