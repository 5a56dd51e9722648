#include "daemon/health_tracker.h"

#include <gtest/gtest.h>

namespace xdplb {
namespace {

TEST(HealthTracker, GoesDownAfterFallFailuresInARow) {
  HealthTracker t(true);
  EXPECT_FALSE(t.record(false, 2, 3));
  EXPECT_FALSE(t.record(false, 2, 3));
  EXPECT_TRUE(t.up());
  EXPECT_TRUE(t.record(false, 2, 3)) << "the third failure in a row must take it down";
  EXPECT_FALSE(t.up());
}

TEST(HealthTracker, AGoodProbeBreaksAFailureStreak) {
  HealthTracker t(true);
  t.record(false, 2, 3);
  t.record(false, 2, 3);
  EXPECT_FALSE(t.record(true, 2, 3));
  EXPECT_EQ(t.streak(), 0u);
  EXPECT_FALSE(t.record(false, 2, 3));
  EXPECT_FALSE(t.record(false, 2, 3));
  EXPECT_TRUE(t.up()) << "only two failures since the good probe";
}

TEST(HealthTracker, ComesBackAfterRiseSuccesses) {
  HealthTracker t(false);
  EXPECT_FALSE(t.record(true, 2, 3));
  EXPECT_FALSE(t.up());
  EXPECT_TRUE(t.record(true, 2, 3));
  EXPECT_TRUE(t.up());
  EXPECT_FALSE(t.record(true, 2, 3)) << "already up: no change to report";
}

TEST(HealthTracker, SetRestartsCounting) {
  HealthTracker t(true);
  t.record(false, 2, 3);
  t.record(false, 2, 3);
  t.set(false);
  EXPECT_FALSE(t.up());
  EXPECT_EQ(t.streak(), 0u);
  EXPECT_FALSE(t.record(true, 2, 3));
  EXPECT_TRUE(t.record(true, 2, 3));
}

TEST(HealthTracker, FallOfOneActsOnTheFirstFailure) {
  HealthTracker t(true);
  EXPECT_TRUE(t.record(false, 1, 1));
  EXPECT_TRUE(t.record(true, 1, 1));
}

}  // namespace
}  // namespace xdplb
