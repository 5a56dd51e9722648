// A checksum of a service's Maglev ring, for comparing nodes behind ECMP: nodes that show the
// same checksum place every flow of the service on the same backend. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/maglev.h"
#include "core/result.h"

namespace xdplb {

// The hash of the ring built from `members`, taken over each slot's backend key (not its id:
// ids are local to a node, keys are what nodes agree on). The same backends and weights give
// the same checksum in any order; another weight, key or ring size gives another one.
Result<uint64_t> ring_checksum(std::vector<MaglevBackend> members, uint32_t ring_size = XDPLB_MAGLEV_RING_SIZE);

// 16 lower-case hex digits.
std::string checksum_text(uint64_t checksum);

}  // namespace xdplb
