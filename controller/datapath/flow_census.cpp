#include "datapath/flow_census.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

uint64_t monotonic_ns() {  // the clock bpf_ktime_get_ns() reads
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

Result<std::map<uint32_t, FlowsOfBackend>> flows_per_backend(Datapath& dp,
                                                             std::chrono::nanoseconds recent) {
  std::map<uint32_t, FlowsOfBackend> out;
  const int fd = bpf_map__fd(dp.skeleton()->maps.flows);
  const uint32_t max_entries = bpf_map__max_entries(dp.skeleton()->maps.flows);
  constexpr uint32_t kBatch = 4096;
  std::vector<xdplb_flow_key> keys(kBatch);
  std::vector<xdplb_flow> values(kBatch);
  const uint64_t now = monotonic_ns();
  const uint64_t window = static_cast<uint64_t>(recent.count());
  xdplb_flow_key out_batch{};
  void* in_batch = nullptr;
  // Entries come and go during the walk (LRU): bound it by the table size.
  for (uint64_t seen = 0; seen <= max_entries;) {
    uint32_t n = kBatch;
    int err = bpf_map_lookup_batch(fd, in_batch, &out_batch, keys.data(), values.data(), &n, nullptr);
    const int saved_errno = errno;
    for (uint32_t i = 0; i < n; ++i) {
      FlowsOfBackend& f = out[values[i].backend];
      ++f.total;
      if (values[i].last_seen_ns > now || now - values[i].last_seen_ns < window) ++f.recent;
    }
    seen += n;
    if (err) {
      if (saved_errno == ENOENT) break;  // walked to the end
      return make_error(std::string("walking the flow table failed: ") + std::strerror(saved_errno));
    }
    in_batch = &out_batch;
  }
  return out;
}

}  // namespace xdplb
