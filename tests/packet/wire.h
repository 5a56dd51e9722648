// Byte-level helpers of the packet builders and readers (packet.cpp, packet6.cpp, frames.cpp):
// big-endian fields and the RFC 1071 one's complement sum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "packet.h"

namespace xdplb::test::wire {

inline void put16(Bytes& b, size_t at, uint16_t v) { b[at] = v >> 8, b[at + 1] = v & 0xff; }
inline void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (24 - 8 * i)) & 0xff;
}
inline uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
// One's complement sum over big-endian 16-bit words, added to acc.
inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
  return acc;
}
inline uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

}  // namespace xdplb::test::wire
