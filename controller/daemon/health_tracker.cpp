#include "daemon/health_tracker.h"

namespace xdplb {

bool HealthTracker::record(bool ok, uint32_t rise, uint32_t fall) {
  if (ok == up_) {  // agrees with the state: any streak against it is broken
    streak_ = 0;
    return false;
  }
  ++streak_;
  if (streak_ < (up_ ? fall : rise)) return false;
  up_ = ok;
  streak_ = 0;
  return true;
}

void HealthTracker::set(bool up) {
  up_ = up;
  streak_ = 0;
}

}  // namespace xdplb
