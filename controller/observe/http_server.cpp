#include "observe/http_server.h"
#include "observe/quiet_thread.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xdplb::observe {

namespace {

std::string reply(int code, const char* reason, const std::string& type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Waits until fd is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
}

}  // namespace

std::string http_response(const std::string& request, const MetricsHandler& handler) {
  const auto eol = request.find("\r\n");
  const std::string line = request.substr(0, eol);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0)
    return reply(400, "Bad Request", "text/plain", "bad request\n");
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") return reply(404, "Not Found", "text/plain", "only /metrics is here\n");
  if (method != "GET" && method != "HEAD") return reply(405, "Method Not Allowed", "text/plain", "GET only\n");
  auto body = handler();
  if (!body) return reply(500, "Internal Server Error", "text/plain", body.error() + "\n");
  std::string r = reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", *body);
  if (method == "HEAD") r.resize(r.find("\r\n\r\n") + 4);
  return r;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const Endpoint& where, MetricsHandler handler) {
  const int family = where.addr.is_v6() ? AF_INET6 : AF_INET;
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return make_error(std::string("metrics socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(where.addr, where.port, ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return make_error("metrics: cannot bind " + where.to_string() + ": " + std::strerror(errno) +
                      " (another process on that port? choose one with --metrics ADDR:PORT, or --metrics off)");
  if (::listen(fd.get(), 16) != 0) return make_error(std::string("metrics: listen: ") + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  const uint16_t port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::unique_ptr<MetricsServer> s(new MetricsServer(std::move(fd), port, std::move(handler)));
  s->thread_ = quiet_thread([raw = s.get()] { raw->serve(); });
  return s;
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::serve() {
  while (!stop_) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) != 1) continue;  // wakes up to see stop_
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn.valid()) answer(conn.get());
  }
}

void MetricsServer::answer(int conn) {
  const auto deadline = std::chrono::steady_clock::now() + kIoTimeout;
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos) {
    if (req.size() >= kMaxRequest) {
      req.clear();  // too big: answered 400
      break;
    }
    if (!wait_fd(conn, POLLIN, deadline)) return;  // slow or silent client: dropped
    const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
  }
  const std::string out = http_response(req, handler_);
  size_t sent = 0;
  const auto write_deadline = std::chrono::steady_clock::now() + kIoTimeout;
  while (sent < out.size()) {
    if (!wait_fd(conn, POLLOUT, write_deadline)) return;
    const ssize_t n = ::send(conn, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace xdplb::observe
