#include "daemon/decide.h"

#include "lb/balancer.h"

namespace xdplb {

namespace {

using std::chrono::milliseconds;

const ServiceConfig* service_of(const BridgeState& s, const SavedBackend& b) { return find_service(s, b.service); }

milliseconds slow_start_of(const BridgeState& s, const SavedBackend& b) {
  const ServiceConfig* svc = service_of(s, b);
  return milliseconds(svc ? svc->health_check.slow_start_ms : 0);
}

}  // namespace

std::optional<Decision> judge_probe(HealthTracker& tracker, const HealthCheckConfig& checks, Health saved,
                                    bool ok, const std::string& probe_reason) {
  const bool changed = tracker.record(ok, checks.rise, checks.fall);
  if (!changed && !(saved == Health::Unchecked && ok && tracker.up())) return std::nullopt;
  const bool up = tracker.up();
  Decision d;
  d.health = up ? Health::Up : Health::Down;
  d.transition = changed;
  d.reason = !changed ? "first probe: " + probe_reason
             : up     ? std::to_string(checks.rise) + " good probes in a row (" + probe_reason + ")"
                      : std::to_string(checks.fall) + " failed probes in a row (last: " + probe_reason + ")";
  return d;
}

std::optional<Decision> judge_refusals(PassiveState& st, HealthTracker& tracker, uint64_t refused,
                                       uint64_t new_flows, uint32_t threshold, Health saved) {
  const bool first = !st.primed;
  const uint64_t dr = refused >= st.refused ? refused - st.refused : refused;  // counters reset: from 0
  const uint64_t dn = new_flows >= st.new_flows ? new_flows - st.new_flows : new_flows;
  st.primed = true;
  st.refused = refused;
  st.new_flows = new_flows;
  if (first || threshold == 0) return std::nullopt;
  if (dr == 0) {
    if (dn > 0) st.streak = 0;
    return std::nullopt;
  }
  st.streak += dr;
  if (st.streak < threshold || saved == Health::Down || !tracker.up()) return std::nullopt;
  Decision d;
  d.health = Health::Down;
  d.transition = true;
  d.reason = std::to_string(st.streak) + " new connections refused in a row (passive: its RST to the SYN)";
  st.streak = 0;
  tracker.set(false);
  return d;
}

std::vector<HealthWrite> pending_health(const BridgeState& state, const std::map<uint32_t, Decision>& decided) {
  std::vector<HealthWrite> out;
  for (const auto& b : state.backends) {
    auto it = decided.find(b.id);
    if (it == decided.end() || b.path == BackendPath::Down) continue;
    const ServiceConfig* svc = service_of(state, b);
    if (!svc || svc->health_check.type == CheckType::None) continue;
    if (b.health != it->second.health) out.push_back({b.id, it->second});
  }
  return out;
}

PanicSet panics(const BridgeState& state) {
  PanicSet out;
  for (const auto& svc : state.services)
    for (int family : {4, 6})
      if (in_panic(state, svc, family)) out.insert({svc.name, family});
  return out;
}

bool entry_active(const BridgeState& state, const SavedBackend& b, bool drain_done) {
  if (b.path == BackendPath::Down || (b.drained && drain_done)) return false;
  if (b.health != Health::Down) return true;
  const ServiceConfig* svc = service_of(state, b);
  return svc && in_panic(state, *svc, b.family);
}

std::vector<DrainVerdict> drains_over(const BridgeState& state, const std::map<uint32_t, DrainCensus>& census,
                                      const std::set<uint32_t>& done, int64_t now_ms, milliseconds timeout) {
  std::vector<DrainVerdict> out;
  for (const auto& b : state.backends) {
    if (!b.drained || done.count(b.id) || b.path == BackendPath::Down) continue;
    auto c = census.find(b.id);
    const uint32_t open = c == census.end() ? 0 : c->second.open;
    if (open == 0) {
      out.push_back({b.id, false, 0});
      continue;
    }
    if (b.drain_started_ms > 0 && now_ms - b.drain_started_ms >= timeout.count())
      out.push_back({b.id, true, open});
  }
  return out;
}

std::vector<uint32_t> drains_to_stamp(const BridgeState& state) {
  std::vector<uint32_t> out;
  for (const auto& b : state.backends)
    if (b.drained && b.drain_end.empty() && b.drain_started_ms == 0) out.push_back(b.id);
  return out;
}

WeightOf ramp_weights(const BridgeState& state, const std::map<uint32_t, DecideClock::time_point>& since,
                      DecideClock::time_point now) {
  if (since.empty()) return {};
  std::map<std::string, milliseconds> durations;  // per service
  for (const auto& svc : state.services) durations[svc.name] = milliseconds(svc.health_check.slow_start_ms);
  const uint32_t scale = ramp_scale(state);
  return [since, scale, durations, now](const SavedBackend& b) {
    auto d = durations.find(b.service);
    const milliseconds duration = d == durations.end() ? milliseconds(0) : d->second;
    auto it = since.find(b.id);
    const auto elapsed = it == since.end() ? duration : std::chrono::duration_cast<milliseconds>(now - it->second);
    return ramped_weight(b.weight, scale, elapsed, duration);
  };
}

std::vector<uint32_t> ramps_over(const BridgeState& state, const std::map<uint32_t, DecideClock::time_point>& since,
                                 DecideClock::time_point now) {
  std::vector<uint32_t> out;
  for (const auto& [id, t] : since) {
    milliseconds duration(0);
    for (const auto& b : state.backends)
      if (b.id == id) duration = slow_start_of(state, b);
    if (now - t >= duration) out.push_back(id);
  }
  return out;
}

}  // namespace xdplb
