// One read of what the datapath of a bridge says, next to its saved state: per-backend
// counters, flows and connections, table fill, outcome reasons. `status` prints it, the
// metrics endpoint renders it. Reading it walks the flow table (batched) and per-CPU maps; the
// daemon does it on the metrics thread, never on its loop.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "observe/shapes.h"

namespace xdplb::observe {

struct Snapshot {
  BridgeState state;
  std::map<uint32_t, BackendLive> backends;  // by backend id, one per saved backend
  uint64_t flows = 0;                         // forward entries in the flow table
  uint32_t flow_table_size = 0;
  uint32_t syn_table_size = 0;  // reverse_new: SYN-only TCP flows' reverse entries
  uint64_t hairpin_flows = 0;
  uint32_t hairpin_table_size = 0;
  std::vector<uint64_t> reasons;  // indexed by enum xdplb_reason
};

Result<Snapshot> take_snapshot(Datapath& dp, BridgeState state);

}  // namespace xdplb::observe
