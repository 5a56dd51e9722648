// The daemon's decisions as pure functions of (saved state, what it observed, now): health
// transitions (rise/fall, and the writes that must land for them), the panic threshold, drains
// and slow start. No kernel, files or clock here: daemon.cpp observes, asks these, and carries
// out the answer through the one transaction; the unit tests drive them without root.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/state.h"
#include "daemon/health_tracker.h"
#include "lb/plan.h"

namespace xdplb {

using DecideClock = std::chrono::steady_clock;

// The health the checks decided for a backend, and why.
struct Decision {
  Health health = Health::Unchecked;
  std::string reason;
  bool transition = false;  // a change of state (false: the first good probe of an unchecked one)
  bool operator==(const Decision&) const = default;
};

// One finished probe through rise/fall: a decision when this probe settles the backend's
// health (a transition, or the first good probe of an unchecked backend), else nothing.
std::optional<Decision> judge_probe(HealthTracker& tracker, const HealthCheckConfig& checks, Health saved,
                                    bool ok, const std::string& probe_reason);

// Passive health of one backend: its refused-connection and new-flow counters as last read.
struct PassiveState {
  bool primed = false;  // counters read once (deltas from the next read on)
  uint64_t refused = 0, new_flows = 0;
  uint64_t streak = 0;  // refusals since the last look that saw new flows and no refusal
};

// One look at the datapath's counters (totals since attach): a decision (down) when `threshold`
// refusals came with no refusal-free look between them. Order within one look is unknown, so a
// look that saw new flows but no refusal is what breaks a streak. Only an up (or unchecked)
// backend is taken out; its tracker is set down, so `rise` good probes bring it back.
std::optional<Decision> judge_refusals(PassiveState& st, HealthTracker& tracker, uint64_t refused,
                                       uint64_t new_flows, uint32_t threshold, Health saved);

// A health write the state does not hold yet.
struct HealthWrite {
  uint32_t id = 0;
  Decision decision;
};

// The decisions the saved state disagrees with: what the next transaction must write. Kept,
// and asked again on every turn of the loop, until the state holds them, so a write that
// failed (a busy lock, a full disk) is retried. Backends gone, whose container is stopped or
// whose service no longer runs checks need none.
std::vector<HealthWrite> pending_health(const BridgeState& state, const std::map<uint32_t, Decision>& decided);

// Which (service, family) pools are in panic.
using PanicSet = std::set<std::pair<std::string, int>>;
PanicSet panics(const BridgeState& state);

// Whether a backend's entry should be active: it can be reached, is not down by health (unless
// its pool is in panic: then every placeable backend serves) and has not finished draining.
bool entry_active(const BridgeState& state, const SavedBackend& b, bool drain_done);

// Flows per backend, as the daemon counts them for a drain.
struct DrainCensus {
  uint32_t flows = 0;  // entries in the flow tables (external and hairpin) naming it
  uint32_t open = 0;   // of those, TCP connections not seen closing, or UDP flows active lately
};

// Drains that are over: a drained backend with no open flow, or whose drain began (the saved
// drain_started_ms, wall clock) `timeout` or longer before `now_ms` (wall clock, ms since the
// epoch): its remaining connections are then cut. A drain without a saved start does not time
// out (the daemon stamps one first: drains_to_stamp).
struct DrainVerdict {
  uint32_t id = 0;
  bool timed_out = false;
  uint32_t open = 0;  // open flows left (timed out)
};
std::vector<DrainVerdict> drains_over(const BridgeState& state, const std::map<uint32_t, DrainCensus>& census,
                                      const std::set<uint32_t>& done, int64_t now_ms,
                                      std::chrono::milliseconds timeout);
// Drained backends whose drain has no saved start yet (drained by `xdplb apply`, or a state
// file from before the field): the daemon saves the time it first saw them.
std::vector<uint32_t> drains_to_stamp(const BridgeState& state);

// Slow start: the weights while some backends ramp (`since`: when each came back up); empty
// while none does, so the ring is the one any node builds from the saved weights.
WeightOf ramp_weights(const BridgeState& state, const std::map<uint32_t, DecideClock::time_point>& since,
                      DecideClock::time_point now);
// The ramps that are over at `now`.
std::vector<uint32_t> ramps_over(const BridgeState& state, const std::map<uint32_t, DecideClock::time_point>& since,
                                 DecideClock::time_point now);

}  // namespace xdplb
