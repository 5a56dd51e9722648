// Mac: an Ethernet address as the controller passes it around (backend MACs, bridge MAC,
// neighbour and FDB entries), with conversion to and from "aa:bb:cc:dd:ee:ff".
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/result.h"

namespace xdplb {

using Mac = std::array<uint8_t, 6>;

inline std::string to_string(const Mac& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

// Accepts exactly six two-digit hex groups separated by ':' (either case).
inline Result<Mac> parse_mac(std::string_view text) {
  auto bad = [&] {
    return make_error("'" + std::string(text) + "' is not a MAC address (want aa:bb:cc:dd:ee:ff)");
  };
  if (text.size() != 17) return bad();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Mac mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return bad();
    const int hi = nibble(text[at]), lo = nibble(text[at + 1]);
    if (hi < 0 || lo < 0) return bad();
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

inline bool is_zero(const Mac& mac) { return mac == Mac{}; }

}  // namespace xdplb
