// What the daemon holds to be observed: its control-plane counters, the /metrics endpoint and
// the event stream. The daemon calls metrics() and emit() at its transition points; the
// endpoint reads the pinned maps and the saved state itself on its own thread, so a scrape
// never stalls the daemon's loop.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/ip.h"
#include "core/result.h"
#include "core/state.h"
#include "observe/events.h"
#include "observe/http_server.h"
#include "observe/metrics.h"

namespace xdplb::observe {

struct ObserverOptions {
  std::string bridge, pin_dir, state_dir;
  std::optional<Endpoint> metrics;  // nullopt: no /metrics
  bool events = true;               // the events socket
};

class Observer {
 public:
  static Result<std::unique_ptr<Observer>> start(const ObserverOptions& o);
  ControlMetrics& metrics() { return *control_; }
  void emit(const Event& e) {
    if (events_) events_->emit(e);
  }
  std::optional<uint16_t> metrics_port() const {
    return server_ ? std::optional<uint16_t>(server_->port()) : std::nullopt;
  }

 private:
  Observer() = default;
  std::shared_ptr<ControlMetrics> control_ = std::make_shared<ControlMetrics>();
  std::unique_ptr<EventServer> events_;
  std::unique_ptr<MetricsServer> server_;  // last member: its thread stops first
};

// An event about one backend.
Event backend_event(EventType type, const SavedBackend& b, std::string reason = {});

}  // namespace xdplb::observe
