// Finding the cgroup v2 root and the current network namespace's cookie: the two facts the
// host-local hooks are attached with.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/fd.h"
#include "hostlocal/hostlocal.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71  // Linux 5.14; older glibc headers lack it
#endif

namespace xdplb::hostlocal {

std::vector<IpAddress> loopback_vips() {
  static constexpr uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return {IpAddress::v4(htonl(0x7f000001)), IpAddress::from_bytes(AF_INET6, kLoopback6)};
}

Result<std::string> cgroup2_root() {
  std::ifstream mounts("/proc/mounts");
  if (!mounts) return make_error(std::string("reading /proc/mounts failed: ") + std::strerror(errno));
  std::string line;
  std::string best;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source, target, type;
    if (!(fields >> source >> target >> type) || type != "cgroup2") continue;
    // Several mounts of the same hierarchy (bind mounts) work alike: take the shortest path.
    if (best.empty() || target.size() < best.size()) best = target;
  }
  if (best.empty())
    return make_error("no cgroup v2 filesystem is mounted (host-local clients need one: "
                      "mount -t cgroup2 none /sys/fs/cgroup/unified, or attach with --no-host-local)");
  return best;
}

Result<uint64_t> current_netns_cookie() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return make_error(std::string("creating a socket failed: ") + std::strerror(errno));
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    return make_error(std::string("reading the network namespace cookie failed: ") + std::strerror(errno) +
                      " (SO_NETNS_COOKIE needs Linux 5.14 or later)");
  return cookie;
}

}  // namespace xdplb::hostlocal
