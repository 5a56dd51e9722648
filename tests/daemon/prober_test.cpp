// Probes against real listeners on 127.0.0.1 (no root): connect, refused, HTTP status in and
// out of range, garbage, and a server that never answers (timeout).
#include "daemon/prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace xdplb {
namespace {

using namespace std::chrono_literals;

TEST(ParseHttpStatus, ReadsTheStatusLine) {
  EXPECT_EQ(parse_http_status("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parse_http_status("HTTP/1.0 503 Service Unavailable\r\nX: y\r\n"), 503);
  EXPECT_EQ(parse_http_status("HTTP/1.1 204\r\n"), 204);
  EXPECT_FALSE(parse_http_status("HTTP/1.1 200 OK")) << "incomplete line";
  EXPECT_FALSE(parse_http_status("SSH-2.0-OpenSSH\r\n"));
  EXPECT_FALSE(parse_http_status("HTTP/1.1 2x0 OK\r\n"));
  EXPECT_FALSE(parse_http_status("HTTP/1.1 2000 OK\r\n"));
}

// A listener on 127.0.0.1 with an ephemeral port; `reply` (if not empty) is sent to every
// client after it sent its request; with `silent` it accepts and never answers.
class Server {
 public:
  Server(std::string reply, bool silent = false) : reply_(std::move(reply)), silent_(silent) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 256);  // room for every probe of the burst test
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) { if (c >= 0) ::close(c); return; }
        if (!silent_) {
          char buf[1024];
          (void)!::recv(c, buf, sizeof buf, 0);
          (void)!::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
          ::close(c);
        } else {
          held_.push_back(c);
        }
      }
    });
  }
  ~Server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    for (int c : held_) ::close(c);
  }
  uint16_t port() const { return port_; }

 private:
  std::string reply_;
  bool silent_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

ProbeRequest request(uint16_t port, bool http, std::chrono::milliseconds timeout = 1000ms) {
  ProbeRequest r;
  r.id = 7;
  r.addr = *IpAddress::parse("127.0.0.1");
  r.port = port;
  r.http = http;
  r.timeout = timeout;
  return r;
}

// Runs one probe to its end (bounded by 5 s).
ProbeOutcome run(const ProbeRequest& req) {
  auto p = Prober::create();
  EXPECT_TRUE(p) << p.error();
  p->start(req, ProbeClock::now());
  const auto end = ProbeClock::now() + 5s;
  while (ProbeClock::now() < end) {
    auto done = p->poll(ProbeClock::now());
    if (!done.empty()) {
      EXPECT_EQ(done.size(), 1u);
      EXPECT_FALSE(p->running(req.id));
      return done.front();
    }
    std::this_thread::sleep_for(5ms);
  }
  ADD_FAILURE() << "probe never finished";
  return {};
}

TEST(Prober, TcpConnectSucceeds) {
  Server s("");
  auto out = run(request(s.port(), false));
  EXPECT_TRUE(out.ok) << out.reason;
  EXPECT_EQ(out.id, 7u);
}

TEST(Prober, RefusedConnectFails) {
  uint16_t port;
  { Server s(""); port = s.port(); }  // closed again: nothing listens there now
  auto out = run(request(port, false));
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("refused"), std::string::npos) << out.reason;
}

TEST(Prober, HttpStatusInRangeIsHealthy) {
  Server s("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
  auto out = run(request(s.port(), true));
  EXPECT_TRUE(out.ok) << out.reason;
  EXPECT_EQ(out.reason, "HTTP 204");
}

TEST(Prober, HttpStatusOutOfRangeFails) {
  Server s("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  auto out = run(request(s.port(), true));
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("503"), std::string::npos) << out.reason;
}

TEST(Prober, NotHttpFails) {
  Server s("hello\n");
  auto out = run(request(s.port(), true));
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("no HTTP status"), std::string::npos) << out.reason;
}

TEST(Prober, SilentServerTimesOut) {
  Server s("", true);
  const auto t0 = ProbeClock::now();
  auto out = run(request(s.port(), true, 200ms));
  const auto took = ProbeClock::now() - t0;
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("timed out"), std::string::npos) << out.reason;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1000ms);
}

TEST(Prober, ManyProbesAtOnceOnOneEpollSet) {
  Server good("HTTP/1.0 200 OK\r\n\r\n");
  auto p = Prober::create();
  ASSERT_TRUE(p);
  for (uint32_t id = 0; id < 50; ++id) {
    auto r = request(good.port(), true);
    r.id = id;
    p->start(r, ProbeClock::now());
  }
  size_t ok = 0, done = 0;
  const auto end = ProbeClock::now() + 5s;
  while (done < 50 && ProbeClock::now() < end) {
    for (const auto& o : p->poll(ProbeClock::now())) {
      ++done;
      ok += o.ok;
      if (!o.ok) ADD_FAILURE() << "probe " << o.id << ": " << o.reason;
    }
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(done, 50u);
  EXPECT_EQ(ok, 50u);
}

}  // namespace
}  // namespace xdplb
