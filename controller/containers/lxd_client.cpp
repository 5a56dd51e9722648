#include "containers/lxd_client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/fd.h"

namespace xdplb {

namespace {

constexpr size_t kMaxResponseBytes = 16 << 20;  // a recursion=2 listing of many instances

std::vector<std::string> lxd_dirs() {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("LXD_DIR"); d && *d) dirs.emplace_back(d);
  dirs.emplace_back("/var/snap/lxd/common/lxd");
  dirs.emplace_back("/var/lib/lxd");
  return dirs;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

std::optional<LxdSite> find_lxd() {
  for (const auto& dir : lxd_dirs()) {
    if (is_socket(dir + "/unix.socket")) return LxdSite{dir + "/unix.socket", dir + "/containers"};
  }
  return std::nullopt;
}

std::string lxd_socket_candidates() {
  std::string out;
  for (const auto& dir : lxd_dirs()) out += (out.empty() ? "" : ", ") + dir + "/unix.socket";
  return out;
}

Result<HttpResponse> parse_http_response(std::string_view raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.substr(0, 5) != "HTTP/" || head_end == std::string_view::npos)
    return make_error("not an HTTP response");
  const auto sp = raw.find(' ');
  if (sp == std::string_view::npos || sp + 4 > raw.size()) return make_error("no HTTP status");
  HttpResponse r;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (raw[i] < '0' || raw[i] > '9') return make_error("bad HTTP status");
    r.status = r.status * 10 + (raw[i] - '0');
  }
  r.body = std::string(raw.substr(head_end + 4));
  return r;
}

Result<HttpResponse> LxdClient::get(const std::string& path) const {
  const std::string what = "LXD API GET " + path + " on " + socket_;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(what + ": socket: " + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = timeout_.count() / 1000;
  tv.tv_usec = (timeout_.count() % 1000) * 1000;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof addr.sun_path) return make_error(what + ": socket path too long");
  std::memcpy(addr.sun_path, socket_.c_str(), socket_.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return make_error(what + ": connect: " + std::strerror(errno) +
                      " (is the LXD daemon running?)");

  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: lxd\r\nUser-Agent: xdplb\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(what + ": send: " + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(what + ": " +
                        (errno == EAGAIN ? std::string("no answer in time")
                                         : std::string("recv: ") + std::strerror(errno)));
    }
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > kMaxResponseBytes) return make_error(what + ": response too large");
  }
  return with_context(parse_http_response(raw), what);
}

Result<nlohmann::json> LxdClient::get_metadata(const std::string& path) const {
  auto r = get(path);
  if (!r) return make_error(r.error());
  auto body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return make_error("LXD API GET " + path + ": the answer is not JSON");
  if (r->status != 200) {
    return make_error("LXD API GET " + path + ": " + std::to_string(r->status) + " " +
                      body.value("error", std::string("(no message)")));
  }
  return body.value("metadata", nlohmann::json());
}

}  // namespace xdplb
