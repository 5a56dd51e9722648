// IpAddress: an IPv4 or IPv6 address as the controller passes it around, with conversion to
// and from text and to the datapath's union xdplb_addr.
#pragma once

#include <sys/socket.h>
#include <xdplb/abi.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace xdplb {

struct IpAddress {
  int family = 0;                    // AF_INET or AF_INET6; 0 = unset
  std::array<uint8_t, 16> bytes{};   // network order; IPv4 uses the first 4

  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t network_order);
  static IpAddress from_bytes(int family, const void* data);

  std::string to_string() const;
  union xdplb_addr to_abi() const;
  static IpAddress from_abi(const union xdplb_addr& a, int family);

  bool is_v4() const;
  bool is_v6() const;
  auto operator<=>(const IpAddress&) const = default;
};

// An address and a port (host order): a backend or a service as the user writes it.
struct Endpoint {
  IpAddress addr;
  uint16_t port = 0;

  // "10.0.3.11:80" or "[fd42::11]:80".
  std::string to_string() const;
  auto operator<=>(const Endpoint&) const = default;
};

// The socket address of addr:port (host order); returns its length for bind/connect.
socklen_t to_sockaddr(const IpAddress& addr, uint16_t port, sockaddr_storage& out);

}  // namespace xdplb
