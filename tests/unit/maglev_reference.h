// The Maglev ring build as it was before it was made fast (one modulo per permutation step,
// the ring itself as the "taken" test), kept verbatim as the reference the fast build must
// match slot for slot: nodes running either build must agree on every ring. Used by
// maglev_test (equality) and xdplb_bench_maglev (the baseline of the build-time ratio).
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/maglev.h"

namespace xdplb::reference {

// The input checks as they were (ordered sets; the messages left out): true if the input is
// fine.
inline bool check_input(const std::vector<MaglevBackend>& backends, uint32_t ring_size) {
  if (ring_size > XDPLB_MAGLEV_RING_SIZE || !is_prime(ring_size) || backends.size() >= ring_size) return false;
  std::set<uint32_t> ids;
  std::set<std::string_view> keys;
  for (const auto& b : backends) {
    const std::string who = "backend " + std::to_string(b.id) + " ('" + b.key + "')";  // built as before
    if (b.id >= XDPLB_MAX_BACKENDS || b.weight < 1 || b.weight > XDPLB_MAX_WEIGHT || b.key.empty()) return false;
    if (!ids.insert(b.id).second || !keys.insert(b.key).second) return false;
  }
  return true;
}

// Returns an empty vector where the real build fails.
inline std::vector<uint32_t> build_maglev_ring(std::vector<MaglevBackend> backends,
                                               uint32_t ring_size = XDPLB_MAGLEV_RING_SIZE) {
  if (!check_input(backends, ring_size)) return {};
  std::vector<uint32_t> ring(ring_size, XDPLB_NO_BACKEND);
  if (backends.empty()) return ring;
  std::sort(backends.begin(), backends.end(),
            [](const MaglevBackend& a, const MaglevBackend& b) { return a.key < b.key; });
  const size_t n = backends.size();
  std::vector<MaglevPermutation> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = maglev_permutation(backends[i].key, ring_size);
  uint32_t max_weight = 0;
  for (const auto& b : backends) max_weight = std::max(max_weight, b.weight);
  std::vector<uint64_t> credit(n, 0);
  std::vector<uint32_t> next(n, 0);
  uint32_t filled = 0;
  for (uint32_t round = 0; round < ring_size; ++round) {
    for (size_t i = 0; i < n; ++i) {
      credit[i] += backends[i].weight;
      if (credit[i] < max_weight) continue;
      credit[i] -= max_weight;
      uint32_t slot = 0;
      do {
        if (next[i] >= ring_size) return {};
        slot = static_cast<uint32_t>(
            (perm[i].offset + static_cast<uint64_t>(next[i]) * perm[i].skip) % ring_size);
        ++next[i];
      } while (ring[slot] != XDPLB_NO_BACKEND);
      ring[slot] = backends[i].id;
      if (++filled == ring_size) return ring;
    }
  }
  return {};
}

}  // namespace xdplb::reference
