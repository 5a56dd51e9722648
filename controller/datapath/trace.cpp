// The packet trace's maps: trace_conf (on/off and the filter), trace_reasons (per CPU, the
// reasons noted for the packet being handled), trace_ring (the events).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/map_walk.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

Status write_conf(const struct bpf_map* map, const struct xdplb_trace_conf& conf) {
  const uint32_t zero = 0;
  if (int err = bpf_map__update_elem(map, &zero, sizeof zero, &conf, sizeof conf, BPF_ANY); err)
    return make_error("writing the trace settings failed: " + errno_text(err));
  return {};
}

uint64_t lease_end(std::chrono::milliseconds lease) {
  return monotonic_ns() + uint64_t(std::chrono::nanoseconds(lease).count());
}

}  // namespace

Status Datapath::start_trace(const TraceFilter& filter, std::chrono::milliseconds lease) {
  struct xdplb_trace_conf conf;
  std::memset(&conf, 0, sizeof conf);
  if (filter.client) {
    conf.match |= XDPLB_TRACE_MATCH_CLIENT;
    conf.client = filter.client->to_abi();
    conf.client_family = filter.client->is_v6() ? XDPLB_AF_INET6 : XDPLB_AF_INET;
    if (filter.client_is_host) conf.match |= XDPLB_TRACE_MATCH_HOST;
  }
  if (filter.service_slot) {
    conf.match |= XDPLB_TRACE_MATCH_SERVICE;
    conf.slot = *filter.service_slot;
    for (uint32_t id : filter.service_backends)
      if (id < XDPLB_MAX_BACKENDS) conf.backends[id / 64] |= 1ull << (id % 64);
  }
  // Without this the first traced packet on each CPU would carry every reason noted since
  // attach. (Packets between this and `on` add a few bits to their CPU's next one.)
  const int cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
  const std::vector<struct xdplb_trace_cpu> none(static_cast<size_t>(cpus), xdplb_trace_cpu{0, 0});
  const uint32_t zero = 0;
  if (int err = bpf_map__update_elem(skel_->maps.trace_reasons, &zero, sizeof zero, none.data(),
                                     none.size() * sizeof none[0], BPF_ANY); err)
    return make_error("starting the trace failed: " + errno_text(err));
  conf.on = 1;
  conf.until_ns = lease_end(lease);
  return write_conf(skel_->maps.trace_conf, conf);
}

Status Datapath::renew_trace(std::chrono::milliseconds lease) {
  struct xdplb_trace_conf conf;
  const uint32_t zero = 0;
  if (int err = bpf_map__lookup_elem(skel_->maps.trace_conf, &zero, sizeof zero, &conf, sizeof conf, 0); err)
    return make_error("reading the trace settings failed: " + errno_text(err));
  conf.until_ns = lease_end(lease);
  return write_conf(skel_->maps.trace_conf, conf);
}

Status Datapath::stop_trace() {
  struct xdplb_trace_conf conf;
  std::memset(&conf, 0, sizeof conf);
  return write_conf(skel_->maps.trace_conf, conf);
}

int Datapath::trace_ring_fd() const { return bpf_map__fd(skel_->maps.trace_ring); }

}  // namespace xdplb
