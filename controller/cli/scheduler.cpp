// scheduler: show or change how an attached bridge's service places new flows. Existing flows
// keep their backend; only new flows (and SYNs re-placed off a drained backend) see the change.
#include <iostream>

#include "cli/commands.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/balancer.h"

namespace xdplb::cli {

namespace {

const char* meaning(uint32_t scheduler) {
  switch (scheduler) {
    case XDPLB_SCHED_WEIGHTED: return "new flows take turns in proportion to the backends' weights";
    case XDPLB_SCHED_ROUND_ROBIN: return "new flows take equal turns over the backends (weights ignored)";
    case XDPLB_SCHED_LEAST_CONN:
      return "a new flow goes to the backend with the fewest active connections per weight";
    default: return "consistent hash of the flow over the Maglev ring (weights honoured)";
  }
}

}  // namespace

int run_scheduler(const Globals& g, const SchedulerArgs& a) {
  std::optional<uint32_t> wanted;
  if (a.name) {
    auto s = parse_scheduler(*a.name);
    if (!s) return fail(s.error());
    wanted = *s;
  }
  if (auto s = require_root("scheduler"); !s) return fail(s.error());
  auto bridge = choose_bridge(g, a.bridge);
  if (!bridge) return fail(bridge.error());
  auto locked = lock_state(g, *bridge);
  if (!locked) return fail(locked.error());
  BridgeState& state = locked->state;
  if (wanted && state.scheduler != scheduler_name(*wanted)) {
    state.scheduler = scheduler_name(*wanted);
    auto dp = Datapath::open(g.pin_dir(*bridge));
    if (!dp) return fail(dp.error());
    // Maps first, then the state: a failure leaves both as they were.
    if (auto s = rebuild_ring(**dp, state); !s) return fail(s.error());
    if (auto s = save_state(g.state_dir(), state); !s) return fail(s.error());
  }
  std::cout << "scheduler of " << *bridge << ": " << state.scheduler << " ("
            << meaning(scheduler_of(state)) << ")\n";
  return 0;
}

}  // namespace xdplb::cli
