// The Internet checksum from scratch (RFC 1071), for the test tools that build frames or check
// what the datapath wrote: a one's complement sum over big-endian 16-bit words, and its fold.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xdplb::test {

inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += (p[i] << 8) | p[i + 1];
  if (n & 1) acc += p[n - 1] << 8;
  return acc;
}

inline uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

}  // namespace xdplb::test
