// `xdplb top`: a live terminal view of what the datapath does — packets/s, bits/s, new flows/s
// and flows per backend and in total, and the per-second datapath outcomes (drop/pass reasons)
// — from the same per-CPU counters `xdplb status` reads. Refreshes every --interval seconds
// until Ctrl-C (or --count frames); when stdout is not a terminal it prints one snapshot.
#pragma once

#include <optional>
#include <string>

#include "cli/context.h"

namespace xdplb::cli {

struct TopArgs {
  std::optional<std::string> bridge;
  double interval = 1.0;  // seconds between frames
  int count = 0;          // frames before exiting; 0: until Ctrl-C (1 if stdout is no terminal)
};
int run_top(const Globals& g, const TopArgs& a);

}  // namespace xdplb::cli
