// Names after the Prometheus conventions: xdplb_ prefix, base units (bytes, seconds), _total on
// counters, one family per quantity with labels for service/backend/family/reason.
#include "observe/metrics.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/reasons.h"

namespace xdplb::observe {

void Histogram::observe(double seconds) {
  ++count;
  sum += seconds;
  for (size_t i = 0; i < kProbeBuckets.size(); ++i)
    if (seconds <= kProbeBuckets[i]) {
      ++buckets[i];
      return;
    }
}

void ControlMetrics::map_write(const char* kind, bool ok) {
  std::lock_guard lock(mu_);
  ++s_.map_writes[kind];
  if (!ok) ++s_.map_write_errors;
}

void ControlMetrics::ring_rebuilt(std::chrono::nanoseconds took) {
  std::lock_guard lock(mu_);
  ++s_.ring_rebuilds;
  s_.ring_rebuild_seconds += std::chrono::duration<double>(took).count();
}

void ControlMetrics::transaction(bool ok) {
  std::lock_guard lock(mu_);
  ++(ok ? s_.transactions : s_.transaction_errors);
}

void ControlMetrics::state_change_seen() {
  std::lock_guard lock(mu_);
  ++s_.state_changes;
}

void ControlMetrics::probe(uint32_t backend_id, bool ok, std::chrono::microseconds took) {
  std::lock_guard lock(mu_);
  ProbeStats& p = s_.probes[backend_id];
  ++(ok ? p.ok : p.failed);
  p.latency.observe(std::chrono::duration<double>(took).count());
}

void ControlMetrics::panics(uint64_t entered, std::map<std::string, bool> in_panic) {
  std::lock_guard lock(mu_);
  s_.panics = entered;
  s_.in_panic = std::move(in_panic);
}

ControlSample ControlMetrics::sample() const {
  std::lock_guard lock(mu_);
  return s_;
}

std::string backend_label(const SavedBackend& b) {
  if (!b.name.empty()) return b.name;
  if (!b.addr.family) return "id" + std::to_string(b.id);
  return b.addr.is_v6() ? "[" + b.addr.to_string() + "]:" + std::to_string(b.port)
                        : b.addr.to_string() + ":" + std::to_string(b.port);
}

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The shortest text that reads back as v (0.0005, not 0.00050000000000000001).
std::string number(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 9e15 && v > -9e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Writes one family: HELP and TYPE once, then its samples.
class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    out_ << name;
    if (!labels.empty()) out_ << "{" << labels << "}";
    out_ << " " << number(value) << "\n";
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string label(const char* k, const std::string& v) { return std::string(k) + "=\"" + escape(v) + "\""; }

std::string backend_labels(const SavedBackend& b) {
  return label("service", b.service) + "," + label("backend", backend_label(b)) + "," +
         label("family", b.family == 6 ? "ipv6" : "ipv4");
}

}  // namespace

std::string render_metrics(const Snapshot& snap, const ControlSample& control) {
  Exposition e;
  const auto& backends = snap.state.backends;
  auto live_of = [&](const SavedBackend& b) {
    auto it = snap.backends.find(b.id);
    return it == snap.backends.end() ? BackendLive{} : it->second;
  };
  struct PerBackend {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const SavedBackend&, const BackendLive&);
  };
  const PerBackend per_backend[] = {
      {"xdplb_backend_packets_total", "counter", "Packets the datapath sent to the backend (client to backend).",
       [](const SavedBackend&, const BackendLive& l) { return double(l.packets); }},
      {"xdplb_backend_bytes_total", "counter", "Bytes the datapath sent to the backend (client to backend).",
       [](const SavedBackend&, const BackendLive& l) { return double(l.bytes); }},
      {"xdplb_backend_new_flows_total", "counter", "Flows placed on the backend.",
       [](const SavedBackend&, const BackendLive& l) { return double(l.new_flows); }},
      {"xdplb_backend_flows", "gauge", "Entries of the flow table that name the backend.",
       [](const SavedBackend&, const BackendLive& l) { return double(l.flow_entries); }},
      {"xdplb_backend_active_flows", "gauge", "Flows of the backend with a packet in the last 5 seconds.",
       [](const SavedBackend&, const BackendLive& l) { return double(l.active_flows); }},
      {"xdplb_backend_connections", "gauge", "Open connections of the backend as least-conn counts them.",
       [](const SavedBackend&, const BackendLive& l) { return double(l.connections < 0 ? 0 : l.connections); }},
      {"xdplb_backend_up", "gauge", "1 if the backend may take flows (not down by health or container), else 0.",
       [](const SavedBackend& b, const BackendLive&) {
         return b.health != Health::Down && b.path != BackendPath::Down ? 1.0 : 0.0;
       }},
      {"xdplb_backend_drained", "gauge", "1 while the backend is drained (no new flows).",
       [](const SavedBackend& b, const BackendLive&) { return b.drained ? 1.0 : 0.0; }},
      {"xdplb_backend_in_ring", "gauge", "1 if the backend takes new flows now (a backup only while no primary can).",
       [](const SavedBackend&, const BackendLive& l) { return l.in_ring ? 1.0 : 0.0; }},
      {"xdplb_backend_weight", "gauge", "The backend's configured weight.",
       [](const SavedBackend& b, const BackendLive&) { return double(b.weight); }},
      {"xdplb_backend_placement_weight", "gauge",
       "The weight placement uses now (below the configured one during slow start; 0 if not placed).",
       [](const SavedBackend&, const BackendLive& l) { return double(l.placement_weight); }},
  };
  for (const auto& m : per_backend) {
    e.family(m.name, m.type, m.help);
    for (const auto& b : backends) e.sample(m.name, backend_labels(b), m.value(b, live_of(b)));
  }
  e.family("xdplb_backend_health", "gauge", "1 for the backend's health state (unchecked, up, down), 0 for the others.");
  for (const auto& b : backends)
    for (Health h : {Health::Unchecked, Health::Up, Health::Down}) {
      const std::string state = h == Health::Unchecked ? "unchecked" : name_of(h);
      e.sample("xdplb_backend_health", backend_labels(b) + "," + label("state", state), b.health == h ? 1 : 0);
    }

  e.family("xdplb_health_probes_total", "counter", "Health probes the daemon ran, by result.");
  for (const auto& b : backends) {
    auto it = control.probes.find(b.id);
    const ProbeStats p = it == control.probes.end() ? ProbeStats{} : it->second;
    e.sample("xdplb_health_probes_total", backend_labels(b) + ",result=\"ok\"", double(p.ok));
    e.sample("xdplb_health_probes_total", backend_labels(b) + ",result=\"failed\"", double(p.failed));
  }
  e.family("xdplb_health_probe_duration_seconds", "histogram", "How long the daemon's health probes took.");
  for (const auto& b : backends) {
    auto it = control.probes.find(b.id);
    const Histogram h = it == control.probes.end() ? Histogram{} : it->second.latency;
    const std::string l = backend_labels(b);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kProbeBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      e.sample("xdplb_health_probe_duration_seconds_bucket", l + "," + label("le", number(kProbeBuckets[i])),
               double(cumulative));
    }
    e.sample("xdplb_health_probe_duration_seconds_bucket", l + ",le=\"+Inf\"", double(h.count));
    e.sample("xdplb_health_probe_duration_seconds_sum", l, h.sum);
    e.sample("xdplb_health_probe_duration_seconds_count", l, double(h.count));
  }

  e.family("xdplb_service_info", "gauge", "1 per service, its settings as labels.");
  for (const auto& svc : snap.state.services)
    e.sample("xdplb_service_info",
             label("service", svc.name) + "," + label("ports", ports_text(svc)) + "," +
                 label("proto", name_of(svc.protos)) + "," + label("scheduler", name_of(svc.scheduler)) + "," +
                 label("health_check", name_of(svc.health_check.type)),
             1);
  e.family("xdplb_service_backends_up", "gauge", "Backends of the service that may take flows.");
  for (const auto& svc : snap.state.services) {
    uint64_t up = 0;
    for (const auto& b : backends)
      up += b.service == svc.name && b.health != Health::Down && b.path != BackendPath::Down;
    e.sample("xdplb_service_backends_up", label("service", svc.name), double(up));
  }

  e.family("xdplb_datapath_packets_total", "counter",
           "Packets by the datapath's named outcome (see `xdplb status` for each reason's meaning).");
  for (size_t i = 0; i < snap.reasons.size(); ++i)
    e.sample("xdplb_datapath_packets_total", label("reason", reason_info(static_cast<unsigned>(i)).name),
             double(snap.reasons[i]));
  auto single = [&](const char* name, const char* type, const char* help, double value) {
    e.family(name, type, help);
    e.sample(name, "", value);
  };
  single("xdplb_flow_table_entries", "gauge", "Entries in the flow table (external and host-local flows).",
         double(snap.flows));
  single("xdplb_flow_table_size", "gauge", "Entries the flow table holds at most (attach --flow-table).",
         snap.flow_table_size);
  single("xdplb_syn_table_size", "gauge",
         "Entries the table of SYN-only TCP flows' replies holds at most (attach --syn-table).", snap.syn_table_size);
  single("xdplb_hairpin_table_entries", "gauge", "Entries in the hairpin flow table (containers calling a VIP).",
         double(snap.hairpin_flows));
  single("xdplb_hairpin_table_size", "gauge", "Entries the hairpin flow table holds at most.", snap.hairpin_table_size);

  e.family("xdplb_map_writes_total", "counter", "BPF map writes of the daemon's changes, by map kind.");
  for (const char* kind : {"service", "pool", "backend", "reply_nat", "settings"}) {
    auto it = control.map_writes.find(kind);
    e.sample("xdplb_map_writes_total", label("kind", kind), double(it == control.map_writes.end() ? 0 : it->second));
  }
  single("xdplb_map_write_errors_total", "counter", "BPF map writes of the daemon that failed.",
         double(control.map_write_errors));
  single("xdplb_ring_rebuilds_total", "counter", "Pools (Maglev ring and member list) the daemon rewrote.",
         double(control.ring_rebuilds));
  single("xdplb_ring_rebuild_seconds_total", "counter", "Time the daemon spent rewriting pools.",
         control.ring_rebuild_seconds);
  single("xdplb_state_writes_total", "counter", "Changes the daemon applied and saved to the state file.",
         double(control.transactions));
  single("xdplb_state_write_errors_total", "counter", "Changes of the daemon that failed (nothing saved).",
         double(control.transaction_errors));
  // Counters are per process: a CLI command's own map writes are not the daemon's to count,
  // but every change it saves reaches the daemon as a new state file.
  single("xdplb_state_changes_total", "counter",
         "Changes saved by other processes (CLI commands) that the daemon loaded from the state file.",
         double(control.state_changes));
  single("xdplb_panics_total", "counter",
         "Times a service went into panic (too few healthy backends: health ignored for placement).",
         double(control.panics));
  e.family("xdplb_service_panic", "gauge", "1 while the service is in panic (health ignored for placement).");
  for (const auto& [service, on] : control.in_panic) e.sample("xdplb_service_panic", label("service", service), on ? 1 : 0);
  return e.text();
}

}  // namespace xdplb::observe
