// Prometheus metrics of one bridge: what the daemon counts on its side (ControlMetrics: map
// writes, ring rebuilds, state writes, probes and their latency) and the text exposition of a
// datapath Snapshot next to them (render_metrics, pure). The README's metrics table lists
// every family render_metrics writes; tests check the output with `promtool check metrics`.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "observe/snapshot.h"

namespace xdplb::observe {

// Upper bounds (seconds) of the probe latency histogram's buckets (+Inf is implied).
inline constexpr std::array<double, 10> kProbeBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.25,  1.0};

struct Histogram {
  std::array<uint64_t, kProbeBuckets.size()> buckets{};  // not cumulative: one count per bucket
  uint64_t count = 0;                                    // all observations (+Inf bucket)
  double sum = 0;                                        // seconds
  void observe(double seconds);
};

struct ProbeStats {
  uint64_t ok = 0, failed = 0;
  Histogram latency;
};

// A copy of ControlMetrics taken for one scrape.
struct ControlSample {
  std::map<std::string, uint64_t> map_writes;  // by kind: service, pool, backend
  uint64_t map_write_errors = 0;
  uint64_t ring_rebuilds = 0;
  double ring_rebuild_seconds = 0;
  uint64_t transactions = 0;       // changes applied and saved (each one state write)
  uint64_t transaction_errors = 0;
  uint64_t state_changes = 0;      // state file versions written by others (CLI commands) it loaded
  std::map<uint32_t, ProbeStats> probes;  // by backend id
  uint64_t panics = 0;                    // times a service's pool went into panic
  std::map<std::string, bool> in_panic;   // by service: health ignored for placement now
};

// Written by the daemon's loop, read by the metrics thread: every access takes the mutex,
// held only to copy or bump a few numbers, so a scrape never waits on the loop or vice versa.
class ControlMetrics {
 public:
  void map_write(const char* kind, bool ok);
  void ring_rebuilt(std::chrono::nanoseconds took);
  void transaction(bool ok);
  // The daemon loaded a state file another process (a CLI command) wrote.
  void state_change_seen();
  void probe(uint32_t backend_id, bool ok, std::chrono::microseconds took);
  // Panic (lb/plan.h's in_panic): how often entered since the start, and each service's now.
  void panics(uint64_t entered, std::map<std::string, bool> in_panic);
  ControlSample sample() const;

 private:
  mutable std::mutex mu_;
  ControlSample s_;
};

// The Prometheus text exposition (format 0.0.4) of a snapshot and the control counters.
std::string render_metrics(const Snapshot& snap, const ControlSample& control);

// The `backend` label of a backend: its container name, else ADDR:PORT.
std::string backend_label(const SavedBackend& b);

}  // namespace xdplb::observe
