// Byte-level helpers of the packet builders and readers (packet.cpp, packet6.cpp, frames.cpp):
// big-endian fields (the RFC 1071 sum: inet_csum.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "inet_csum.h"
#include "packet.h"

namespace xdplb::test::wire {

inline void put16(Bytes& b, size_t at, uint16_t v) { b[at] = v >> 8, b[at + 1] = v & 0xff; }
inline void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (24 - 8 * i)) & 0xff;
}
inline uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
// The RFC 1071 sum and its fold, from the one place the test tools share (inet_csum.h).
using xdplb::test::fold;
using xdplb::test::sum16;

}  // namespace xdplb::test::wire
