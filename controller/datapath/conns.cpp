// Active connections per backend: read for status, decremented by the controller for flows
// that went idle. The datapath changes the counters with atomic adds in place, so a
// read-modify-write through the map syscalls could lose its updates; the array is mmapped
// instead and the controller's decrements are atomic too.
#include <netinet/in.h>

#include "datapath/datapath.h"
#include "datapath/map_walk.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

// Uncounts the idle counted entries of one flow map (external or hairpin flows; both values
// carry backend, flags and last_seen_ns). Each entry is read again just before it is written,
// and the write only goes through if the entry still exists (BPF_EXIST). What this cannot
// exclude: a FIN of that very flow between the read and the write is uncounted twice (the
// count ends one low until a decrement the other way; least-conn treats negatives as 0).
template <typename V>
Status sweep(const struct bpf_map* map, const char* what, uint64_t tcp_idle, uint64_t udp_idle,
             int64_t* conns, IdleSweep& out) {
  const uint64_t now = monotonic_ns();
  auto idle = [&](const xdplb_flow_key& k, const V& v) {
    const uint64_t limit = k.proto == IPPROTO_TCP ? tcp_idle : udp_idle;
    return (v.flags & XDPLB_FLOW_COUNTED) && v.last_seen_ns < now && now - v.last_seen_ns > limit;
  };
  std::vector<xdplb_flow_key> candidates;
  XDPLB_TRY((walk_map<xdplb_flow_key, V>(map, what, [&](const xdplb_flow_key& k, const V& v) {
    if (idle(k, v)) candidates.push_back(k);
  })));
  for (const auto& k : candidates) {
    V v;
    if (bpf_map__lookup_elem(map, &k, sizeof k, &v, sizeof v, 0) != 0 || !idle(k, v)) continue;
    v.flags = (v.flags & ~XDPLB_FLOW_COUNTED) | XDPLB_FLOW_IDLE;
    if (bpf_map__update_elem(map, &k, sizeof k, &v, sizeof v, BPF_EXIST) != 0) continue;
    if (v.backend < XDPLB_MAX_BACKENDS) __atomic_fetch_sub(&conns[v.backend], 1, __ATOMIC_RELAXED);
    ++out.uncounted;
  }
  return {};
}

}  // namespace

Result<int64_t*> Datapath::connection_counters() {
  if (!conns_.mapped()) {
    auto m = MapMapping::of(skel_->maps.backend_conns, "connection counters");
    if (!m) return make_error(m.error());
    conns_ = std::move(*m);
  }
  return conns_.at<int64_t>(0);
}

Result<int64_t> Datapath::active_connections(uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  auto conns = connection_counters();
  if (!conns) return make_error(conns.error());
  return __atomic_load_n(&(*conns)[id], __ATOMIC_RELAXED);
}

Status Datapath::reset_connections(uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  auto conns = connection_counters();
  if (!conns) return make_error(conns.error());
  __atomic_store_n(&(*conns)[id], 0, __ATOMIC_RELAXED);
  return {};
}

Result<IdleSweep> Datapath::uncount_idle_flows(std::chrono::nanoseconds tcp_idle,
                                               std::chrono::nanoseconds udp_idle) {
  auto conns = connection_counters();
  if (!conns) return make_error(conns.error());
  IdleSweep out;
  const auto tcp = static_cast<uint64_t>(tcp_idle.count()), udp = static_cast<uint64_t>(udp_idle.count());
  XDPLB_TRY(sweep<xdplb_flow>(skel_->maps.flows, "flow table", tcp, udp, *conns, out));
  XDPLB_TRY(sweep<xdplb_hairpin_flow>(skel_->maps.hairpin_flows, "hairpin flow table", tcp, udp, *conns, out));
  return out;
}

}  // namespace xdplb
