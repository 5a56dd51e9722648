#include "observe/snapshot.h"

#include <set>

#include "datapath/flow_census.h"
#include "lb/backends.h"

namespace xdplb::observe {

Result<Snapshot> take_snapshot(Datapath& dp, BridgeState state) {
  Snapshot out;
  out.flow_table_size = dp.flow_table_size();
  out.syn_table_size = dp.syn_table_size();
  out.hairpin_table_size = dp.hairpin_table_size();
  if (auto n = dp.flow_count()) out.flows = *n;
  if (auto n = dp.hairpin_flow_count()) out.hairpin_flows = *n;
  auto reasons = dp.reason_counters();
  if (!reasons) return make_error(reasons.error());
  out.reasons = std::move(*reasons);

  std::set<uint32_t> in_pool;              // backends taking new flows (backups only while no primary can)
  std::map<uint32_t, uint32_t> placement;  // id -> weight in the member list now (slow start)
  for (const auto& svc : state.services)
    for (int family : {4, 6}) {
      for (const SavedBackend* b : pool_backends(state, svc, family)) in_pool.insert(b->id);
      if (auto members = dp.pool_members(pool_of_service(svc, family)))
        for (const auto& m : *members) placement[m.id] = m.weight;
    }
  auto census = flows_per_backend(dp);  // flows per backend, and those active lately
  for (const auto& b : state.backends) {
    BackendLive& live = out.backends[b.id];
    if (auto c = dp.backend_counters(b.id)) {
      live.packets = c->packets;
      live.bytes = c->bytes;
      live.new_flows = c->new_flows;
    }
    if (auto conns = dp.active_connections(b.id)) live.connections = *conns;
    if (census && census->count(b.id)) {
      live.flow_entries = census->at(b.id).total;
      live.active_flows = census->at(b.id).recent;
    }
    live.placement_weight = placement.count(b.id) ? placement[b.id] : 0;
    live.in_ring = in_pool.count(b.id) > 0;
  }
  out.state = std::move(state);
  return out;
}

}  // namespace xdplb::observe
