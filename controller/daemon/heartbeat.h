// Proof that the daemon's loops go round, for the systemd watchdog. Each loop stamps its
// Heartbeat every time round (the daemon's event loop each turn, at least every 50 ms; its
// worker when it takes a job and when it goes back to waiting for one). The notifier sends
// WATCHDOG=1 only while stalled_loops() is empty: a loop stuck in a call that does not return
// stops the pings, and systemd restarts the unit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace xdplb {

struct HeartbeatReading {
  std::string loop;
  std::chrono::steady_clock::time_point stamped;
  bool idle = false;  // waiting on purpose for work (an empty queue): alive however long ago it stamped
};

// The loops that did not go round within `allowance` before `now` (empty: every loop did).
std::vector<std::string> stalled_loops(const std::vector<HeartbeatReading>& beats,
                                       std::chrono::steady_clock::time_point now,
                                       std::chrono::steady_clock::duration allowance);

// One loop's stamp; written by the loop, read by the notifier's thread.
class Heartbeat {
 public:
  explicit Heartbeat(std::string loop) : loop_(std::move(loop)) { stamp(); }
  void stamp(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    ns_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  void idle(bool yes) {
    stamp();
    idle_.store(yes, std::memory_order_relaxed);
  }
  HeartbeatReading read() const;

 private:
  std::string loop_;
  std::atomic<std::chrono::steady_clock::rep> ns_{0};
  std::atomic<bool> idle_{false};
};

// Every loop's Heartbeat, registered by the loops as they start, read by the notifier.
class Heartbeats {
 public:
  std::shared_ptr<Heartbeat> add(std::string loop);
  std::vector<HeartbeatReading> read() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Heartbeat>> beats_;
};

}  // namespace xdplb
