// Walking a hash map of the datapath from user space in batches (the flow tables hold up to
// XDPLB_MAX_FLOWS entries: one syscall per entry would take seconds). Shared by the flow
// census and the idle sweep.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/result.h"

namespace xdplb {

// The clock bpf_ktime_get_ns() reads.
inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Calls fn(key, value) for every entry of `map` (key type K, value type V). Entries come and
// go during the walk (LRU): it is bounded by the map's size and sees each entry at most once.
template <typename K, typename V, typename Fn>
Status walk_map(const struct bpf_map* map, const char* what, Fn&& fn) {
  const int fd = bpf_map__fd(map);
  const uint32_t max_entries = bpf_map__max_entries(map);
  constexpr uint32_t kBatch = 4096;
  std::vector<K> keys(kBatch);
  std::vector<V> values(kBatch);
  K out_batch{};
  void* in_batch = nullptr;
  for (uint64_t seen = 0; seen <= max_entries;) {
    uint32_t n = kBatch;
    int err = bpf_map_lookup_batch(fd, in_batch, &out_batch, keys.data(), values.data(), &n, nullptr);
    const int saved_errno = errno;
    for (uint32_t i = 0; i < n; ++i) fn(keys[i], values[i]);
    seen += n;
    if (err) {
      if (saved_errno == ENOENT) break;  // walked to the end
      return make_error(std::string("walking the ") + what + " failed: " + std::strerror(saved_errno));
    }
    in_batch = &out_batch;
  }
  return {};
}

}  // namespace xdplb
