// The map plan of a bridge's services: entries per address x port x protocol, conflicts and
// limits refused before anything is written, backups, and source affinity's hash.
#include "lb/plan.h"

#include <gtest/gtest.h>

#include "saved_backend.h"
#include <netinet/in.h>

#include <map>

#include "../../bpf/lib/flow_hash.h"

namespace xdplb {
namespace {

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

ServiceConfig service(const char* name, uint32_t slot, uint16_t port, ProtoSet protos) {
  return test::service_config(name, slot, port, protos);
}

SavedBackend backend(uint32_t id, const char* service, const char* address, bool backup = false) {
  return test::saved_backend(id, service, address, backup);
}

BridgeState two_services() {
  BridgeState s;
  s.bridge = "svbr0";
  s.services = {service("web", 0, 8000, ProtoSet::Tcp), service("dns", 1, 5353, ProtoSet::Udp)};
  s.backends = {backend(0, "web", "10.0.3.11"), backend(1, "web", "10.0.3.12"), backend(2, "dns", "10.0.3.21"),
                backend(3, "web", "fd42::11")};
  return s;
}

const std::vector<IpAddress> kDefaults = {addr("192.0.2.1"), addr("2001:db8::1"), addr("10.0.3.1")};

TEST(Plan, EachServiceGetsItsAddressesPortsProtocolsAndPools) {
  auto plan = plan_maps(two_services(), kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  EXPECT_EQ(plan->services.size(), 6u) << "3 addresses x (web tcp + dns udp)";
  const ServiceValue web4 = plan->services.at({addr("192.0.2.1"), 8000, IPPROTO_TCP});
  const ServiceValue web6 = plan->services.at({addr("2001:db8::1"), 8000, IPPROTO_TCP});
  const ServiceValue dns4 = plan->services.at({addr("10.0.3.1"), 5353, IPPROTO_UDP});
  EXPECT_EQ(web4.pool, 0u);
  EXPECT_EQ(web6.pool, 1u);
  EXPECT_EQ(dns4.pool, 2u);
  EXPECT_EQ(plan->services.count({addr("192.0.2.1"), 8000, IPPROTO_UDP}), 0u) << "web is TCP only";
  EXPECT_EQ(plan->services.count({addr("192.0.2.1"), 5353, IPPROTO_TCP}), 0u) << "dns is UDP only";
  ASSERT_EQ(plan->pools.size(), 4u);
  ASSERT_EQ(plan->pools.at(0).members.size(), 2u);
  EXPECT_EQ(plan->pools.at(0).members[0].id, 0u);
  EXPECT_EQ(plan->pools.at(0).members[1].id, 1u);
  ASSERT_EQ(plan->pools.at(1).members.size(), 1u);
  EXPECT_EQ(plan->pools.at(1).members[0].id, 3u);
  ASSERT_EQ(plan->pools.at(2).members.size(), 1u);
  EXPECT_EQ(plan->pools.at(2).members[0].id, 2u) << "dns is served only by its own backend";
  EXPECT_TRUE(plan->pools.at(3).members.empty());
}

TEST(Plan, ListenAddressesReplaceTheDefaults) {
  BridgeState s = two_services();
  s.services[1].listen = {addr("198.51.100.53")};
  auto plan = plan_maps(s, kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  EXPECT_EQ(plan->services.size(), 4u);
  EXPECT_EQ(plan->services.count({addr("198.51.100.53"), 5353, IPPROTO_UDP}), 1u);
  EXPECT_EQ(plan->services.count({addr("192.0.2.1"), 5353, IPPROTO_UDP}), 0u) << "only on its --listen address";
}

TEST(Plan, PortRangeIsOneEntryPerPort) {
  BridgeState s = two_services();
  s.services[1].port = 30000;
  s.services[1].port_last = 30009;
  auto plan = plan_maps(s, kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  EXPECT_EQ(plan->services.size(), 3u + 3u * 10u);
  for (uint16_t p = 30000; p <= 30009; ++p)
    EXPECT_EQ(plan->services.at({addr("10.0.3.1"), p, IPPROTO_UDP}).pool, 2u) << p;
  EXPECT_EQ(plan->services.count({addr("10.0.3.1"), 30010, IPPROTO_UDP}), 0u);
}

TEST(Plan, PortRangeOntoARangeGivesEachEntryItsBackendPort) {
  BridgeState s = two_services();
  s.services[1].port = 30000;
  s.services[1].port_last = 30009;
  auto one = plan_maps(s, kDefaults);
  ASSERT_TRUE(one.ok()) << one.error();
  EXPECT_EQ(one->services.at({addr("10.0.3.1"), 30003, IPPROTO_UDP}).backend_port, 0u)
      << "range -> one port: each backend's own port";
  s.services[1].backend_port = 8000;
  s.services[1].backend_port_last = 8009;
  auto plan = plan_maps(s, kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  for (uint16_t p = 30000; p <= 30009; ++p)
    EXPECT_EQ(plan->services.at({addr("10.0.3.1"), p, IPPROTO_UDP}).backend_port, 8000u + (p - 30000)) << p;
  EXPECT_EQ(plan->services.at({addr("10.0.3.1"), 8000, IPPROTO_TCP}).backend_port, 0u) << "web: one port";

  s.services[1].backend_port_last = 8010;
  auto longer = plan_maps(s, kDefaults);
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.error(), "service 'dns': ports 30000-30009 are 10 and backend ports 8000-8010 are 11: give a "
                            "backend port range of the same length, or one port");
  s.services[1].backend_port_last = 7999;
  auto reversed = plan_maps(s, kDefaults);
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.error(), "service 'dns': backend port range 8000-7999: the first port must not be above the last");
}

TEST(Plan, OverlappingPortRangesOfTwoServicesAreRefused) {
  BridgeState s = two_services();
  s.services[0].port = 30000;
  s.services[0].port_last = 30009;
  s.services[1].port = 30005;
  s.services[1].port_last = 30014;
  s.services[1].protos = ProtoSet::Both;
  auto plan = plan_maps(s, kDefaults);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error(), "service 'dns' and service 'web' both claim 192.0.2.1:30005/tcp: give one another "
                          "port, protocol or --listen address");
}

TEST(Plan, TwoServicesMayNotClaimOneAddressPortAndProtocol) {
  BridgeState s = two_services();
  s.services[1].port = s.services[1].port_last = 8000;
  EXPECT_TRUE(plan_maps(s, kDefaults).ok()) << "same port, other protocol: fine";
  s.services[1].protos = ProtoSet::Both;
  auto plan = plan_maps(s, kDefaults);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error(), "service 'dns' and service 'web' both claim 192.0.2.1:8000/tcp: give one another "
                          "port, protocol or --listen address");
  s.services[1].listen = {addr("198.51.100.53")};
  EXPECT_TRUE(plan_maps(s, kDefaults).ok()) << "another address: fine";
  s.services[1].listen = {addr("10.0.3.1")};
  EXPECT_FALSE(plan_maps(s, kDefaults).ok()) << "a --listen address among the other's defaults";
}

TEST(Plan, LimitsAreCheckedBeforeAnythingIsWritten) {
  BridgeState s = two_services();
  s.backends.clear();
  for (uint32_t i = 0; i <= XDPLB_MAX_POOL_MEMBERS; ++i) {
    SavedBackend b = backend(i, "web", "10.0.3.11");
    b.addr.bytes[2] = static_cast<uint8_t>(i >> 8);
    b.addr.bytes[3] = static_cast<uint8_t>(i);
    s.backends.push_back(b);
  }
  auto plan = plan_maps(s, kDefaults);
  ASSERT_FALSE(plan.ok()) << "the 257th backend";
  EXPECT_NE(plan.error().find("would have 257 IPv4 backends taking new flows; a pool holds at most 256"),
            std::string::npos)
      << plan.error();
  s.backends.back().drained = true;  // out of the pool: 256 fit
  EXPECT_TRUE(plan_maps(s, kDefaults).ok());

  BridgeState wide = two_services();
  wide.services[1].port = 1;
  wide.services[1].port_last = 5000;  // 3 addresses x 5000 ports > 8192 entries
  auto big = plan_maps(wide, kDefaults);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().find("the map holds 8192 (XDPLB_MAX_SERVICES)"), std::string::npos) << big.error();

  BridgeState slots = two_services();
  slots.services[1].slot = XDPLB_MAX_SERVICE_OBJECTS;
  EXPECT_FALSE(plan_maps(slots, kDefaults).ok());
}

TEST(Plan, AffinityNeedsTheRing) {
  BridgeState s = two_services();
  s.services[0].affinity = Affinity::Source;
  auto plan = plan_maps(s, kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  EXPECT_EQ(plan->services.at({addr("192.0.2.1"), 8000, IPPROTO_TCP}).flags, XDPLB_SERVICE_AFFINITY_SOURCE);
  EXPECT_EQ(plan->services.at({addr("10.0.3.1"), 5353, IPPROTO_UDP}).flags, 0u);
  s.services[0].scheduler = Scheduler::LeastConn;
  auto bad = plan_maps(s, kDefaults);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("--affinity source places clients by the Maglev ring"), std::string::npos);
}

TEST(Backups, TakeNewFlowsOnlyWhileNoPrimaryCan) {
  BridgeState s = two_services();
  s.backends.push_back(backend(7, "web", "10.0.3.19", true));
  const ServiceConfig& web = s.services[0];
  auto ids = [&] {
    std::vector<uint32_t> out;
    for (const SavedBackend* b : pool_backends(s, web, 4)) out.push_back(b->id);
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<uint32_t>{0, 1})) << "primaries up: the backup waits";
  s.backends[0].health = Health::Down;
  EXPECT_EQ(ids(), (std::vector<uint32_t>{1}));
  s.backends[1].drained = true;
  EXPECT_EQ(ids(), (std::vector<uint32_t>{7})) << "no primary usable: the backup serves";
  EXPECT_EQ(pool_backends(s, web, 6).size(), 1u) << "per family: the IPv6 primary still serves";
  s.backends[0].health = Health::Up;
  EXPECT_EQ(ids(), (std::vector<uint32_t>{0})) << "a primary back: new flows leave the backup";
  s.backends[0].path = BackendPath::Down;
  s.backends[4].health = Health::Down;
  s.services[0].health_check.panic_threshold = 0;
  EXPECT_TRUE(ids().empty()) << "backup down too, no panic threshold: nothing";
}

TEST(Panic, BelowTheThresholdHealthIsIgnoredForPlacement) {
  BridgeState s = two_services();
  s.backends.push_back(backend(7, "web", "10.0.3.19"));
  const ServiceConfig& web = s.services[0];
  auto ids = [&] {
    std::vector<uint32_t> out;
    for (const SavedBackend* b : pool_backends(s, web, 4)) out.push_back(b->id);
    return out;
  };
  ASSERT_EQ(web.health_check.panic_threshold, 50u) << "Envoy's default";
  s.backends[0].health = Health::Down;
  EXPECT_FALSE(in_panic(s, web, 4)) << "2 of 3 healthy (67%) is not below 50%";
  EXPECT_EQ(ids(), (std::vector<uint32_t>{1, 7}));
  s.backends[1].health = Health::Down;
  EXPECT_TRUE(in_panic(s, web, 4)) << "1 of 3 healthy (33%) is below 50%";
  EXPECT_EQ(ids(), (std::vector<uint32_t>{0, 1, 7})) << "in panic all three take new flows";
  EXPECT_FALSE(in_panic(s, web, 6)) << "per family: the IPv6 pool is healthy";
  s.backends[1].drained = true;
  EXPECT_FALSE(in_panic(s, web, 4)) << "a drained backend does not count: 1 of 2 is not below 50%";
  EXPECT_EQ(ids(), (std::vector<uint32_t>{7}));
  s.backends[1].drained = false;
  s.backends[1].path = BackendPath::Down;
  EXPECT_EQ(ids(), (std::vector<uint32_t>{7})) << "a stopped container is never placed";
  s.backends[1].path = BackendPath::Redirect;
  s.services[0].health_check.panic_threshold = 0;
  EXPECT_FALSE(in_panic(s, web, 4)) << "threshold 0: off";
  EXPECT_EQ(ids(), (std::vector<uint32_t>{7}));
  s.services[0].health_check.panic_threshold = 100;
  EXPECT_TRUE(in_panic(s, web, 4)) << "100%: any unhealthy backend is panic";
  s.services[0].health_check.type = CheckType::None;
  EXPECT_FALSE(in_panic(s, web, 4)) << "no checks, no panic";
}

TEST(Panic, AHealthyBackupTakesOverInsteadOfPanic) {
  BridgeState s = two_services();
  s.backends.push_back(backend(7, "web", "10.0.3.19", true));
  const ServiceConfig& web = s.services[0];
  s.backends[0].health = s.backends[1].health = Health::Down;
  EXPECT_FALSE(in_panic(s, web, 4)) << "the backup is healthy: it serves";
  ASSERT_EQ(pool_backends(s, web, 4).size(), 1u);
  EXPECT_EQ(pool_backends(s, web, 4)[0]->id, 7u);
  s.backends[4].health = Health::Down;
  EXPECT_TRUE(in_panic(s, web, 4)) << "no healthy backend at all: panic over the primaries";
  EXPECT_EQ(pool_backends(s, web, 4).size(), 2u);
}

// Source affinity hashes the client address only: one client -> one slot whatever its port
// or the VIP it dials; many clients spread over the ring by weight.
TEST(Affinity, OneClientOneSlotAndClientsSpreadByWeight) {
  struct xdplb_flow_key key {};
  key.src.v4 = htonl(0xc6336401);  // 198.51.100.1
  key.dst.v4 = htonl(0xc0000201);
  key.proto = IPPROTO_TCP;
  key.family = XDPLB_AF_INET;
  key.dport = htons(8000);
  const uint32_t slot = xdplb_affinity_slot(&key, 0);
  for (uint16_t sport = 1000; sport < 1030; ++sport) {
    key.sport = htons(sport);
    EXPECT_EQ(xdplb_affinity_slot(&key, 0), slot);
  }
  key.dst.v4 = htonl(0x0a000301);
  key.dport = htons(8001);
  EXPECT_EQ(xdplb_affinity_slot(&key, 0), slot) << "another VIP or port: same client, same slot";
  EXPECT_NE(xdplb_affinity_slot(&key, 1), slot) << "a probe moves it";

  std::vector<MaglevBackend> members = {{0, "web1", 1}, {1, "web2", 2}, {2, "web3", 1}};
  auto ring = build_maglev_ring(members);
  ASSERT_TRUE(ring.ok()) << ring.error();
  std::map<uint32_t, uint32_t> hits;
  const uint32_t clients = 40000;
  for (uint32_t c = 0; c < clients; ++c) {
    key.src.v4 = htonl(0x0a000000 + c);
    ++hits[(*ring)[xdplb_affinity_slot(&key, 0)]];
  }
  const double share[] = {0.25, 0.5, 0.25};
  for (uint32_t id = 0; id < 3; ++id) {
    const double got = static_cast<double>(hits[id]) / clients;
    EXPECT_NEAR(got, share[id], 0.05 * share[id]) << "backend " << id;
  }
}

// A routed backend's replies without a reverse entry (another node's flow) get the one
// VIP:port its endpoint serves; an endpoint serving several is marked ambiguous (dropped by the
// datapath), and bridge backends get nothing (their replies come through TC on the bridge).
SavedBackend routed(uint32_t id, const char* service, const char* address) {
  SavedBackend b = backend(id, service, address);
  b.path = BackendPath::Routed;
  return b;
}

TEST(Plan, RoutedBackendsGetTheirServicesVipAsReplyNat) {
  BridgeState s = two_services();
  s.services[0].listen = {addr("198.51.100.80"), addr("2001:db8::80")};
  s.backends.push_back(routed(4, "web", "172.16.0.10"));
  s.backends.push_back(routed(5, "web", "fd00:16::10"));
  auto plan = plan_maps(s, kDefaults);
  ASSERT_TRUE(plan.ok()) << plan.error();
  ASSERT_EQ(plan->reply_nats.size(), 2u) << "one per routed endpoint and protocol; bridge backends none";
  EXPECT_EQ(plan->reply_nats.at({addr("172.16.0.10"), 80, IPPROTO_TCP}), (ReplyNat{addr("198.51.100.80"), 8000, false}))
      << "IPv4 backend: the IPv4 listen address only";
  EXPECT_EQ(plan->reply_nats.at({addr("fd00:16::10"), 80, IPPROTO_TCP}), (ReplyNat{addr("2001:db8::80"), 8000, false}));
}

TEST(Plan, ReplyNatOfAnEndpointServingSeveralVipsIsAmbiguous) {
  const ServiceKey endpoint{addr("172.16.0.10"), 80, IPPROTO_TCP};
  BridgeState s = two_services();
  s.backends.push_back(routed(4, "web", "172.16.0.10"));
  auto defaults = plan_maps(s, kDefaults);  // web answers on 192.0.2.1 and 10.0.3.1
  ASSERT_TRUE(defaults.ok()) << defaults.error();
  EXPECT_TRUE(defaults->reply_nats.at(endpoint).ambiguous) << "two IPv4 addresses";

  s.services[0].listen = {addr("198.51.100.80")};
  s.services[0].port_last = 8009;  // ten ports onto backend port 80
  auto range = plan_maps(s, kDefaults);
  ASSERT_TRUE(range.ok()) << range.error();
  EXPECT_TRUE(range->reply_nats.at(endpoint).ambiguous) << "a port range onto one backend port";
  std::vector<ServiceKey> claims;  // what `status` lists for it
  for (uint16_t port = 8000; port <= 8009; ++port) claims.push_back({addr("198.51.100.80"), port, IPPROTO_TCP});
  EXPECT_EQ(range->reply_nat_claims.at(endpoint), claims);

  s.services[0].backend_port = 9000;
  s.services[0].backend_port_last = 9009;  // port + i -> 9000 + i: one VIP:port per backend port
  auto mapped = plan_maps(s, kDefaults);
  ASSERT_TRUE(mapped.ok()) << mapped.error();
  EXPECT_EQ(mapped->reply_nats.size(), 10u);
  EXPECT_EQ(mapped->reply_nats.at({addr("172.16.0.10"), 9003, IPPROTO_TCP}),
            (ReplyNat{addr("198.51.100.80"), 8003, false}));
  EXPECT_EQ(mapped->reply_nat_claims.at({addr("172.16.0.10"), 9003, IPPROTO_TCP}),
            (std::vector<ServiceKey>{{addr("198.51.100.80"), 8003, IPPROTO_TCP}}));

  BridgeState two = two_services();
  two.services[0].listen = {addr("198.51.100.80")};
  two.services[1].listen = {addr("198.51.100.53")};
  two.services[1].protos = ProtoSet::Tcp;
  two.backends.push_back(routed(4, "web", "172.16.0.10"));
  two.backends.push_back(routed(5, "dns", "172.16.0.10"));
  auto shared = plan_maps(two, kDefaults);
  ASSERT_TRUE(shared.ok()) << shared.error();
  EXPECT_TRUE(shared->reply_nats.at(endpoint).ambiguous) << "one endpoint, two services";
}

}  // namespace
}  // namespace xdplb
