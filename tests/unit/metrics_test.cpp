// Metrics text, the /metrics request handling, the --metrics address rule and the event
// lines: pure parts of controller/observe, without a daemon.
#include <gtest/gtest.h>

#include <xdplb/abi.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "observe/endpoint.h"
#include "observe/events.h"
#include "observe/http_server.h"
#include "observe/metrics.h"
#include "observe/trace.h"

using namespace xdplb;
using namespace xdplb::observe;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

Snapshot two_backends() {
  Snapshot s;
  ServiceConfig web;
  web.name = "web";
  s.state.services = {web};
  SavedBackend a;
  a.id = 1;
  a.service = "web";
  a.name = "web1";
  a.addr = *IpAddress::parse("10.0.3.11");
  a.health = Health::Up;
  SavedBackend b;
  b.id = 2;
  b.service = "web";
  b.addr = *IpAddress::parse("fd42::12");
  b.family = 6;
  b.port = 8080;
  b.health = Health::Down;
  b.weight = 7;
  s.state.backends = {a, b};
  s.backends[1].packets = 100;
  s.backends[1].bytes = 6400;
  s.backends[2].connections = -2;
  s.reasons.assign(XDPLB_R_MAX, 0);
  s.reasons[0] = 5;
  s.flows = 3;
  s.flow_table_size = 1024;
  return s;
}

}  // namespace

TEST(Metrics, PerBackendFamiliesWithLabels) {
  const std::string t = render_metrics(two_backends(), {});
  EXPECT_TRUE(has_line(t, "# TYPE xdplb_backend_packets_total counter")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_packets_total{service="web",backend="web1",family="ipv4"} 100)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_bytes_total{service="web",backend="web1",family="ipv4"} 6400)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_connections{service="web",backend="[fd42::12]:8080",family="ipv6"} 0)"))
      << "negative counts read as 0\n" << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_up{service="web",backend="[fd42::12]:8080",family="ipv6"} 0)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_weight{service="web",backend="[fd42::12]:8080",family="ipv6"} 7)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_health{service="web",backend="web1",family="ipv4",state="up"} 1)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_backend_health{service="web",backend="web1",family="ipv4",state="down"} 0)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_service_backends_up{service="web"} 1)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_flow_table_entries 3")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_flow_table_size 1024")) << t;
}

TEST(Metrics, EveryReasonIsASample) {
  const std::string t = render_metrics(two_backends(), {});
  size_t n = 0;
  for (size_t pos = 0; (pos = t.find("\nxdplb_datapath_packets_total{reason=", pos)) != std::string::npos; ++pos) ++n;
  EXPECT_EQ(n, static_cast<size_t>(XDPLB_R_MAX));
}

TEST(Metrics, ProbeHistogramIsCumulative) {
  ControlMetrics m;
  m.probe(1, true, std::chrono::microseconds(300));   // <= 0.0005
  m.probe(1, true, std::chrono::microseconds(3000));  // <= 0.005
  m.probe(1, false, std::chrono::seconds(3));          // only +Inf
  const std::string t = render_metrics(two_backends(), m.sample());
  const std::string l = R"(service="web",backend="web1",family="ipv4")";
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_bucket{" + l + R"(,le="0.0005"} 1)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_bucket{" + l + R"(,le="0.0025"} 1)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_bucket{" + l + R"(,le="0.005"} 2)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_bucket{" + l + R"(,le="1"} 2)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_bucket{" + l + R"(,le="+Inf"} 3)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probe_duration_seconds_count{" + l + "} 3")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_health_probes_total{" + l + R"(,result="failed"} 1)")) << t;
}

TEST(Metrics, ControlCounters) {
  ControlMetrics m;
  m.map_write("pool", true);
  m.map_write("pool", false);
  m.map_write("settings", true);
  m.ring_rebuilt(std::chrono::milliseconds(2));
  m.transaction(true);
  const std::string t = render_metrics(two_backends(), m.sample());
  EXPECT_TRUE(has_line(t, R"(xdplb_map_writes_total{kind="pool"} 2)")) << t;
  EXPECT_TRUE(has_line(t, R"(xdplb_map_writes_total{kind="settings"} 1)")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_map_write_errors_total 1")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_ring_rebuilds_total 1")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_ring_rebuild_seconds_total 0.002")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_state_writes_total 1")) << t;
  EXPECT_TRUE(has_line(t, "xdplb_state_changes_total 0")) << t;
  m.state_change_seen();
  EXPECT_TRUE(has_line(render_metrics(two_backends(), m.sample()), "xdplb_state_changes_total 1"));
}

TEST(Metrics, LabelValuesEscaped) {
  Snapshot s = two_backends();
  s.state.backends[0].name = "we\"b\\1";
  const std::string t = render_metrics(s, {});
  EXPECT_NE(t.find(R"(backend="we\"b\\1")"), std::string::npos) << t;
}

TEST(MetricsAddress, LoopbackOnlyUnlessPublic) {
  auto d = parse_metrics_address("127.0.0.1:9464", false);
  ASSERT_TRUE(d) << d.error();
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->port, 9464);
  EXPECT_TRUE(parse_metrics_address("[::1]:9000", false));
  auto off = parse_metrics_address("off", false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->has_value());
  auto pub = parse_metrics_address("0.0.0.0:9464", false);
  ASSERT_FALSE(pub);
  EXPECT_NE(pub.error().find("--metrics-public"), std::string::npos) << pub.error();
  EXPECT_TRUE(parse_metrics_address("0.0.0.0:9464", true));
  EXPECT_FALSE(parse_metrics_address("localhost:9464", false));
  EXPECT_FALSE(parse_metrics_address("127.0.0.1:0", false));
}

TEST(MetricsHttp, OnlyGetMetrics) {
  int calls = 0;
  MetricsHandler h = [&]() -> Result<std::string> {
    ++calls;
    return std::string("xdplb_up 1\n");
  };
  const std::string ok = http_response("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", h);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Content-Length: 11\r\n"), std::string::npos) << ok;
  EXPECT_EQ(ok.substr(ok.size() - 11), "xdplb_up 1\n");
  EXPECT_EQ(http_response("GET /metrics?x=1 HTTP/1.0\r\n\r\n", h).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(http_response("GET / HTTP/1.1\r\n\r\n", h).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(http_response("POST /metrics HTTP/1.1\r\n\r\n", h).rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(http_response("", h).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_response("garbage\r\n\r\n", h).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(calls, 2);
  MetricsHandler broken = []() -> Result<std::string> { return make_error("pins gone"); };
  const std::string err = http_response("GET /metrics HTTP/1.1\r\n\r\n", broken);
  EXPECT_EQ(err.rfind("HTTP/1.1 500", 0), 0u);
  EXPECT_NE(err.find("pins gone"), std::string::npos);
}

TEST(Events, OneObjectWithTheSetFields) {
  SavedBackend b;
  b.id = 4;
  b.service = "web";
  b.name = "web2";
  b.addr = *IpAddress::parse("10.0.3.12");
  Event e;
  e.type = EventType::BackendDown;
  e.service = b.service;
  e.backend = backend_label(b);
  e.id = b.id;
  e.address = b.addr.to_string();
  e.reason = "3 failed probes in a row";
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764590400123));
  const Json j = event_json("br0", e, when);
  EXPECT_EQ(j.dump(),
            R"({"time":"2025-12-01T12:00:00.123Z","bridge":"br0","type":"backend_down","service":"web",)"
            R"("backend":"web2","id":4,"address":"10.0.3.12","reason":"3 failed probes in a row"})");
  Event s;
  s.type = EventType::ServiceAdded;
  s.service = "dns";
  EXPECT_EQ(event_json("br0", s, when).dump(),
            R"({"time":"2025-12-01T12:00:00.123Z","bridge":"br0","type":"service_added","service":"dns"})");
}

namespace {

// A state with service "web" (slot 1: pools 2 and 3) and its backend `name` of this id.
BridgeState web_state(Scheduler scheduler, uint32_t id, const std::string& name, const std::string& addr) {
  BridgeState st;
  ServiceConfig web;
  web.name = "web";
  web.slot = 1;
  web.scheduler = scheduler;
  st.services = {web};
  SavedBackend b;
  b.id = id;
  b.service = "web";
  b.name = name;
  b.addr = *IpAddress::parse(addr);
  st.backends = {b};
  return st;
}

// A TCP record of `hook` from src:sport to dst:dport for backend id of pool 2.
struct xdplb_trace_event tcp_record(uint32_t hook, const std::string& src, uint16_t sport, const std::string& dst,
                                    uint16_t dport, uint32_t backend, uint32_t scheduler) {
  struct xdplb_trace_event e;
  std::memset(&e, 0, sizeof e);
  e.hook = hook;
  e.key.family = XDPLB_AF_INET;
  e.key.proto = 6;
  e.key.src = IpAddress::parse(src)->to_abi();
  e.key.dst = IpAddress::parse(dst)->to_abi();
  e.key.sport = htons(sport);
  e.key.dport = htons(dport);
  e.backend = backend;
  e.pool = 2;
  e.scheduler = scheduler;
  return e;
}

}  // namespace

TEST(Trace, RecordResolvedAgainstTheState) {
  const BridgeState st = web_state(Scheduler::RoundRobin, 7, "web1", "10.0.3.11");
  struct xdplb_trace_event e =
      tcp_record(XDPLB_TRACE_XDP, "192.0.2.9", 40000, "203.0.113.1", 8000, 7, XDPLB_SCHED_ROUND_ROBIN);
  e.ts_ns = 42;
  e.verdict = 4;  // XDP_REDIRECT
  e.reasons = (1ull << XDPLB_R_NEW_FLOW) | (1ull << XDPLB_R_FWD_REDIRECT);
  const Json j = trace_json(e, st);
  EXPECT_EQ(j.dump(),
            R"({"ts_ns":42,"hook":"xdp","proto":"tcp","src":"192.0.2.9:40000","dst":"203.0.113.1:8000",)"
            R"("service":"web","scheduler":"round-robin","flow":"new","backend_id":7,"backend":"web1",)"
            R"("verdict":"redirect","reasons":["fwd_redirect","new_flow"]})");
  EXPECT_EQ(trace_text(j),
            "xdp tcp 192.0.2.9:40000 -> 203.0.113.1:8000 service web (round-robin) flow new -> web1 redirect "
            "[fwd_redirect new_flow]");
  e.reasons = 1ull << XDPLB_R_FWD_REDIRECT;
  EXPECT_EQ(trace_json(e, st)["flow"], "hit");
  e.pool = XDPLB_NO_POOL;
  e.backend = XDPLB_NO_BACKEND;
  e.verdict = 2;
  e.reasons = 1ull << XDPLB_R_PASS_NOT_SERVICE;
  const Json miss = trace_json(e, st);
  EXPECT_TRUE(miss["service"].is_null());
  EXPECT_EQ(miss["flow"], "none");
  EXPECT_EQ(trace_text(miss), "xdp tcp 192.0.2.9:40000 -> 203.0.113.1:8000 no service pass [pass_not_service]");
}

TEST(Trace, HairpinAndSocketRecords) {
  const BridgeState st = web_state(Scheduler::Maglev, 3, "web2", "10.0.3.12");
  struct xdplb_trace_event e =
      tcp_record(XDPLB_TRACE_TC_HAIRPIN, "10.0.3.13", 41000, "10.0.3.1", 8000, 3, XDPLB_SCHED_MAGLEV);
  e.verdict = 7;  // TC_ACT_REDIRECT
  e.reasons = (1ull << XDPLB_R_TC_HAIRPIN_NEW) | (1ull << XDPLB_R_TC_HAIRPIN_REQUEST);
  const Json hp = trace_json(e, st);
  EXPECT_EQ(hp["hook"], "tc_hairpin");
  EXPECT_EQ(hp["flow"], "new") << "a hairpin flow's first packet";
  EXPECT_EQ(trace_text(hp),
            "tc_hairpin tcp 10.0.3.13:41000 -> 10.0.3.1:8000 service web (maglev) flow new -> web2 redirect "
            "[tc_hairpin_new tc_hairpin_request]");
  e.reasons = 1ull << XDPLB_R_TC_HAIRPIN_REQUEST;
  EXPECT_EQ(trace_json(e, st)["flow"], "hit");

  e.hook = XDPLB_TRACE_SOCK_CONNECT;
  e.key.src = {};
  e.key.sport = 0;
  e.key.dst = IpAddress::parse("127.0.0.1")->to_abi();
  e.verdict = 1;
  e.reasons = 0;
  const Json sock = trace_json(e, st);
  EXPECT_TRUE(sock["src"].is_null()) << "connect() has no source yet";
  EXPECT_EQ(sock["verdict"], "allow");
  EXPECT_EQ(sock["flow"], "none");
  EXPECT_EQ(trace_text(sock), "connect tcp host -> 127.0.0.1:8000 service web (maglev) -> web2 allow []");
}

TEST(Trace, IcmpErrorAndLaterFragmentFromTheUplink) {
  const BridgeState st = web_state(Scheduler::Maglev, 3, "web1", "10.0.3.11");
  struct xdplb_trace_event e =
      tcp_record(XDPLB_TRACE_XDP_ICMP, "192.0.2.9", 40000, "203.0.113.1", 8000, 3, XDPLB_SCHED_MAGLEV);
  e.pool = XDPLB_NO_POOL;  // the error is found by its flow, not by the service
  e.verdict = 2;           // XDP_PASS
  const Json j = trace_json(e, st);
  EXPECT_EQ(j["hook"], "xdp_icmp");
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["flow"], "hit") << "an error about a flow it knows";
  EXPECT_EQ(j["service"], "web") << "the service of the flow's backend";
  e.hook = XDPLB_TRACE_XDP_FRAGMENT;
  EXPECT_EQ(trace_json(e, st)["hook"], "xdp_fragment");
}

TEST(Trace, ClientIsTheHost) {
  const std::vector<IpAddress> local = {*IpAddress::parse("10.0.3.1"), *IpAddress::parse("fd42::1")};
  EXPECT_TRUE(trace_client_is_host(*IpAddress::parse("127.0.0.1"), local));
  EXPECT_TRUE(trace_client_is_host(*IpAddress::parse("127.1.2.3"), local));
  EXPECT_TRUE(trace_client_is_host(*IpAddress::parse("::1"), local));
  EXPECT_TRUE(trace_client_is_host(*IpAddress::parse("10.0.3.1"), local)) << "the bridge's address";
  EXPECT_TRUE(trace_client_is_host(*IpAddress::parse("fd42::1"), local));
  EXPECT_FALSE(trace_client_is_host(*IpAddress::parse("10.0.3.11"), local)) << "a container";
  EXPECT_FALSE(trace_client_is_host(*IpAddress::parse("::2"), local));
  EXPECT_FALSE(trace_client_is_host(*IpAddress::parse("128.0.0.1"), local));
}
