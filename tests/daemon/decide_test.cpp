// The daemon's decisions without root: probes through rise/fall into decisions, decisions that
// stay pending until the state holds them (the retry after a failed write), panic, entries,
// drains and slow start.
#include "daemon/decide.h"

#include <gtest/gtest.h>

namespace xdplb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

SavedBackend backend(uint32_t id, const char* address) {
  SavedBackend b;
  b.id = id;
  b.addr = *IpAddress::parse(address);
  b.path = BackendPath::Redirect;
  return b;
}

BridgeState three() {
  BridgeState s;
  s.bridge = "dmbr0";
  s.services.emplace_back();
  s.backends = {backend(0, "10.0.3.11"), backend(1, "10.0.3.12"), backend(2, "10.0.3.13")};
  for (auto& b : s.backends) b.health = Health::Up;
  return s;
}

TEST(JudgeProbe, FallFailuresDecideDownAndRiseGoodOnesUp) {
  HealthCheckConfig hc;  // rise 2, fall 3
  HealthTracker t(true);
  EXPECT_FALSE(judge_probe(t, hc, Health::Up, false, "refused"));
  EXPECT_FALSE(judge_probe(t, hc, Health::Up, false, "refused"));
  auto d = judge_probe(t, hc, Health::Up, false, "timed out after 1000 ms");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->health, Health::Down);
  EXPECT_TRUE(d->transition);
  EXPECT_EQ(d->reason, "3 failed probes in a row (last: timed out after 1000 ms)");
  EXPECT_FALSE(judge_probe(t, hc, Health::Down, true, "connected"));
  d = judge_probe(t, hc, Health::Down, true, "connected");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->health, Health::Up);
  EXPECT_EQ(d->reason, "2 good probes in a row (connected)");
}

TEST(JudgeProbe, TheFirstGoodProbeOfAnUncheckedBackendIsRecorded) {
  HealthTracker t(true);
  auto d = judge_probe(t, HealthCheckConfig{}, Health::Unchecked, true, "HTTP 200");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->health, Health::Up);
  EXPECT_FALSE(d->transition) << "not a change: no UP line, no slow start";
  EXPECT_FALSE(judge_probe(t, HealthCheckConfig{}, Health::Up, true, "HTTP 200"));
}

TEST(PendingHealth, ADecisionStaysPendingUntilTheStateHoldsIt) {
  BridgeState s = three();
  std::map<uint32_t, Decision> decided{{1, {Health::Down, "3 failed probes in a row", true}}};
  auto w = pending_health(s, decided);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].id, 1u);
  // The write failed (lock busy): the state is unchanged, so the next turn asks again.
  EXPECT_EQ(pending_health(s, decided).size(), 1u) << "a failed write is retried";
  s.backends[1].health = Health::Down;  // it landed
  EXPECT_TRUE(pending_health(s, decided).empty());
}

TEST(PendingHealth, NoWriteForBackendsGoneStoppedOrUnchecked) {
  BridgeState s = three();
  std::map<uint32_t, Decision> decided{{0, {Health::Down, "x", true}}, {1, {Health::Down, "x", true}},
                                       {9, {Health::Down, "x", true}}};
  s.backends[0].path = BackendPath::Down;  // container stopped: its own path decides
  EXPECT_EQ(pending_health(s, decided).size(), 1u);
  s.services[0].health_check.type = CheckType::None;  // `health --type none` meanwhile
  EXPECT_TRUE(pending_health(s, decided).empty());
}

TEST(Panic, TwoOfThreeDownIsPanicAndEveryEntryStaysActive) {
  BridgeState s = three();
  s.backends[0].health = Health::Down;
  EXPECT_TRUE(panics(s).empty());
  EXPECT_FALSE(entry_active(s, s.backends[0], false)) << "1 of 3 down: out";
  s.backends[1].health = Health::Down;
  EXPECT_EQ(panics(s), (PanicSet{{"default", 4}}));
  EXPECT_TRUE(entry_active(s, s.backends[0], false)) << "panic: health ignored";
  EXPECT_TRUE(entry_active(s, s.backends[1], false));
  s.backends[1].path = BackendPath::Down;
  EXPECT_FALSE(entry_active(s, s.backends[1], false)) << "a stopped container never";
  s.backends[1].path = BackendPath::Redirect;
  s.services[0].health_check.panic_threshold = 0;
  EXPECT_TRUE(panics(s).empty());
  EXPECT_FALSE(entry_active(s, s.backends[0], false)) << "threshold 0: health decides";
}

TEST(Drains, OverWhenNoFlowIsOpenOrTheTimeoutPassed) {
  BridgeState s = three();
  const int64_t t0 = 1'800'000'000'000;  // wall clock, ms
  s.backends[0].drained = true;
  s.backends[1].drained = true;
  s.backends[0].drain_started_ms = s.backends[1].drain_started_ms = t0;
  std::map<uint32_t, DrainCensus> census{{0, {3, 0}}, {1, {2, 1}}};
  auto v = drains_over(s, census, {}, t0 + 10'000, seconds(300));
  ASSERT_EQ(v.size(), 1u) << "b1's idle keep-alive connection is open: its drain goes on";
  EXPECT_EQ(v[0].id, 0u);
  EXPECT_FALSE(v[0].timed_out);
  EXPECT_TRUE(drains_over(s, census, {0}, t0 + 299'999, seconds(300)).empty());
  v = drains_over(s, census, {0}, t0 + 300'000, seconds(300));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].id, 1u);
  EXPECT_TRUE(v[0].timed_out);
  EXPECT_EQ(v[0].open, 1u);
  EXPECT_FALSE(entry_active(s, s.backends[0], true)) << "a finished drain turns the entry off";
  EXPECT_TRUE(entry_active(s, s.backends[0], false));
}

// The drain clock is the saved start, not when a daemon first saw the drain: a daemon that
// starts (or restarts) 200 s into a 300 s drain ends it 100 s later, as one that ran throughout.
TEST(Drains, TimeoutRunsFromTheSavedStartAcrossRestarts) {
  BridgeState s = three();
  const int64_t t0 = 1'800'000'000'000;
  s.backends[1].drained = true;
  s.backends[1].drain_started_ms = t0;
  const std::map<uint32_t, DrainCensus> census{{1, {1, 1}}};
  auto saved = state_from_json(state_to_json(s), "test");  // what a restarted daemon reads
  ASSERT_TRUE(saved) << saved.error();
  EXPECT_EQ(saved->backends[1].drain_started_ms, t0) << "the drain's start is saved";
  EXPECT_TRUE(drains_over(*saved, census, {}, t0 + 200'000, seconds(300)).empty());
  auto v = drains_over(*saved, census, {}, t0 + 300'000, seconds(300));
  ASSERT_EQ(v.size(), 1u) << "timed out at the same wall-clock time as without the restart";
  EXPECT_TRUE(v[0].timed_out);

  // A drain with no saved start (an `xdplb apply`, an older state file) is stamped first and
  // never times out before that.
  s.backends[1].drain_started_ms = 0;
  EXPECT_TRUE(drains_over(s, census, {}, t0 + 999'000'000, seconds(300)).empty());
  EXPECT_EQ(drains_to_stamp(s), (std::vector<uint32_t>{1}));
  s.backends[1].drain_end = "drained: no open flow left";
  EXPECT_TRUE(drains_to_stamp(s).empty()) << "an ended drain needs no start";
}

TEST(SlowStart, RampsOnlyWhileABackendRamps) {
  BridgeState s = three();
  s.services[0].health_check.slow_start_ms = 10000;
  const auto t0 = DecideClock::time_point{} + seconds(100);
  EXPECT_FALSE(ramp_weights(s, {}, t0)) << "nothing ramps: saved weights";
  std::map<uint32_t, DecideClock::time_point> since{{1, t0}};
  auto w = ramp_weights(s, since, t0 + seconds(5));
  ASSERT_TRUE(w);
  EXPECT_EQ(w(s.backends[1]) * 2, w(s.backends[0])) << "half way: half the weight of the others";
  EXPECT_TRUE(ramps_over(s, since, t0 + seconds(9)).empty());
  EXPECT_EQ(ramps_over(s, since, t0 + seconds(10)), (std::vector<uint32_t>{1}));
}

}  // namespace
}  // namespace xdplb

namespace xdplb {
namespace {

TEST(Refusals, ThreeRefusedWithNoCleanLookBetweenTakeItOut) {
  PassiveState st;
  HealthTracker t(true);
  EXPECT_FALSE(judge_refusals(st, t, 5, 100, 3, Health::Up)) << "the first look only primes";
  EXPECT_FALSE(judge_refusals(st, t, 6, 110, 3, Health::Up)) << "1 refusal";
  EXPECT_FALSE(judge_refusals(st, t, 6, 120, 3, Health::Up)) << "a clean look with new flows breaks it";
  EXPECT_FALSE(judge_refusals(st, t, 7, 121, 3, Health::Up));
  EXPECT_FALSE(judge_refusals(st, t, 7, 121, 3, Health::Up)) << "no traffic: the streak stays";
  auto d = judge_refusals(st, t, 9, 123, 3, Health::Up);
  ASSERT_TRUE(d) << "3 refusals in a row";
  EXPECT_EQ(d->health, Health::Down);
  EXPECT_TRUE(d->transition);
  EXPECT_EQ(d->reason, "3 new connections refused in a row (passive: its RST to the SYN)");
  EXPECT_FALSE(t.up()) << "the probes bring it back after rise good ones";
  EXPECT_FALSE(judge_refusals(st, t, 20, 130, 3, Health::Down)) << "down already: nothing more";
}

TEST(Refusals, OffAtZeroAndAfterACounterReset) {
  PassiveState st;
  HealthTracker t(true);
  judge_refusals(st, t, 0, 0, 0, Health::Up);
  EXPECT_FALSE(judge_refusals(st, t, 50, 50, 0, Health::Up)) << "threshold 0: off";
  PassiveState s2;
  judge_refusals(s2, t, 100, 100, 3, Health::Up);
  EXPECT_FALSE(judge_refusals(s2, t, 2, 5, 3, Health::Up)) << "counters cleared (id reused): 2 since";
  EXPECT_TRUE(judge_refusals(s2, t, 3, 5, 3, Health::Up));
}

}  // namespace
}  // namespace xdplb
