// A minimal HTTP/1.1 server for GET /metrics, on a thread of its own: one connection at a
// time, `Connection: close`, requests bounded to kMaxRequest bytes and kIoTimeout per read and
// write. Anything but GET /metrics gets 404 or 405. Enough for Prometheus scrapes; not a web
// server.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/fd.h"
#include "core/ip.h"
#include "core/result.h"

namespace xdplb::observe {

inline constexpr size_t kMaxRequest = 8192;
inline constexpr std::chrono::milliseconds kIoTimeout{2000};

// The body of /metrics, or an error (answered 500 with the message).
using MetricsHandler = std::function<Result<std::string>()>;

class MetricsServer {
 public:
  // Binds and listens (errors here, such as a port in use, come back at once), then serves on
  // a thread until destroyed.
  static Result<std::unique_ptr<MetricsServer>> start(const Endpoint& where, MetricsHandler handler);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  uint16_t port() const { return port_; }  // as bound (where.port 0: the kernel's choice)

 private:
  MetricsServer(UniqueFd fd, uint16_t port, MetricsHandler h) : fd_(std::move(fd)), port_(port), handler_(std::move(h)) {}
  void serve();
  void answer(int conn);

  UniqueFd fd_;
  uint16_t port_;
  MetricsHandler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The response to one request's text (pure; for tests): status line, headers, body.
std::string http_response(const std::string& request, const MetricsHandler& handler);

}  // namespace xdplb::observe
