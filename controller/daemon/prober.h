// Non-blocking health probes, many at once on one epoll set (no thread per backend):
// a TCP connect, or an HTTP/1.0 GET whose status must fall in a range. Each probe has a
// deadline; the daemon polls fd() with its other events and calls poll() when it is readable
// or a deadline passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/ip.h"
#include "core/result.h"

namespace xdplb {

using ProbeClock = std::chrono::steady_clock;

struct ProbeRequest {
  uint32_t id = 0;  // the backend's id; one probe per id at a time
  IpAddress addr;
  uint16_t port = 0;
  bool http = false;
  std::string path = "/";
  uint16_t expect_min = 200, expect_max = 399;
  std::chrono::milliseconds timeout{1000};
};

struct ProbeOutcome {
  uint32_t id = 0;
  bool ok = false;
  std::string reason;  // "connected", "HTTP 200", "connection refused", "timed out after 1000 ms"...
  std::chrono::microseconds took{0};
};

// The status code of an HTTP response's status line ("HTTP/1.1 200 OK"), or nullopt if `head`
// does not start with a complete, well-formed one yet.
std::optional<int> parse_http_status(const std::string& head);

class Prober {
 public:
  static Result<Prober> create();

  int fd() const { return epoll_.get(); }
  // Starts a probe; a running probe of the same id is abandoned. A probe that fails at once
  // (no socket, unreachable) finishes on the next poll().
  void start(const ProbeRequest& req, ProbeClock::time_point now);
  bool running(uint32_t id) const { return by_id_.count(id) != 0; }
  void cancel(uint32_t id);
  // Advances ready probes and expires late ones; returns the probes that finished.
  std::vector<ProbeOutcome> poll(ProbeClock::time_point now);
  // The earliest deadline of a running probe.
  std::optional<ProbeClock::time_point> next_deadline() const;

 private:
  enum class Phase { Connecting, Sending, Reading };
  struct Probe {
    ProbeRequest req;
    UniqueFd sock;
    Phase phase = Phase::Connecting;
    ProbeClock::time_point started, deadline;
    std::string request;  // HTTP request bytes still to send
    std::string response;
  };
  explicit Prober(UniqueFd epoll) : epoll_(std::move(epoll)) {}
  // Returns an outcome when the probe is finished.
  std::optional<ProbeOutcome> advance(Probe& p, uint32_t events, ProbeClock::time_point now);
  ProbeOutcome finish(int fd, bool ok, std::string reason, ProbeClock::time_point now);

  UniqueFd epoll_;
  std::map<int, Probe> probes_;      // by socket fd
  std::map<uint32_t, int> by_id_;    // backend id -> socket fd
  std::vector<ProbeOutcome> failed_at_start_;
};

}  // namespace xdplb
