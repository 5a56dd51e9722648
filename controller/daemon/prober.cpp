#include "daemon/prober.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace xdplb {

namespace {

std::chrono::microseconds since(ProbeClock::time_point start, ProbeClock::time_point now) {
  return std::chrono::duration_cast<std::chrono::microseconds>(now - start);
}

}  // namespace

std::optional<int> parse_http_status(const std::string& head) {
  const size_t eol = head.find("\r\n");
  if (eol == std::string::npos) return std::nullopt;
  // "HTTP/1.x NNN ..."
  if (eol < 12 || head.compare(0, 7, "HTTP/1.") != 0 || head[8] != ' ') return std::nullopt;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return std::nullopt;
    code = code * 10 + (head[i] - '0');
  }
  if (eol > 12 && head[12] != ' ') return std::nullopt;
  return code;
}

Result<Prober> Prober::create() {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return make_error(std::string("cannot create an epoll set for health probes: ") +
                                     std::strerror(errno));
  return Prober(std::move(ep));
}

ProbeOutcome Prober::finish(int fd, bool ok, std::string reason, ProbeClock::time_point now) {
  auto it = probes_.find(fd);
  ProbeOutcome out{it->second.req.id, ok, std::move(reason), since(it->second.started, now)};
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  // Reset rather than close politely: no TIME_WAIT left behind per probe.
  struct linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  by_id_.erase(it->second.req.id);
  probes_.erase(it);
  return out;
}

void Prober::cancel(uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  (void)finish(it->second, false, "cancelled", ProbeClock::now());
}

void Prober::start(const ProbeRequest& req, ProbeClock::time_point now) {
  cancel(req.id);
  auto fail_now = [&](const std::string& why) {
    failed_at_start_.push_back({req.id, false, why, std::chrono::microseconds(0)});
  };
  if (!req.addr.is_v4() && !req.addr.is_v6()) return fail_now("no address to probe");
  const int family = req.addr.is_v4() ? AF_INET : AF_INET6;
  UniqueFd sock(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return fail_now(std::string("cannot create a socket: ") + std::strerror(errno));

  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(req.addr, req.port, ss);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
    return fail_now(std::strerror(errno));

  const int fd = sock.get();
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return fail_now(std::string("epoll: ") + std::strerror(errno));
  Probe p;
  p.req = req;
  p.sock = std::move(sock);
  p.started = now;
  p.deadline = now + req.timeout;
  if (req.http)
    p.request = "GET " + req.path + " HTTP/1.0\r\nHost: " + req.addr.to_string() +
                "\r\nUser-Agent: xdplb-health\r\nConnection: close\r\n\r\n";
  probes_.emplace(fd, std::move(p));
  by_id_[req.id] = fd;
}

std::optional<ProbeOutcome> Prober::advance(Probe& p, uint32_t events, ProbeClock::time_point now) {
  const int fd = p.sock.get();
  if (p.phase == Phase::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return finish(fd, false, std::strerror(err), now);
    if (!(events & EPOLLOUT)) return std::nullopt;
    if (!p.req.http) return finish(fd, true, "connected", now);
    p.phase = Phase::Sending;
  }
  if (p.phase == Phase::Sending) {
    while (!p.request.empty()) {
      ssize_t n = ::send(fd, p.request.data(), p.request.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) return std::nullopt;
      if (n < 0) return finish(fd, false, std::string("sending the request: ") + std::strerror(errno), now);
      p.request.erase(0, static_cast<size_t>(n));
    }
    p.phase = Phase::Reading;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
    return std::nullopt;
  }
  char buf[512];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) return std::nullopt;
    if (n < 0) return finish(fd, false, std::string("reading the response: ") + std::strerror(errno), now);
    if (n > 0) p.response.append(buf, static_cast<size_t>(n));
    if (auto code = parse_http_status(p.response)) {
      const bool ok = *code >= p.req.expect_min && *code <= p.req.expect_max;
      return finish(fd, ok,
                    "HTTP " + std::to_string(*code) +
                        (ok ? "" : " (expected " + std::to_string(p.req.expect_min) + "-" +
                                       std::to_string(p.req.expect_max) + ")"),
                    now);
    }
    if (n == 0 || p.response.size() > 4096)
      return finish(fd, false, "no HTTP status line in the response", now);
  }
}

std::vector<ProbeOutcome> Prober::poll(ProbeClock::time_point now) {
  std::vector<ProbeOutcome> done = std::move(failed_at_start_);
  failed_at_start_.clear();
  epoll_event events[64];
  for (int round = 0; round < 16; ++round) {  // bounded: at most 1024 events per call
    const int n = ::epoll_wait(epoll_.get(), events, 64, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      auto it = probes_.find(events[i].data.fd);
      if (it == probes_.end()) continue;
      if (auto out = advance(it->second, events[i].events, now)) done.push_back(std::move(*out));
    }
    if (n < 64) break;
  }
  std::vector<int> late;
  for (const auto& [fd, p] : probes_)
    if (now >= p.deadline) late.push_back(fd);
  for (int fd : late) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(probes_.at(fd).req.timeout);
    done.push_back(finish(fd, false, "timed out after " + std::to_string(ms.count()) + " ms", now));
  }
  return done;
}

std::optional<ProbeClock::time_point> Prober::next_deadline() const {
  std::optional<ProbeClock::time_point> next;
  for (const auto& [fd, p] : probes_)
    if (!next || p.deadline < *next) next = p.deadline;
  return next;
}

}  // namespace xdplb
