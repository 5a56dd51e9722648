#include "daemon/heartbeat.h"

namespace xdplb {

std::vector<std::string> stalled_loops(const std::vector<HeartbeatReading>& beats,
                                       std::chrono::steady_clock::time_point now,
                                       std::chrono::steady_clock::duration allowance) {
  std::vector<std::string> out;
  for (const auto& b : beats)
    if (!b.idle && now - b.stamped > allowance) out.push_back(b.loop);
  return out;
}

HeartbeatReading Heartbeat::read() const {
  using Clock = std::chrono::steady_clock;
  return {loop_, Clock::time_point(Clock::duration(ns_.load(std::memory_order_relaxed))),
          idle_.load(std::memory_order_relaxed)};
}

std::shared_ptr<Heartbeat> Heartbeats::add(std::string loop) {
  auto beat = std::make_shared<Heartbeat>(std::move(loop));
  std::lock_guard<std::mutex> g(mu_);
  beats_.push_back(beat);
  return beat;
}

std::vector<HeartbeatReading> Heartbeats::read() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<HeartbeatReading> out;
  for (const auto& b : beats_) out.push_back(b->read());
  return out;
}

}  // namespace xdplb
