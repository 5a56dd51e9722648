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
  s.health_check.type = "http";
  s.health_check.http_path = "/healthz";
  s.health_check.expect_min = 200;
  s.health_check.expect_max = 204;
  s.health_check.interval_ms = 250;
  s.health_check.timeout_ms = 100;
  s.health_check.rise = 4;
  s.health_check.fall = 5;
  SavedBackend b;
  b.id = 3;
  b.addr = *IpAddress::parse("10.0.3.11");
  b.drained = true;
  b.health = "down";
  b.health_reason = "3 failed probes";
  s.backends.push_back(b);
  auto back = state_from_json(state_to_json(s), "test");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, s);
}

TEST(DaemonState, OldFilesGetDefaults) {
  auto s = state_from_json(R"({"bridge": "br0", "backends": [{"id": 1, "addr": "10.0.0.2"}]})", "old");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->health_check, HealthCheckConfig{});
  EXPECT_EQ(s->health_check.interval_ms, 1000u);
  EXPECT_FALSE(s->backends[0].drained);
  EXPECT_EQ(s->backends[0].health, "");
}

TEST(DaemonState, RejectsBadHealthConfig) {
  EXPECT_FALSE(state_from_json(R"({"health_check": {"type": "icmp"}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"interval_ms": 50}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"rise": 0}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"expect_min": 400, "expect_max": 200}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"health_check": {"http_path": "healthz"}})", "t"));
  EXPECT_FALSE(state_from_json(R"({"backends": [{"id": 1, "addr": "10.0.0.2", "health": "maybe"}]})", "t"));
}

TEST(DaemonState, RingTakesOnlyHealthyUndrainedBackends) {
  SavedBackend b;
  b.addr = *IpAddress::parse("10.0.0.2");
  EXPECT_TRUE(in_ring(b)) << "unchecked counts as in";
  b.health = "up";
  EXPECT_TRUE(in_ring(b));
  b.health = "down";
  EXPECT_FALSE(in_ring(b));
  b.health = "up";
  b.drained = true;
  EXPECT_FALSE(in_ring(b));
  b.drained = false;
  b.path = "down";
  EXPECT_FALSE(in_ring(b));
}

}  // namespace
}  // namespace xdplb
