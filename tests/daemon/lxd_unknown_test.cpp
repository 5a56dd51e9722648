// The daemon's container poll against a fake LXD (a unix socket under LXD_DIR answering canned
// responses): an API error or a malformed answer is "unknown" (keep the last state), never
// "down" and never an exception; a 404 says the container is not there.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "containers/resolver.h"
#include "core/fd.h"

namespace xdplb {
namespace {

// Answers every request on <dir>/unix.socket with `response` until destroyed.
class FakeLxd {
 public:
  explicit FakeLxd(std::string response) : response_(std::move(response)) {
    char tmpl[] = "/tmp/dm-lxd-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string path = dir_ + "/unix.socket";
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_.get(), 8) != 0)
      throw std::runtime_error("fake LXD socket");
    ::setenv("LXD_DIR", dir_.c_str(), 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeLxd() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
    ::unsetenv("LXD_DIR");
    ::unlink((dir_ + "/unix.socket").c_str());
    ::rmdir(dir_.c_str());
  }

 private:
  void serve() {
    while (!stop_) {
      UniqueFd c(::accept(listener_.get(), nullptr, nullptr));
      if (!c.valid()) return;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c.get(), buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      (void)!::write(c.get(), response_.data(), response_.size());
    }
  }
  std::string response_;
  std::string dir_;
  UniqueFd listener_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

std::string http(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

ContainerLookup look() {
  ResolveOptions o;
  o.source = ContainerSource::Lxd;
  o.wait = std::chrono::milliseconds(0);
  return lookup_container("dmweb1", o);
}

TEST(LxdUnknown, AnApiErrorIsUnknownNotDown) {
  FakeLxd lxd(http(500, R"({"type":"error","error":"database is not available","error_code":500})"));
  auto r = look();
  ASSERT_FALSE(r.info.ok());
  EXPECT_TRUE(r.unknown) << r.info.error();
  EXPECT_NE(r.info.error().find("500"), std::string::npos) << r.info.error();
}

TEST(LxdUnknown, AMalformedAnswerIsUnknownAndThrowsNothing) {
  FakeLxd lxd(http(200, R"({"type":"sync","metadata":[1,2,3]})"));
  ContainerLookup r{make_error("")};
  EXPECT_NO_THROW(r = look());
  EXPECT_TRUE(r.unknown) << r.info.error();
  ResolveOptions o;
  o.source = ContainerSource::Lxd;
  o.wait = std::chrono::milliseconds(0);
  EXPECT_NO_THROW((void)resolve_container("dmweb1", o)) << "a malformed answer must not throw";
}

TEST(LxdUnknown, A404SaysTheContainerIsNotThere) {
  FakeLxd lxd(http(404, R"({"type":"error","error":"Instance not found","error_code":404})"));
  auto r = look();
  ASSERT_FALSE(r.info.ok());
  EXPECT_FALSE(r.unknown) << "not found is known: " << r.info.error();
}

}  // namespace
}  // namespace xdplb
