// The state fields the daemon adds: health-check config, drained, health; defaulted when
// missing (state files written before the daemon existed), validated when present.
#include <gtest/gtest.h>

#include "core/state.h"
#include "lb/balancer.h"

namespace xdplb {
namespace {

TEST(DaemonState, RoundTripsHealthCheckAndBackendFields) {
  BridgeState s;
  s.bridge = "lxdbr0";
  s.services.emplace_back();
  HealthCheckConfig& h = s.services[0].health_check;
  h.type = CheckType::Http;
  h.http_path = "/healthz";
  h.expect_min = 200;
  h.expect_max = 204;
  h.interval_ms = 250;
  h.timeout_ms = 100;
  h.rise = 4;
  h.fall = 5;
  h.slow_start_ms = 30000;
  h.panic_threshold = 34;
  SavedBackend b;
  b.id = 3;
  b.addr = *IpAddress::parse("10.0.3.11");
  b.drained = true;
  b.health = Health::Down;
  b.health_reason = "3 failed probes";
  s.backends.push_back(b);
  auto back = state_from_json(state_to_json(s), "test");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, s);
}

TEST(DaemonState, OldFilesGetDefaults) {
  auto s = state_from_json(R"({"bridge": "br0", "backends": [{"id": 1, "addr": "10.0.0.2"}]})", "old");
  ASSERT_TRUE(s) << s.error();
  const HealthCheckConfig& h = s->services.at(0).health_check;
  EXPECT_EQ(h, HealthCheckConfig{});
  EXPECT_EQ(h.interval_ms, 1000u);
  EXPECT_EQ(h.slow_start_ms, 0u) << "slow start off unless asked for";
  EXPECT_EQ(h.panic_threshold, 50u) << "panic below 50% healthy, as Envoy";
  EXPECT_FALSE(s->backends[0].drained);
  EXPECT_EQ(s->backends[0].health, Health::Unchecked);
}

TEST(DaemonState, RejectsBadHealthConfig) {
  EXPECT_FALSE(state_from_json(R"({"health_check": {"type": "icmp"}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"interval_ms": 50}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"rise": 0}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"expect_min": 400, "expect_max": 200}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"http_path": "healthz"}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"slow_start_ms": 3600001}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"panic_threshold": 101}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"backends": [{"id": 1, "addr": "10.0.0.2", "health": "maybe"}]})", "t"));
}

TEST(DaemonState, RingTakesOnlyHealthyUndrainedBackends) {
  SavedBackend b;
  b.addr = *IpAddress::parse("10.0.0.2");
  EXPECT_TRUE(takes_new_flows(b)) << "unchecked counts as in";
  b.health = Health::Up;
  EXPECT_TRUE(takes_new_flows(b));
  b.health = Health::Down;
  EXPECT_FALSE(takes_new_flows(b));
  b.health = Health::Up;
  b.drained = true;
  EXPECT_FALSE(takes_new_flows(b));
  b.drained = false;
  b.path = BackendPath::Down;
  EXPECT_FALSE(takes_new_flows(b));
}

TEST(SlowStart, WeightRampsFromOneToFull) {
  using std::chrono::milliseconds;
  const milliseconds over(10000);
  EXPECT_EQ(ramped_weight(1, 1000, milliseconds(0), over), 1u) << "starts at the smallest share";
  EXPECT_EQ(ramped_weight(1, 1000, milliseconds(2500), over), 250u);
  EXPECT_EQ(ramped_weight(1, 1000, milliseconds(9999), over), 999u);
  EXPECT_EQ(ramped_weight(1, 1000, over, over), 1000u);
  EXPECT_EQ(ramped_weight(1, 1000, milliseconds(20000), over), 1000u) << "never above full";
  EXPECT_EQ(ramped_weight(4, 250, milliseconds(5000), over), 500u) << "weight 4 on scale 250: half of 1000";
  EXPECT_EQ(ramped_weight(3, 1, milliseconds(100), over), 1u) << "never below 1";
  EXPECT_EQ(ramped_weight(3, 0, milliseconds(0), milliseconds(0)), 3u) << "no ramp: full weight, scale at least 1";
}

TEST(SlowStart, ScaleKeepsWeightsInRange) {
  BridgeState s;
  EXPECT_EQ(ramp_scale(s), uint32_t{XDPLB_MAX_WEIGHT}) << "no backends: weights of 1";
  SavedBackend b;
  b.weight = 3;
  s.backends.push_back(b);
  b.weight = 7;
  s.backends.push_back(b);
  EXPECT_EQ(ramp_scale(s), uint32_t{XDPLB_MAX_WEIGHT / 7});
  b.weight = XDPLB_MAX_WEIGHT;
  s.backends.push_back(b);
  EXPECT_EQ(ramp_scale(s), 1u);
}

}  // namespace
}  // namespace xdplb
