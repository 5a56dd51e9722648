// IpPrefix: an address with a prefix length (10.0.3.0/24, fd42::/64), host bits cleared, and
// whether it contains an address.
#pragma once

#include <string>

#include "core/ip.h"

namespace xdplb {

struct IpPrefix {
  IpAddress addr;  // host bits zero
  int len = 0;     // 0..32 (IPv4) or 0..128 (IPv6)

  // The prefix of `len` bits containing addr (an interface address and its prefix length give
  // its subnet). len is clamped to the family's width.
  static IpPrefix of(const IpAddress& addr, int len);
  // addr alone: /32 or /128.
  static IpPrefix host(const IpAddress& addr);

  bool contains(const IpAddress& a) const;
  std::string to_string() const;  // "10.0.3.0/24"
  auto operator<=>(const IpPrefix&) const = default;
};

}  // namespace xdplb
