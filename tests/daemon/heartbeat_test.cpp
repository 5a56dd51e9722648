// The watchdog's decision: WATCHDOG=1 only while every daemon loop went round within the
// allowance; a loop waiting on purpose for work (an idle worker) is alive however old its stamp.
#include "daemon/heartbeat.h"

#include <gtest/gtest.h>

#include <thread>

namespace xdplb {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point t0 = Clock::time_point(seconds(1000));

TEST(Heartbeat, AllLoopsStampedWithinTheAllowance) {
  std::vector<HeartbeatReading> beats{{"lxdbr0 loop", t0 - milliseconds(50)}, {"lxdbr0 worker", t0 - seconds(14)}};
  EXPECT_TRUE(stalled_loops(beats, t0, seconds(15)).empty());
  EXPECT_TRUE(stalled_loops({}, t0, seconds(15)).empty()) << "no loops yet: nothing stuck";
}

TEST(Heartbeat, ALoopThatDidNotGoRoundIsNamed) {
  std::vector<HeartbeatReading> beats{{"br0 loop", t0 - seconds(16)}, {"br0 worker", t0 - seconds(1)},
                                      {"br1 loop", t0 - seconds(15)}};
  EXPECT_EQ(stalled_loops(beats, t0, seconds(15)), std::vector<std::string>{"br0 loop"})
      << "exactly the allowance is still on time";
}

TEST(Heartbeat, AnIdleLoopIsAliveABusyOneIsNot) {
  std::vector<HeartbeatReading> beats{{"br0 worker", t0 - seconds(300), true}};
  EXPECT_TRUE(stalled_loops(beats, t0, seconds(15)).empty()) << "waiting for a job is not stuck";
  beats[0].idle = false;  // took a job 300 s ago and is still in it
  EXPECT_EQ(stalled_loops(beats, t0, seconds(15)), std::vector<std::string>{"br0 worker"});
}

TEST(Heartbeat, StampsReadBackThroughTheRegistry) {
  Heartbeats all;
  auto loop = all.add("br0 loop");
  auto worker = all.add("br0 worker");
  loop->stamp(t0);
  worker->stamp(t0 - seconds(20));
  EXPECT_EQ(stalled_loops(all.read(), t0, seconds(15)), std::vector<std::string>{"br0 worker"});
  worker->idle(true);  // stamps now, and waits
  auto r = all.read();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[1].idle);
  EXPECT_GT(r[1].stamped, t0) << "idle() stamps with the real clock";
  EXPECT_EQ(stalled_loops(r, Clock::now(), seconds(15)), std::vector<std::string>{"br0 loop"})
      << "the loop last went round at t0, long ago; the worker waits";
}

}  // namespace
}  // namespace xdplb
