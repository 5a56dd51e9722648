// Maglev consistent hashing: a pure function from a pool's backends to the lookup ring the
// datapath indexes with a flow hash. Every node that builds a ring from the same backends gets
// the same ring (the hash is our own, fixed, and input order does not matter), so a flow that
// moves between load balancers lands on the same backend; removing one of N backends moves
// only about 1/N of the slots.
#pragma once

#include <xdplb/abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace xdplb {

struct MaglevBackend {
  uint32_t id = 0;      // backend id the ring stores (< XDPLB_MAX_BACKENDS)
  std::string key;      // stable identity that is hashed, e.g. "10.0.3.11:80" or "web1"
  uint32_t weight = 1;  // 1..XDPLB_MAX_WEIGHT; share of slots is proportional to it
};

bool is_prime(uint32_t n);

// The 64-bit hash behind the permutations. Part of the cross-node contract: changing it
// changes every ring, so tests pin its values.
uint64_t maglev_hash(std::string_view key, uint64_t seed);

// Where a key's permutation starts and how it steps, for a ring of `ring_size` slots.
struct MaglevPermutation {
  uint32_t offset = 0;  // 0..ring_size-1
  uint32_t skip = 1;    // 1..ring_size-1
};
MaglevPermutation maglev_permutation(std::string_view key, uint32_t ring_size);

// Checks what build_maglev_ring needs: prime ring size within 2..XDPLB_MAGLEV_RING_SIZE and
// larger than the number of backends; unique ids and keys; ids and weights in range.
Status check_maglev_input(const std::vector<MaglevBackend>& backends, uint32_t ring_size);

// The ring: ring_size backend ids, every slot filled; all XDPLB_NO_BACKEND if `backends` is
// empty.
Result<std::vector<uint32_t>> build_maglev_ring(std::vector<MaglevBackend> backends,
                                                uint32_t ring_size = XDPLB_MAGLEV_RING_SIZE);

}  // namespace xdplb
