#include "datapath/flow_census.h"

#include "datapath/map_walk.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

Result<std::map<uint32_t, FlowsOfBackend>> flows_per_backend(Datapath& dp,
                                                             std::chrono::nanoseconds recent) {
  std::map<uint32_t, FlowsOfBackend> out;
  const uint64_t now = monotonic_ns();
  const uint64_t window = static_cast<uint64_t>(recent.count());
  XDPLB_TRY((walk_map<xdplb_flow_key, xdplb_flow>(
      dp.skeleton()->maps.flows, "flow table", [&](const xdplb_flow_key&, const xdplb_flow& v) {
        FlowsOfBackend& f = out[v.backend];
        ++f.total;
        if (v.last_seen_ns > now || now - v.last_seen_ns < window) ++f.recent;
      })));
  return out;
}

}  // namespace xdplb
