// Several services through the XDP program (BPF_PROG_TEST_RUN), programmed by the
// controller's own change path (lb/transaction.h over the real maps): two services on one VIP
// with their own ports and pools, a port range, source affinity, and backups that take over
// and hand back.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <bpf/libbpf.h>

#include "datapath/datapath.h"
#include "lb/transaction.h"
#include "packet.h"
#include "prog_run.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::test {
namespace {
namespace fs = std::filesystem;

const char* kVip = "10.0.0.10";
const char* kClient = "192.168.1.2";

IpAddress addr(const std::string& text) { return *IpAddress::parse(text); }

SavedBackend backend(uint32_t id, const char* service, const char* a, uint16_t port, bool backup = false) {
  SavedBackend b;
  b.id = id;
  b.service = service;
  b.addr = addr(a);
  b.port = port;
  b.backup = backup;
  return b;
}

ServiceConfig service(const char* name, uint32_t slot, uint16_t first, uint16_t last, ProtoSet protos,
                      uint16_t backend_port) {
  ServiceConfig s;
  s.name = name;
  s.slot = slot;
  s.port = first;
  s.port_last = last;
  s.protos = protos;
  s.backend_port = backend_port;
  return s;
}

class ServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    writer = std::make_unique<DatapathWriter>(*dp);
    std::string t = (fs::temp_directory_path() / "sv-packet-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(t.data()));
    dir = t;
    // web: TCP 8000 -> :80 (b0, b1, backup b5); dns: UDP 5353 -> :53 (b2, b3); game: UDP
    // 30000-30009 -> :7000 (b4).
    auto s = change(
        [](BridgeState& s, EntryChanges& e) -> Status {
          s.services = {service("web", 0, 8000, 8000, ProtoSet::Tcp, 80),
                        service("dns", 1, 5353, 5353, ProtoSet::Udp, 53),
                        service("game", 2, 30000, 30009, ProtoSet::Udp, 7000)};
          s.backends = {backend(0, "web", "10.1.0.11", 80), backend(1, "web", "10.1.0.12", 80),
                        backend(2, "dns", "10.1.0.21", 53), backend(3, "dns", "10.1.0.22", 53),
                        backend(4, "game", "10.1.0.31", 7000), backend(5, "web", "10.1.0.19", 80, true)};
          for (const auto& b : s.backends) e.put[b.id] = BackendEntry{b.addr, b.port, true};
          return {};
        },
        true);
    ASSERT_TRUE(s) << s.error();
  }
  void TearDown() override { fs::remove_all(dir); }

  Result<BridgeState> change(const ChangeFn& fn, bool first = false) {
    TransactionOptions t;
    t.state_dir = dir;
    t.bridge = "svbr0";
    t.maps = writer.get();
    t.create = first;
    t.fresh_maps = first;
    t.default_addresses = [](const BridgeState&) -> Result<std::vector<IpAddress>> {
      return std::vector<IpAddress>{addr(kVip)};
    };
    return run_transaction(t, fn);
  }

  // Health as the daemon records it: the backends' health and their entries (in)active.
  Result<BridgeState> set_health(std::set<uint32_t> ids, Health health) {
    return change([&](BridgeState& s, EntryChanges& e) -> Status {
      for (auto& b : s.backends)
        if (ids.count(b.id)) {
          b.health = health;
          e.put[b.id] = BackendEntry{b.addr, b.port, health != Health::Down};
        }
      return {};
    });
  }

  // Sends p through XDP; the backend address:port it was DNATed to, or "" if passed untouched.
  std::string send(const Packet& p, int* verdict = nullptr) {
    auto r = run_xdp(dp->xdp_prog_fd(), p.bytes());
    EXPECT_TRUE(r) << r.error();
    if (!r) return "";
    if (verdict) *verdict = r->verdict;
    if (r->out == p.bytes()) return "";
    auto parsed = parse(r->out);
    EXPECT_TRUE(parsed && parsed->ip_csum_ok && parsed->l4_csum_ok) << "checksums after DNAT";
    return parsed ? parsed->dst + ":" + std::to_string(parsed->dport) : "?";
  }

  // The VIP:vport a reply from backend:bport to the client:cport is put back to, as the reverse
  // entry in `map` says; "" if there is none.
  std::string reverse_of(const struct bpf_map* map, const std::string& backend, uint16_t bport, uint16_t cport) {
    struct xdplb_flow_key k;
    std::memset(&k, 0, sizeof k);
    k.src = addr(backend).to_abi();
    k.sport = htons(bport);
    k.dst = addr(kClient).to_abi();
    k.dport = htons(cport);
    k.proto = IPPROTO_TCP;
    k.family = XDPLB_AF_INET;
    struct xdplb_reverse v;
    if (bpf_map__lookup_elem(map, &k, sizeof k, &v, sizeof v, 0)) return "";
    return IpAddress::from_abi(v.vip, AF_INET).to_string() + ":" + std::to_string(ntohs(v.vport));
  }

  std::unique_ptr<Datapath> dp;
  std::unique_ptr<DatapathWriter> writer;
  std::string dir;
};

TEST_F(ServicesTest, TwoServicesOnOneVipEachServedOnlyByItsOwnBackends) {
  std::set<std::string> web, dns;
  for (uint16_t sport = 40000; sport < 40040; ++sport) {
    web.insert(send(Packet::tcp(kClient, sport, kVip, 8000)));
    dns.insert(send(Packet::udp(kClient, sport, kVip, 5353)));
  }
  EXPECT_EQ(web, (std::set<std::string>{"10.1.0.11:80", "10.1.0.12:80"})) << "web: its two primaries";
  EXPECT_EQ(dns, (std::set<std::string>{"10.1.0.21:53", "10.1.0.22:53"})) << "dns: its own two";
  int verdict = -1;
  EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, 8000), &verdict), "") << "web is TCP only";
  EXPECT_EQ(verdict, XDP_PASS);
  EXPECT_EQ(send(Packet::tcp(kClient, 40000, kVip, 5353), &verdict), "") << "dns is UDP only";
  EXPECT_EQ(verdict, XDP_PASS);
}

TEST_F(ServicesTest, RemovingOneServiceLeavesTheOtherAndItsFlows) {
  const Packet flow = Packet::tcp(kClient, 41000, kVip, 8000);
  const std::string placed = send(flow);
  auto s = change([](BridgeState& s, EntryChanges& e) -> Status {
    for (uint32_t id : {2u, 3u}) e.remove.insert(id);
    std::erase_if(s.backends, [](const SavedBackend& b) { return b.service == "dns"; });
    std::erase_if(s.services, [](const ServiceConfig& c) { return c.name == "dns"; });
    return {};
  });
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, 5353)), "") << "dns is gone";
  Packet again = flow;
  again.tcp_flags = kTcpAck;
  EXPECT_EQ(send(again), placed) << "the web flow keeps its backend";
}

TEST_F(ServicesTest, PortRangeMapsEveryPortToTheBackendPort) {
  for (uint16_t port = 30000; port <= 30009; ++port)
    EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, port)), "10.1.0.31:7000") << port;
  EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, 30010)), "") << "past the range";
  EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, 29999)), "") << "before the range";
}

TEST_F(ServicesTest, PortRangeOntoARangeKeepsTheOffsetBothWays) {
  // ranged: TCP+UDP 31000-31009 -> 9000-9009 (b6, saved with port 9000: the entry's port wins).
  auto s = change([](BridgeState& s, EntryChanges& e) -> Status {
    ServiceConfig r = service("ranged", 3, 31000, 31009, ProtoSet::Both, 9000);
    r.backend_port_last = 9009;
    s.services.push_back(r);
    s.backends.push_back(backend(6, "ranged", "10.1.0.41", 9000));
    e.put[6] = BackendEntry{s.backends.back().addr, 9000, true};
    return {};
  });
  ASSERT_TRUE(s) << s.error();
  for (uint16_t port = 31000; port <= 31009; ++port)
    EXPECT_EQ(send(Packet::udp(kClient, 40000, kVip, port)), "10.1.0.41:" + std::to_string(9000 + port - 31000))
        << "port " << port << " goes to the same offset of the backend range";

  const Packet syn = Packet::tcp(kClient, 46000, kVip, 31003);
  EXPECT_EQ(send(syn), "10.1.0.41:9003");
  EXPECT_EQ(reverse_of(dp->skeleton()->maps.reverse_new, "10.1.0.41", 9003, 46000), std::string(kVip) + ":31003")
      << "the reply from :9003 is put back to the service port";
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  EXPECT_EQ(send(ack), "10.1.0.41:9003") << "a known flow keeps its port";
  EXPECT_EQ(reverse_of(dp->skeleton()->maps.reverse, "10.1.0.41", 9003, 46000), std::string(kVip) + ":31003")
      << "established: the reverse entry moved with the flow's port";
  EXPECT_EQ(reverse_of(dp->skeleton()->maps.reverse_new, "10.1.0.41", 9003, 46000), "");

  // Mismatched lengths are refused before anything changes.
  auto refused = change([](BridgeState& s, EntryChanges&) -> Status {
    find_service(s, "ranged")->backend_port_last = 9005;
    return {};
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(),
            "service 'ranged': ports 31000-31009 are 10 and backend ports 9000-9005 are 6: give a backend port "
            "range of the same length, or one port");
  EXPECT_EQ(send(Packet::udp(kClient, 40001, kVip, 31009)), "10.1.0.41:9009") << "unchanged";
}

TEST_F(ServicesTest, SourceAffinityPutsEveryConnectionOfAClientOnOneBackend) {
  auto s = change([](BridgeState& s, EntryChanges&) -> Status {
    find_service(s, "web")->affinity = Affinity::Source;
    return {};
  });
  ASSERT_TRUE(s) << s.error();
  std::set<std::string> one_client, many;
  for (uint16_t sport = 42000; sport < 42030; ++sport)
    one_client.insert(send(Packet::tcp(kClient, sport, kVip, 8000)));
  EXPECT_EQ(one_client.size(), 1u) << "30 connections of one client, one backend";
  for (int c = 1; c <= 30; ++c) many.insert(send(Packet::tcp("192.168.7." + std::to_string(c), 42000, kVip, 8000)));
  EXPECT_EQ(many, (std::set<std::string>{"10.1.0.11:80", "10.1.0.12:80"})) << "30 clients spread";
  auto refused = change([](BridgeState& s, EntryChanges&) -> Status {
    find_service(s, "web")->scheduler = Scheduler::RoundRobin;
    return {};
  });
  EXPECT_FALSE(refused) << "affinity needs the ring";
}

TEST_F(ServicesTest, BackupTakesOverWhenNoPrimaryCanAndHandsBack) {
  std::set<std::string> before;
  for (uint16_t sport = 43000; sport < 43040; ++sport) before.insert(send(Packet::tcp(kClient, sport, kVip, 8000)));
  EXPECT_EQ(before.count("10.1.0.19:80"), 0u) << "the backup waits while primaries serve";
  const Packet old_flow = Packet::tcp(kClient, 43000, kVip, 8000);

  // Both primaries fail their checks (what the daemon writes: health down, entries inactive).
  auto down = set_health({0, 1}, Health::Down);
  ASSERT_TRUE(down) << down.error();
  for (uint16_t sport = 44000; sport < 44020; ++sport)
    EXPECT_EQ(send(Packet::tcp(kClient, sport, kVip, 8000)), "10.1.0.19:80") << "new flows: the backup";
  Packet moved = old_flow;
  moved.tcp_flags = kTcpAck;
  EXPECT_EQ(send(moved), "10.1.0.19:80") << "a flow of a failed primary moves to the backup";

  // One primary is back: new flows leave the backup; the backup's flows stay with it.
  auto up = set_health({0}, Health::Up);
  ASSERT_TRUE(up) << up.error();
  for (uint16_t sport = 45000; sport < 45020; ++sport)
    EXPECT_EQ(send(Packet::tcp(kClient, sport, kVip, 8000)), "10.1.0.11:80") << "new flows: the primary";
  EXPECT_EQ(send(moved), "10.1.0.19:80") << "a flow on the backup keeps it";
}

// A pool's ring as the map holds it.
std::vector<uint32_t> map_ring(Datapath& dp, uint32_t pool) {
  std::vector<uint32_t> ring(XDPLB_MAGLEV_RING_SIZE, XDPLB_NO_BACKEND);
  for (uint32_t i = 0; i < ring.size(); ++i) {
    const uint32_t key = pool * XDPLB_MAGLEV_RING_SIZE + i;
    EXPECT_EQ(bpf_map__lookup_elem(dp.skeleton()->maps.ring, &key, sizeof key, &ring[i], sizeof ring[i], 0), 0);
  }
  return ring;
}

// The ring a pool's member list gives, built from scratch.
std::vector<uint32_t> ring_of_members(const BridgeState& s, const std::string& service) {
  std::vector<MaglevBackend> members;
  for (const auto& b : s.backends)
    if (b.service == service && !b.backup) members.push_back({b.id, maglev_key(b), b.weight});
  return *build_maglev_ring(members);
}

// A change writes only the ring slots that move (adding a third primary: about a third of
// them), and the ring is then exactly the one its members give. After a change that may have
// stopped halfway (its mark left behind, here with slots scribbled over as a crash between
// writes could leave them), the next change writes the whole ring and mends them.
TEST_F(ServicesTest, RingWritesOnlyTheSlotsThatMoveAndMendsAfterAnUnfinishedChange) {
  const uint32_t web_pool = pool_of_service(service("web", 0, 8000, 8000, ProtoSet::Tcp, 80), 4);
  const auto add = [&](uint32_t id, const char* a) {
    return change([&](BridgeState& s, EntryChanges& e) -> Status {
      s.backends.push_back(backend(id, "web", a, 80));
      e.new_ids.insert(id);
      e.put[id] = BackendEntry{addr(a), 80, true};
      return {};
    });
  };
  const auto before = map_ring(*dp, web_pool);
  const uint64_t written_before = writer->ring_slots_written();
  auto s = add(6, "10.1.0.13");
  ASSERT_TRUE(s) << s.error();
  const auto after = map_ring(*dp, web_pool);
  EXPECT_EQ(after, ring_of_members(*s, "web")) << "the ring is not the one its members give";
  uint64_t moved = 0;
  for (size_t i = 0; i < after.size(); ++i) moved += after[i] != before[i];
  EXPECT_GT(moved, XDPLB_MAGLEV_RING_SIZE / 4);
  EXPECT_LT(moved, XDPLB_MAGLEV_RING_SIZE / 2);
  EXPECT_EQ(writer->ring_slots_written() - written_before, moved) << "slots written that did not change";

  // A change stopped halfway: slots of the web ring point at dns's backend 2.
  for (uint32_t i = 0; i < 1000; ++i) {
    const uint32_t key = web_pool * XDPLB_MAGLEV_RING_SIZE + i * 7, id = 2;
    ASSERT_EQ(bpf_map__update_elem(dp->skeleton()->maps.ring, &key, sizeof key, &id, sizeof id, 0), 0);
  }
  ASSERT_TRUE(mark_rings_unsure(dir, "svbr0"));
  s = add(7, "10.1.0.14");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(map_ring(*dp, web_pool), ring_of_members(*s, "web")) << "scribbled slots left in the ring";
  EXPECT_FALSE(rings_unsure(dir, "svbr0"));
}

// The rings are written with plain stores through a mapping of the map (no syscall per slot):
// the map must be mmapable, and what a mapping shows is what the map holds, slot for slot, after
// a change (the datapath reads the same memory). Without BPF_F_MMAPABLE the mapping fails.
TEST_F(ServicesTest, RingIsMappedAndAChangeIsSeenThroughTheMap) {
  auto mapping = MapMapping::of(dp->skeleton()->maps.ring, "Maglev rings");
  ASSERT_TRUE(mapping) << mapping.error();
  const uint32_t web_pool = pool_of_service(service("web", 0, 8000, 8000, ProtoSet::Tcp, 80), 4);
  auto s = change([&](BridgeState& st, EntryChanges& e) -> Status {
    st.backends.push_back(backend(6, "web", "10.1.0.13", 80));
    e.new_ids.insert(6);
    e.put[6] = BackendEntry{addr("10.1.0.13"), 80, true};
    return {};
  });
  ASSERT_TRUE(s) << s.error();
  const auto want = ring_of_members(*s, "web");
  EXPECT_EQ(map_ring(*dp, web_pool), want) << "the map does not hold the ring its members give";
  std::vector<uint32_t> mapped(XDPLB_MAGLEV_RING_SIZE);
  for (uint32_t i = 0; i < XDPLB_MAGLEV_RING_SIZE; ++i)
    mapped[i] = *mapping->at<uint32_t>(size_t{web_pool} * XDPLB_MAGLEV_RING_SIZE + i);
  EXPECT_EQ(mapped, want) << "the mapping shows other slots than the map holds";
}

}  // namespace
}  // namespace xdplb::test
