// scheduler: show or change how an attached bridge's service places new flows. Existing flows
// keep their backend; only new flows (and SYNs re-placed off a drained backend) see the change.
#include <iostream>

#include "cli/commands.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "observe/shapes.h"

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
  auto session = open_bridge(g, a.bridge, "scheduler");
  if (!session) return fail(session.error());
  ServiceConfig shown;
  auto done = session->change([&](BridgeState& state, EntryChanges&) -> Status {
    auto chosen = choose_service(state, a.service);
    if (!chosen) return make_error(chosen.error());
    ServiceConfig& svc = *find_service(state, (*chosen)->name);
    if (wanted) svc.scheduler = static_cast<Scheduler>(*wanted);
    shown = svc;
    return {};
  });
  if (!done) return fail(done.error());
  if (a.json) {
    std::cout << observe::scheduler_json(session->bridge, shown, meaning(static_cast<uint32_t>(shown.scheduler))).dump(2)
              << "\n";
    return 0;
  }
  std::cout << "scheduler of " << (done->services.size() > 1 ? "service " + shown.name + " of " : "")
            << session->bridge << ": " << name_of(shown.scheduler) << " ("
            << meaning(static_cast<uint32_t>(shown.scheduler)) << ")\n";
  return 0;
}

}  // namespace xdplb::cli
