#include "core/ip.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace xdplb {

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return make_error("'" + s + "' is not an IPv4 or IPv6 address (e.g. 10.0.3.11 or fd42::11)");
}

IpAddress IpAddress::v4(uint32_t network_order) {
  return from_bytes(AF_INET, &network_order);
}

IpAddress IpAddress::from_bytes(int family, const void* data) {
  IpAddress a;
  a.family = family;
  std::memcpy(a.bytes.data(), data, family == AF_INET ? 4 : 16);
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "(none)";
  inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

union xdplb_addr IpAddress::to_abi() const {
  union xdplb_addr out {};
  std::memcpy(&out, bytes.data(), family == AF_INET ? 4 : 16);
  return out;
}

IpAddress IpAddress::from_abi(const union xdplb_addr& a, int family) {
  return from_bytes(family, &a);
}

bool IpAddress::is_v4() const { return family == AF_INET; }
bool IpAddress::is_v6() const { return family == AF_INET6; }

std::string Endpoint::to_string() const {
  const std::string port_text = ":" + std::to_string(port);
  return addr.is_v6() ? "[" + addr.to_string() + "]" + port_text : addr.to_string() + port_text;
}

socklen_t to_sockaddr(const IpAddress& addr, uint16_t port, sockaddr_storage& out) {
  out = {};
  if (addr.is_v6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr.bytes.data(), 16);
    return sizeof *sin6;
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&out);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  std::memcpy(&sin->sin_addr, addr.bytes.data(), 4);
  return sizeof *sin;
}

}  // namespace xdplb
