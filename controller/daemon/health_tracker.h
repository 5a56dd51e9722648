// Rise/fall hysteresis of one backend's health: `fall` failed probes in a row take an up
// backend down, `rise` good ones in a row bring a down backend back. Pure logic.
#pragma once

#include <cstdint>
#include <string>

namespace xdplb {

class HealthTracker {
 public:
  explicit HealthTracker(bool up = true) : up_(up) {}

  // Records one probe; returns true when this probe changed the state.
  bool record(bool ok, uint32_t rise, uint32_t fall);
  // Forces a state (container stopped / started) and restarts the counting.
  void set(bool up);

  bool up() const { return up_; }
  uint32_t streak() const { return streak_; }  // same-outcome probes against the state

 private:
  bool up_;
  uint32_t streak_ = 0;
};

}  // namespace xdplb
