// The --json shapes of the read commands are an interface: scripts read them. These tests pin
// every key, its order and its JSON type; a change here is a change of the documented shape
// (README "JSON output").
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <utility>
#include <vector>

#include "observe/shapes.h"

using namespace xdplb;
using observe::Json;

namespace {

using Shape = std::vector<std::pair<std::string, Json::value_t>>;
constexpr auto kStr = Json::value_t::string;
constexpr auto kUint = Json::value_t::number_unsigned;
constexpr auto kInt = Json::value_t::number_integer;
constexpr auto kBool = Json::value_t::boolean;
constexpr auto kArr = Json::value_t::array;
constexpr auto kObj = Json::value_t::object;

void expect_shape(const Json& j, const Shape& shape) {
  ASSERT_TRUE(j.is_object()) << j.dump();
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  std::vector<std::string> want;
  for (const auto& [k, t] : shape) want.push_back(k);
  EXPECT_EQ(keys, want) << j.dump();
  for (const auto& [k, t] : shape) {
    if (j.contains(k)) {
      EXPECT_EQ(j[k].type(), t) << "key " << k << " of " << j.dump();
    }
  }
}

SavedBackend web1() {
  SavedBackend b;
  b.id = 3;
  b.service = "web";
  b.name = "web1";
  b.source = BackendSource::Lxd;
  b.addr = *IpAddress::parse("10.0.3.11");
  b.port = 80;
  b.weight = 5;
  b.path = BackendPath::Redirect;
  b.via = "veth1";
  b.health = Health::Down;
  b.health_reason = "3 failed probes in a row";
  return b;
}

ServiceConfig web() {
  ServiceConfig s;
  s.name = "web";
  s.port = 8000;
  s.port_last = 8010;
  s.listen = {*IpAddress::parse("192.0.2.1")};
  s.scheduler = Scheduler::LeastConn;
  return s;
}

}  // namespace

TEST(Shapes, Backend) {
  observe::BackendLive live;
  live.packets = 10;
  live.bytes = 1500;
  live.new_flows = 2;
  live.connections = -1;  // a decrement overtook its increment: shown as 0
  live.in_ring = true;
  const Json j = observe::backend_json(web1(), live);
  expect_shape(j, {{"id", kUint}, {"service", kStr}, {"name", kStr}, {"source", kStr}, {"address", kStr},
                   {"family", kInt}, {"port", kUint}, {"weight", kUint}, {"placement_weight", kUint},
                   {"path", kStr}, {"via", kStr}, {"path_reason", kStr}, {"packets", kUint}, {"bytes", kUint},
                   {"new_flows", kUint}, {"connections", kInt}, {"drained", kBool}, {"drain_end", kStr},
                   {"health", kStr}, {"backup", kBool}, {"health_reason", kStr}, {"in_ring", kBool}, {"flow_entries", kUint},
                   {"active_flows", kUint}});
  EXPECT_EQ(j["connections"], 0);
  EXPECT_EQ(j["health"], "down");
  EXPECT_EQ(j["path"], "redirect");
  EXPECT_EQ(j["source"], "lxd");
  EXPECT_EQ(j["address"], "10.0.3.11");
  EXPECT_EQ(j["packets"], 10u);
}

TEST(Shapes, BackendWithoutAddress) {
  SavedBackend b = web1();
  b.addr = {};
  EXPECT_EQ(observe::backend_json(b, {})["address"], "");
}

TEST(Shapes, ServiceInStatus) {
  const Json j = observe::service_status_json(web(), {*IpAddress::parse("203.0.113.5")}, true);
  expect_shape(j, {{"name", kStr}, {"vips", kArr}, {"port", kUint}, {"port_last", kUint}, {"proto", kStr},
                   {"backend_port", kUint}, {"backend_port_last", kUint}, {"scheduler", kStr}, {"affinity", kStr},
                   {"health_check", kStr}, {"panic_threshold", kUint}, {"panic", kBool}, {"ring_size", kUint}});
  EXPECT_EQ(j["panic"], true);
  EXPECT_EQ(j["panic_threshold"], 50);
  EXPECT_EQ(j["vips"], Json::array({"192.0.2.1"}));  // --listen wins over the defaults
  EXPECT_EQ(j["scheduler"], "least-conn");
  EXPECT_EQ(j["health_check"], "tcp");
}

TEST(Shapes, ServiceList) {
  BridgeState st;
  st.bridge = "br0";
  st.services = {web()};
  st.backends = {web1()};
  SavedBackend other = web1();
  other.service = "dns";
  st.backends.push_back(other);
  const Json j = observe::service_list_json(st, st.services[0], {});
  expect_shape(j, {{"name", kStr}, {"ports", kStr}, {"backend_port", kUint}, {"backend_ports", kStr}, {"proto", kStr}, {"listen", kArr},
                   {"addresses", kArr}, {"scheduler", kStr}, {"affinity", kStr}, {"health_check", kObj},
                   {"backends", kArr}});
  EXPECT_EQ(j["ports"], "8000-8010");
  ASSERT_EQ(j["backends"].size(), 1u);  // only the service's own
  expect_shape(j["backends"][0], {{"id", kUint}, {"name", kStr}, {"address", kStr}, {"family", kInt},
                                  {"port", kUint}, {"weight", kUint}, {"backup", kBool}, {"drained", kBool},
                                  {"fast_path_disabled", kBool}});
}

TEST(Shapes, Health) {
  BridgeState st;
  st.bridge = "br0";
  st.services = {web()};
  st.services[0].health_check.type = CheckType::Http;
  st.services[0].health_check.http_path = "/healthz";
  st.backends = {web1()};
  const Json j = observe::health_json(st, st.services[0]);
  expect_shape(j, {{"bridge", kStr}, {"service", kStr}, {"checks", kObj}, {"backends", kArr}});
  expect_shape(j["checks"], {{"type", kStr}, {"http_path", kStr}, {"expect_min", kUint}, {"expect_max", kUint},
                             {"interval_ms", kUint}, {"timeout_ms", kUint}, {"rise", kUint}, {"fall", kUint},
                             {"slow_start_ms", kUint}, {"panic_threshold", kUint}, {"refusals", kUint}});
  EXPECT_EQ(j["checks"]["type"], "http");
  EXPECT_EQ(j["checks"]["http_path"], "/healthz");
  ASSERT_EQ(j["backends"].size(), 1u);
  expect_shape(j["backends"][0], {{"id", kUint}, {"name", kStr}, {"address", kStr}, {"port", kUint},
                                  {"health", kStr}, {"health_reason", kStr}});
  EXPECT_EQ(j["backends"][0]["health_reason"], "3 failed probes in a row");
}

TEST(Shapes, Scheduler) {
  const Json j = observe::scheduler_json("br0", web(), "fewest connections");
  expect_shape(j, {{"bridge", kStr}, {"service", kStr}, {"scheduler", kStr}, {"affinity", kStr}, {"meaning", kStr}});
  EXPECT_EQ(j["scheduler"], "least-conn");
  EXPECT_EQ(j["affinity"], "none");
}

TEST(Shapes, ReplyNatInStatus) {
  const ServiceKey endpoint{*IpAddress::parse("172.16.0.10"), 80, IPPROTO_TCP};
  const ServiceKey vip8000{*IpAddress::parse("198.51.100.80"), 8000, IPPROTO_TCP};
  const ServiceKey vip8001{*IpAddress::parse("198.51.100.80"), 8001, IPPROTO_TCP};
  const Json one = observe::reply_nat_json(endpoint, {vip8000.vip, 8000, false}, {vip8000});
  const Shape shape = {{"backend", kStr}, {"port", kUint},  {"proto", kStr}, {"ambiguous", kBool},
                       {"vip", kStr},     {"vport", kUint}, {"serves", kArr}};
  expect_shape(one, shape);
  EXPECT_EQ(one["backend"], "172.16.0.10");
  EXPECT_EQ(one["proto"], "tcp");
  EXPECT_EQ(one["vip"], "198.51.100.80");
  EXPECT_EQ(one["vport"], 8000);
  EXPECT_EQ(one["serves"], Json::array({"198.51.100.80:8000"}));
  // Ambiguous: no VIP:port to put back (the datapath drops), the ones it serves listed.
  const Json two = observe::reply_nat_json(endpoint, {vip8000.vip, 8000, true}, {vip8000, vip8001});
  expect_shape(two, shape);
  EXPECT_EQ(two["ambiguous"], true);
  EXPECT_EQ(two["vip"], "");
  EXPECT_EQ(two["vport"], 0);
  EXPECT_EQ(two["serves"], Json::array({"198.51.100.80:8000", "198.51.100.80:8001"}));
}
