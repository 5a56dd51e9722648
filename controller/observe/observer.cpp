#include "observe/observer.h"

#include "datapath/datapath.h"
#include "observe/snapshot.h"

namespace xdplb::observe {

Event backend_event(EventType type, const SavedBackend& b, std::string reason) {
  Event e;
  e.type = type;
  e.service = b.service;
  e.backend = backend_label(b);
  e.id = b.id;
  e.address = b.addr.family ? b.addr.to_string() : "";
  e.reason = std::move(reason);
  return e;
}

Result<std::unique_ptr<Observer>> Observer::start(const ObserverOptions& o) {
  std::unique_ptr<Observer> obs(new Observer());
  if (o.events) {
    auto ev = EventServer::start(o.state_dir, o.bridge);
    if (!ev) return make_error(ev.error());
    obs->events_ = std::move(*ev);
  }
  if (o.metrics) {
    // Runs on the server's thread only: its own handle on the pinned maps, the state as saved.
    auto dp = std::make_shared<std::unique_ptr<Datapath>>();
    MetricsHandler handler = [o, dp, control = obs->control_]() -> Result<std::string> {
      if (!*dp) {
        auto opened = Datapath::open(o.pin_dir);
        if (!opened) return make_error(opened.error());
        *dp = std::move(*opened);
      }
      auto saved = load_state(o.state_dir, o.bridge);
      if (!saved) return make_error(saved.error());
      if (!saved->has_value()) return make_error("no saved state for " + o.bridge);
      auto snap = take_snapshot(**dp, std::move(**saved));
      if (!snap) return make_error(snap.error());
      return render_metrics(*snap, control->sample());
    };
    auto server = MetricsServer::start(*o.metrics, std::move(handler));
    if (!server) return make_error(server.error());
    obs->server_ = std::move(*server);
  }
  return obs;
}

}  // namespace xdplb::observe
