// The socket helpers of sockets.h.
#include "sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <cerrno>

namespace xdplb::test {

SockAddr sock_addr(int af, const std::string& ip, uint16_t port) {
  SockAddr a;
  if (af == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&a.ss);
    s->sin_family = AF_INET, s->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &s->sin_addr);
    a.len = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&a.ss);
    s->sin6_family = AF_INET6, s->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &s->sin6_addr);
    a.len = sizeof(sockaddr_in6);
  }
  return a;
}

std::string text(const SockAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&a.ss);
    return std::string(inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf)) + " " + std::to_string(ntohs(s->sin_port));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(&a.ss);
  return std::string(inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf)) + " " + std::to_string(ntohs(s->sin6_port));
}

std::string text(int af, const std::string& ip, uint16_t port) { return text(sock_addr(af, ip, port)); }

UniqueFd bound(int af, int type, const std::string& ip, uint16_t port) {
  UniqueFd fd(::socket(af, type | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  SockAddr a = sock_addr(af, ip, port);
  if (::bind(fd.get(), a.get(), a.len) != 0) return UniqueFd();
  if (type == SOCK_STREAM && ::listen(fd.get(), 16) != 0) return UniqueFd();
  return fd;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

int connect_errno(int fd, const SockAddr& a) { return ::connect(fd, a.get(), a.len) == 0 ? 0 : errno; }

}  // namespace xdplb::test
