#include "observe/root_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xdplb::observe {

Result<UniqueFd> listen_root_socket(const std::string& path, const std::string& what, int backlog) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return make_error(what + " path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return make_error(what + ": " + std::strerror(errno));
  ::unlink(path.c_str());  // left by a daemon that died (the pid file lock says none runs)
  const mode_t old = ::umask(077);
  const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0) return make_error("cannot bind the " + what + " " + path + ": " + std::strerror(errno));
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), backlog) != 0) return make_error(what + ": listen: " + std::strerror(errno));
  return fd;
}

bool peer_is_root(int conn) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

}  // namespace xdplb::observe
