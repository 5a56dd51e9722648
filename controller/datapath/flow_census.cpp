#include "datapath/flow_census.h"

#include <netinet/in.h>

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

Result<std::map<uint32_t, OpenFlows>> open_flows_per_backend(Datapath& dp, std::chrono::nanoseconds udp_recent) {
  std::map<uint32_t, OpenFlows> out;
  const uint64_t now = monotonic_ns();
  const uint64_t window = static_cast<uint64_t>(udp_recent.count());
  auto note = [&](const xdplb_flow_key& k, uint32_t backend, uint32_t flags, uint64_t last_seen_ns) {
    OpenFlows& f = out[backend];
    ++f.flows;
    const bool open = k.proto == IPPROTO_TCP ? !(flags & XDPLB_FLOW_CLOSED)
                                             : last_seen_ns > now || now - last_seen_ns < window;
    f.open += open;
  };
  XDPLB_TRY((walk_map<xdplb_flow_key, xdplb_flow>(
      dp.skeleton()->maps.flows, "flow table",
      [&](const xdplb_flow_key& k, const xdplb_flow& v) { note(k, v.backend, v.flags, v.last_seen_ns); })));
  XDPLB_TRY((walk_map<xdplb_flow_key, xdplb_hairpin_flow>(
      dp.skeleton()->maps.hairpin_flows, "hairpin flow table",
      [&](const xdplb_flow_key& k, const xdplb_hairpin_flow& v) { note(k, v.backend, v.flags, v.last_seen_ns); })));
  return out;
}

}  // namespace xdplb
