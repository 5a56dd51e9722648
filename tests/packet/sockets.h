// Real sockets for the live tests (host-local hooks, hairpin over a real bridge): addresses
// from text, bound/listening sockets, a bounded wait for readability.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/fd.h"

namespace xdplb::test {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = sizeof(sockaddr_storage);
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
};

SockAddr sock_addr(int af, const std::string& ip, uint16_t port);
// "ip port", for comparisons that print well.
std::string text(const SockAddr& a);
std::string text(int af, const std::string& ip, uint16_t port);
// A socket bound to ip:port (listening if SOCK_STREAM), created in the caller's namespace;
// invalid on failure (errno says why).
UniqueFd bound(int af, int type, const std::string& ip, uint16_t port);
// Waits (bounded) until fd is readable; false on timeout.
bool readable(int fd, int timeout_ms = 3000);
// A connect's errno (0 on success).
int connect_errno(int fd, const SockAddr& a);

}  // namespace xdplb::test
