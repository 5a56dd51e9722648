// The TC program's hairpin branch (lib/hairpin.h) through BPF_PROG_TEST_RUN: a container on
// the bridge calling a VIP is DNATed to the backend and SNATed to the bridge address with a
// port from the reserved range, and the backend's reply is put back to VIP -> container.
// The SNAT port is random, so rows check fields of the parsed output rather than whole bytes.
// Namespace of this test:
//   xdpbr0 (bridge, 10.1.0.1/24, MAC 02:00:00:00:00:01) with one veth port (carrier)
//     permanent neighbours: backends 10.1.0.11-13 (their MACs), container 10.1.0.50
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "xdplb_bpf.skel.h"

#include "frames.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"
#include "trace_reader.h"

namespace xdplb::test {
namespace {

const std::string kBridgeIp = "10.1.0.1";
const std::string kContainer = "10.1.0.50";
const Mac kContainerMac{0x02, 0, 0, 0, 0, 0x50};

class HairpinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = TestNetns::create("hp");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    for (const char* cmd : {
             "link add xdpbr0 address 02:00:00:00:00:01 type bridge",
             "addr add 10.1.0.1/24 dev xdpbr0",
             "link add xdpport0 type veth peer name xdpport1",
             "link set xdpport0 master xdpbr0 up",
             "link set xdpport1 up",
             "link set xdpbr0 up",
             "neigh add 10.1.0.11 lladdr 02:00:00:00:00:11 dev xdpbr0 nud permanent",
             "neigh add 10.1.0.12 lladdr 02:00:00:00:00:12 dev xdpbr0 nud permanent",
             "neigh add 10.1.0.13 lladdr 02:00:00:00:00:13 dev xdpbr0 nud permanent",
             "neigh add 10.1.0.50 lladdr 02:00:00:00:00:50 dev xdpbr0 nud permanent",
         }) {
      auto s = ns->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    // The FIB lookup for the SNAT source needs forwarding on (a new namespace starts with it off).
    auto s = ns->sh("nsenter --net=/run/netns/{ns} sysctl -qw net.ipv4.ip_forward=1");
    ASSERT_TRUE(s) << s.error();
    s = ns->run([&] { bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0")); });
    ASSERT_TRUE(s) << s.error();
    ASSERT_GT(bridge_ifindex, 0);
    reload({});
  }

  // A fresh datapath with these tunables (port range, linger), the scenario programmed.
  void reload(const Tunables& t) {
    auto d = load_scenario(t);
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
  }

  // Runs one frame through TC on the bridge; returns the verdict, the parsed output and the
  // reasons it counted (delta of the counters).
  struct Outcome {
    int verdict = -1;
    Parsed out;
    std::vector<uint64_t> reasons;
  };
  Outcome run(const Packet& p) {
    Outcome o;
    auto before = dp->reason_counters();
    EXPECT_TRUE(before) << before.error();
    Result<RunResult> r = make_error("not run");
    auto s = ns->run([&] { r = run_tc(dp->tc_prog_fd(), p.bytes(), bridge_ifindex); });
    EXPECT_TRUE(s) << s.error();
    EXPECT_TRUE(r) << r.error();
    if (!r || !before) return o;
    o.verdict = r->verdict;
    auto parsed = parse(r->out);
    EXPECT_TRUE(parsed.has_value()) << "output frame does not parse";
    if (parsed) o.out = *parsed;
    auto after = dp->reason_counters();
    EXPECT_TRUE(after) << after.error();
    if (after)
      for (size_t i = 0; i < after->size(); ++i) o.reasons.push_back((*after)[i] - (*before)[i]);
    return o;
  }

  static Packet from_container(Packet p) {
    p.eth_src = kContainerMac;
    p.eth_dst = kBridgeMac;
    return p;
  }

  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<Datapath> dp;
  int bridge_ifindex = 0;
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
};

// The backend's reply to a request that left as `req` (bridge:port -> backend:bport).
Packet reply_to(const Parsed& req, const TestBackend& b, uint8_t proto) {
  Packet r = proto == 6 ? Packet::tcp(b.addr, b.port, req.src, req.sport, kTcpSyn | kTcpAck)
                        : Packet::udp(b.addr, b.port, req.src, req.sport);
  r.eth_src = b.mac;
  r.eth_dst = kBridgeMac;
  r.payload = {'w', 'o', 'r', 'l', 'd'};
  return r;
}

void expect_request(const Parsed& got, const TestBackend& b, const Packet& sent) {
  EXPECT_EQ(got.src, kBridgeIp) << "source not SNATed to the bridge address";
  EXPECT_GE(got.sport, XDPLB_HAIRPIN_PORT_MIN) << "SNAT port below the reserved range";
  EXPECT_LE(got.sport, XDPLB_HAIRPIN_PORT_MAX) << "SNAT port above the reserved range";
  EXPECT_EQ(got.dst, b.addr) << "destination not DNATed to the backend";
  EXPECT_EQ(got.dport, b.port) << "destination port not the backend's";
  EXPECT_EQ(mac_text(got.eth_dst), mac_text(b.mac)) << "not addressed to the backend's MAC";
  EXPECT_EQ(mac_text(got.eth_src), mac_text(kBridgeMac)) << "not sent from the bridge MAC";
  EXPECT_TRUE(got.ip_csum_ok) << "IPv4 checksum wrong after the rewrite";
  EXPECT_TRUE(got.l4_csum_ok) << "L4 checksum wrong after the rewrite";
  EXPECT_EQ(got.payload, sent.payload) << "payload changed";
}

void expect_reply(const Parsed& got, const Packet& request) {
  EXPECT_EQ(got.src, kVip) << "reply source not put back to the VIP";
  EXPECT_EQ(got.sport, kPort) << "reply source port not put back to the service port";
  EXPECT_EQ(got.dst, request.src) << "reply not addressed to the container";
  EXPECT_EQ(got.dport, request.sport) << "reply not addressed to the container's port";
  EXPECT_EQ(mac_text(got.eth_dst), mac_text(kContainerMac)) << "not addressed to the container's MAC";
  EXPECT_TRUE(got.ip_csum_ok) << "IPv4 checksum wrong after the reverse rewrite";
  EXPECT_TRUE(got.l4_csum_ok) << "L4 checksum wrong after the reverse rewrite";
}

TEST_F(HairpinTest, TcpRequestAndReplyAreRewrittenBothWays) {
  const Packet syn = from_container(with_sport_for(ring, Packet::tcp(kContainer, 40000, kVip, kPort), kB1.id));
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  expect_request(req.out, kB1, syn);
  EXPECT_EQ(req.reasons[XDPLB_R_TC_HAIRPIN_NEW], 1u);
  EXPECT_EQ(req.reasons[XDPLB_R_TC_HAIRPIN_REQUEST], 1u);

  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  Outcome again = run(ack);
  ASSERT_EQ(again.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(again.out.sport, req.out.sport) << "a known flow must keep its SNAT port";
  EXPECT_EQ(again.reasons[XDPLB_R_TC_HAIRPIN_NEW], 0u) << "a known flow must not be placed again";

  Outcome rep = run(reply_to(req.out, kB1, 6));
  ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
  expect_reply(rep.out, syn);
  EXPECT_EQ(rep.reasons[XDPLB_R_TC_HAIRPIN_REPLY], 1u);
}

TEST_F(HairpinTest, PortRangeOntoARangeKeepsTheOffsetBothWays) {
  // As the controller writes port 30003 of a service 30000-30009 -> 8000-8009: the entry carries
  // backend port 8003, the backends' own port stays 80.
  ASSERT_TRUE(dp->put_service({*IpAddress::parse(kVip), 30003, IPPROTO_TCP},
                              ServiceValue{kPool, XDPLB_SCHED_MAGLEV, 0, 8003}));
  const Packet syn = from_container(with_sport_for(ring, Packet::tcp(kContainer, 40100, kVip, 30003), kB1.id));
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(req.out.dst, kB1.addr);
  EXPECT_EQ(req.out.dport, 8003) << "not DNATed to the entry's backend port";
  EXPECT_TRUE(req.out.ip_csum_ok && req.out.l4_csum_ok) << "checksums after the rewrite";

  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  Outcome again = run(ack);
  ASSERT_EQ(again.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(again.out.dport, 8003) << "a known flow keeps its port";
  EXPECT_EQ(again.out.sport, req.out.sport);

  TestBackend b = kB1;
  b.port = 8003;  // the backend answers from the port it was called on
  Outcome rep = run(reply_to(req.out, b, 6));
  ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(rep.reasons[XDPLB_R_TC_HAIRPIN_REPLY], 1u) << "the reply from :8003 matched no claim";
  EXPECT_EQ(rep.out.src, kVip);
  EXPECT_EQ(rep.out.sport, 30003) << "reply source port not put back to the service port";
  EXPECT_EQ(rep.out.dst, kContainer);
  EXPECT_EQ(rep.out.dport, syn.sport);
  EXPECT_TRUE(rep.out.ip_csum_ok && rep.out.l4_csum_ok);
}

TEST_F(HairpinTest, RequestTooBigForTheWayToTheBackendIsAnsweredWithFragNeeded) {
  auto s = ns->ip("link set xdpbr0 mtu 1400");
  ASSERT_TRUE(s) << s.error();
  Packet big = from_container(with_sport_for(ring, Packet::udp(kContainer, 40200, kVip, kPort), kB1.id));
  big.payload.assign(1500 - 20 - 8, 'x');  // 1500 IP bytes: fits the container's link, not the bridge's
  Outcome o = run(big);
  ASSERT_EQ(o.verdict, TC_ACT_REDIRECT) << "sent back to the container";
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_FRAG_NEEDED], 1u);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_REQUEST], 0u) << "the request itself must not go on";
  Icmp4Error want;
  want.eth_dst = kContainerMac;
  want.eth_src = kBridgeMac;
  want.src = kVip;
  want.dst = kContainer;
  want.rest = 1400;
  want.quote = quote_of(big.bytes());
  Result<RunResult> r = make_error("not run");
  s = ns->run([&] { r = run_tc(dp->tc_prog_fd(), big.bytes(), bridge_ifindex); });
  ASSERT_TRUE(s && r);
  Bytes w = want.bytes();
  w[18] = w[19] = 0;                      // IP id 0, as the program writes it
  w = with_ipv4_addrs(w, kVip, kContainer);  // (IP checksum recomputed)
  EXPECT_EQ(diff(r->out, w), "") << "fragmentation needed from the VIP, MTU 1400, quoting the request";
  auto got = parse(r->out);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->ip_csum_ok && got->l4_csum_ok) << "checksums of the error";

  Packet small = from_container(with_sport_for(ring, Packet::udp(kContainer, 40300, kVip, kPort), kB1.id));
  small.payload.assign(1400 - 20 - 8, 'x');  // exactly the MTU: goes on
  Outcome fits = run(small);
  ASSERT_EQ(fits.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(fits.reasons[XDPLB_R_TC_HAIRPIN_FRAG_NEEDED], 0u);
  expect_request(fits.out, kB1, small);
}

TEST_F(HairpinTest, UdpWithAndWithoutChecksum) {
  for (bool csum : {true, false}) {
    SCOPED_TRACE(csum ? "UDP with checksum" : "UDP without checksum");
    const Packet dg = from_container(
        with_sport_for(ring, Packet::udp(kContainer, csum ? 50000 : 51000, kVip, kPort, csum), kB2.id));
    Outcome req = run(dg);
    ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
    expect_request(req.out, kB2, dg);
    if (!csum) {
      EXPECT_EQ(req.out.l4_check, 0) << "an absent UDP checksum must stay absent";
    }
    Packet reply = reply_to(req.out, kB2, 17);
    reply.udp_checksum = csum;
    Outcome rep = run(reply);
    ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
    expect_reply(rep.out, dg);
  }
}

TEST_F(HairpinTest, BackendCallingTheVipIsServedByItself) {
  // The caller is backend 1 and the ring places its flow on backend 1.
  Packet syn = with_sport_for(ring, Packet::tcp(kB1.addr, 40000, kVip, kPort), kB1.id);
  syn.eth_src = kB1.mac;
  syn.eth_dst = kBridgeMac;
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  expect_request(req.out, kB1, syn);  // from the bridge address, so b1 answers the host
  Outcome rep = run(reply_to(req.out, kB1, 6));
  ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(rep.out.src, kVip);
  EXPECT_EQ(rep.out.dst, kB1.addr);
  EXPECT_EQ(rep.out.dport, syn.sport);
  EXPECT_EQ(mac_text(rep.out.eth_dst), mac_text(kB1.mac));
  EXPECT_TRUE(rep.out.l4_csum_ok);
}

TEST_F(HairpinTest, ConcurrentFlowsToOneBackendGetDistinctPorts) {
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB0.id})));
  std::set<uint16_t> ports;
  constexpr int kFlows = 500;
  for (int i = 0; i < kFlows; ++i) {
    Outcome o = run(from_container(Packet::tcp(kContainer, static_cast<uint16_t>(20000 + i), kVip, kPort)));
    ASSERT_EQ(o.verdict, TC_ACT_REDIRECT) << "flow " << i;
    ASSERT_EQ(o.out.dst, kB0.addr);
    ASSERT_GE(o.out.sport, XDPLB_HAIRPIN_PORT_MIN);
    ASSERT_LE(o.out.sport, XDPLB_HAIRPIN_PORT_MAX);
    ports.insert(o.out.sport);
  }
  EXPECT_EQ(ports.size(), static_cast<size_t>(kFlows)) << "two open flows to one backend share a SNAT port";
}

// Passive health on the hairpin path: a backend's RST answering a container's SYN counts as a
// refused connection of that backend (as on the external reply path); an RST after its SYN-ACK
// (an established connection ending) does not, nor does the container's own RST.
TEST_F(HairpinTest, BackendResetOfANewHairpinConnectionCountsAsRefused) {
  auto refused = [&](const TestBackend& b) {
    auto c = dp->backend_counters(b.id);
    EXPECT_TRUE(c) << c.error();
    return c ? c->refused : ~0ull;
  };
  auto reply = [](const Parsed& req, const TestBackend& b, uint8_t flags) {
    Packet r = reply_to(req, b, 6);
    r.tcp_flags = flags;
    r.payload.clear();
    return r;
  };
  const Packet syn = from_container(with_sport_for(ring, Packet::tcp(kContainer, 40000, kVip, kPort), kB1.id));
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(req.out.dst, kB1.addr);
  ASSERT_EQ(refused(kB1), 0u);
  Outcome rst = run(reply(req.out, kB1, kTcpRst | kTcpAck));
  ASSERT_EQ(rst.verdict, TC_ACT_REDIRECT) << "the RST still goes back to the container";
  expect_reply(rst.out, syn);
  EXPECT_EQ(rst.reasons[XDPLB_R_TC_HAIRPIN_REPLY], 1u);
  EXPECT_EQ(refused(kB1), 1u) << "the backend refused a container's new connection";

  const Packet syn2 = from_container(with_sport_for(ring, Packet::tcp(kContainer, 41000, kVip, kPort), kB1.id));
  Outcome req2 = run(syn2);
  ASSERT_EQ(req2.verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(run(reply(req2.out, kB1, kTcpSyn | kTcpAck)).verdict, TC_ACT_REDIRECT);
  Packet ack = syn2;
  ack.tcp_flags = kTcpAck;
  ASSERT_EQ(run(ack).verdict, TC_ACT_REDIRECT);
  Outcome rst2 = run(reply(req2.out, kB1, kTcpRst | kTcpAck));
  ASSERT_EQ(rst2.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(refused(kB1), 1u) << "an established hairpin connection's RST is no refusal";

  const Packet syn3 = from_container(with_sport_for(ring, Packet::tcp(kContainer, 42000, kVip, kPort), kB2.id));
  ASSERT_EQ(run(syn3).verdict, TC_ACT_REDIRECT);
  Packet crst = syn3;
  crst.tcp_flags = kTcpRst | kTcpAck;
  run(crst);
  EXPECT_EQ(refused(kB2), 0u) << "the container's own RST is no refusal";
  EXPECT_EQ(refused(kB0), 0u);
}

// The trace on the hairpin programs: each request says its service, scheduler, backend and
// reasons; the reply comes from the reply path; a refused request (too big, no backend) too.
TEST_F(HairpinTest, TraceReportsHairpinRequestsAndTheirReplies) {
  TraceReader trace(*dp);
  ASSERT_TRUE(trace.ok());
  ASSERT_TRUE(dp->start_trace({}));
  const Packet syn = from_container(with_sport_for(ring, Packet::tcp(kContainer, 40500, kVip, kPort), kB1.id));
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  ASSERT_EQ(run(ack).verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(run(reply_to(req.out, kB1, 6)).verdict, TC_ACT_REDIRECT);
  auto ev = trace.drain();
  ASSERT_EQ(ev.size(), 3u) << "SYN, ACK and the reply to the container";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_TC_HAIRPIN);
  EXPECT_EQ(ev[0].pool, kPool);
  EXPECT_EQ(ev[0].scheduler, static_cast<uint32_t>(XDPLB_SCHED_MAGLEV));
  EXPECT_EQ(ev[0].backend, kB1.id) << "the backend the request was sent to";
  EXPECT_EQ(ev[0].verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(ev[0].reasons, (1ull << XDPLB_R_TC_HAIRPIN_NEW) | (1ull << XDPLB_R_TC_HAIRPIN_REQUEST))
      << "exactly the reasons counted for the SYN";
  EXPECT_EQ(ev[0].key.src.v4, IpAddress::parse(kContainer)->to_abi().v4) << "the request as it came";
  EXPECT_EQ(ev[0].key.dport, htons(kPort));
  EXPECT_EQ(ev[1].hook, XDPLB_TRACE_TC_HAIRPIN);
  EXPECT_EQ(ev[1].backend, kB1.id);
  EXPECT_EQ(ev[1].reasons, 1ull << XDPLB_R_TC_HAIRPIN_REQUEST) << "a known flow: no new one";
  EXPECT_EQ(ev[2].hook, XDPLB_TRACE_TC_REPLY);
  EXPECT_EQ(ev[2].backend, kB1.id) << "the backend replying";
  EXPECT_EQ(ev[2].reasons, 1ull << XDPLB_R_TC_HAIRPIN_REPLY);

  EXPECT_EQ(run(from_container(Packet::tcp(kContainer, 40501, kVipNoBackend, kPort))).verdict, TC_ACT_SHOT);
  auto s = ns->ip("link set xdpbr0 mtu 1400");
  ASSERT_TRUE(s) << s.error();
  Packet big = from_container(with_sport_for(ring, Packet::udp(kContainer, 40502, kVip, kPort), kB1.id));
  big.payload.assign(1500 - 20 - 8, 'x');
  EXPECT_EQ(run(big).verdict, TC_ACT_REDIRECT);
  ev = trace.drain();
  ASSERT_EQ(ev.size(), 2u) << "the refused request and the one answered with frag-needed";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_TC_HAIRPIN);
  EXPECT_EQ(ev[0].pool, kEmptyPool);
  EXPECT_EQ(ev[0].backend, XDPLB_NO_BACKEND);
  EXPECT_EQ(ev[0].verdict, TC_ACT_SHOT);
  EXPECT_EQ(ev[0].reasons, 1ull << XDPLB_R_TC_HAIRPIN_NO_BACKEND);
  EXPECT_EQ(ev[1].hook, XDPLB_TRACE_TC_HAIRPIN);
  EXPECT_EQ(ev[1].key.sport, htons(big.sport));
  EXPECT_TRUE(ev[1].reasons & (1ull << XDPLB_R_TC_HAIRPIN_FRAG_NEEDED)) << ev[1].reasons;
  ASSERT_TRUE(dp->stop_trace());
}

TEST_F(HairpinTest, NoBackendIsDroppedAndOtherTrafficUntouched) {
  Outcome none = run(from_container(Packet::tcp(kContainer, 40000, kVipNoBackend, kPort)));
  EXPECT_EQ(none.verdict, TC_ACT_SHOT);
  EXPECT_EQ(none.reasons[XDPLB_R_TC_HAIRPIN_NO_BACKEND], 1u);
  // Not a service port: the host's own traffic from containers (DNS, ...) goes on untouched.
  Outcome other = run(from_container(Packet::tcp(kContainer, 40000, kVip, 8001)));
  EXPECT_EQ(other.verdict, TC_ACT_OK);
  EXPECT_EQ(other.reasons[XDPLB_R_TC_NOT_REVERSE], 1u);
  EXPECT_EQ(other.out.src, kContainer);
  EXPECT_EQ(other.out.dport, 8001);
}

// Hairpin flows count in their backend's active connections like external ones, and take
// the service's scheduler.
TEST_F(HairpinTest, HairpinFlowsAreCountedAndScheduled) {
  auto conns = [&](const TestBackend& b) {
    auto c = dp->active_connections(b.id);
    EXPECT_TRUE(c) << c.error();
    return c ? *c : -999;
  };
  const Packet syn = from_container(with_sport_for(ring, Packet::tcp(kContainer, 40000, kVip, kPort), kB1.id));
  Outcome req = run(syn);
  ASSERT_EQ(req.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(conns(kB1), 1) << "new hairpin flow counted";
  Packet fin = syn;
  fin.tcp_flags = kTcpFin | kTcpAck;
  run(fin);
  run(fin);
  EXPECT_EQ(conns(kB1), 0) << "the container's FIN uncounts it, once";

  const Packet syn2 = from_container(with_sport_for(ring, Packet::tcp(kContainer, 41000, kVip, kPort), kB2.id));
  Outcome req2 = run(syn2);
  ASSERT_EQ(req2.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(conns(kB2), 1);
  Packet rst = reply_to(req2.out, kB2, 6);
  rst.tcp_flags = kTcpRst | kTcpAck;
  rst.payload.clear();
  Outcome rep = run(rst);
  ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT) << "the RST still goes back to the container";
  expect_reply(rep.out, syn2);
  EXPECT_EQ(conns(kB2), 0) << "the backend's RST uncounts the flow";

  ASSERT_TRUE(dp->set_scheduler(kPool, XDPLB_SCHED_ROUND_ROBIN));
  std::vector<std::string> got;
  for (uint16_t i = 0; i < 3; ++i)
    got.push_back(run(from_container(Packet::tcp(kContainer, static_cast<uint16_t>(42000 + i), kVip, kPort))).out.dst);
  EXPECT_EQ(got, (std::vector<std::string>{kB0.addr, kB1.addr, kB2.addr})) << "round-robin turns";
}

// 127.0.0.1 is a service address for host-local clients (the cgroup hooks) only: XDP on an
// uplink must never serve a loopback destination, even with a service entry for it.
TEST_F(HairpinTest, XdpNeverServesLoopbackDestinations) {
  ASSERT_TRUE(dp->put_service({*IpAddress::parse("127.0.0.1"), kPort, IPPROTO_TCP}, kPool));
  auto before = dp->reason_counters();
  ASSERT_TRUE(before) << before.error();
  const Packet p = Packet::tcp("192.168.1.2", 40000, "127.0.0.1", kPort);
  auto r = run_xdp(dp->xdp_prog_fd(), p.bytes());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->verdict, XDP_PASS);
  EXPECT_EQ(r->out, p.bytes()) << "a loopback destination was rewritten";
  auto after = dp->reason_counters();
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ((*after)[XDPLB_R_PASS_NOT_SERVICE] - (*before)[XDPLB_R_PASS_NOT_SERVICE], 1u);
}

Packet with_flags(Packet p, uint8_t flags) {
  p.tcp_flags = flags;
  p.payload.clear();
  return p;
}

// A port comes back soon after its flow ends (FIN both ways, or an RST), not 120 s after its
// last reply: with two ports, two live flows hold them, a third waits; when one ends, the
// third gets its port a linger later, and the ended flow's entries are gone.
TEST_F(HairpinTest, PortsComeBackSoonAfterTheirFlowEnds) {
  Tunables t;
  t.hairpin_port_min = 61000;
  t.hairpin_port_max = 61001;
  t.flow_linger_ns = 200'000'000;
  reload(t);
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB0.id})));
  const Packet a = from_container(Packet::tcp(kContainer, 40000, kVip, kPort));
  const Packet b = from_container(Packet::tcp(kContainer, 40001, kVip, kPort));
  const Packet c = from_container(Packet::tcp(kContainer, 40002, kVip, kPort));
  const Packet d = from_container(Packet::tcp(kContainer, 40003, kVip, kPort));
  Outcome ra = run(a), rb = run(b);
  ASSERT_EQ(ra.verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(rb.verdict, TC_ACT_REDIRECT);
  ASSERT_NE(ra.out.sport, rb.out.sport);
  Outcome rc = run(c);
  EXPECT_EQ(rc.verdict, TC_ACT_SHOT) << "both ports are held by live flows";
  EXPECT_EQ(rc.reasons[XDPLB_R_TC_HAIRPIN_NO_PORT], 1u);

  // a ends: the container's FIN, the backend's FIN, the container's last ACK.
  EXPECT_EQ(run(with_flags(a, kTcpFin | kTcpAck)).verdict, TC_ACT_REDIRECT);
  Outcome bfin = run(with_flags(reply_to(ra.out, kB0, 6), kTcpFin | kTcpAck));
  EXPECT_EQ(bfin.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(bfin.reasons[XDPLB_R_FLOW_CLOSED], 1u) << "FIN both ways closes the flow";
  expect_reply(bfin.out, a);
  EXPECT_EQ(run(with_flags(a, kTcpAck)).verdict, TC_ACT_REDIRECT) << "the last ACK still goes through";
  EXPECT_EQ(run(c).verdict, TC_ACT_SHOT) << "the port lingers a while";

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  rc = run(c);
  ASSERT_EQ(rc.verdict, TC_ACT_REDIRECT) << "the ended flow's port must come back";
  EXPECT_EQ(rc.out.sport, ra.out.sport);
  const int fd = bpf_map__fd(dp->skeleton()->maps.hairpin_flows);
  struct xdplb_flow_key ka;
  std::memset(&ka, 0, sizeof ka);
  ka.src.v4 = ipv4(kContainer), ka.dst.v4 = ipv4(kVip);
  ka.sport = htons(a.sport), ka.dport = htons(kPort);
  ka.proto = IPPROTO_TCP, ka.family = XDPLB_AF_INET;
  struct xdplb_hairpin_flow hf;
  EXPECT_NE(bpf_map_lookup_elem(fd, &ka, &hf), 0) << "the ended flow's forward entry must go with its port";
  Outcome late = run(with_flags(reply_to(ra.out, kB0, 6), kTcpAck));
  EXPECT_EQ(late.reasons[XDPLB_R_TC_HAIRPIN_REPLY], 1u) << "the port's reply key now belongs to c";
  expect_reply(late.out, c);

  // b ends by the backend's RST: its port is free a linger later.
  Outcome rst = run(with_flags(reply_to(rb.out, kB0, 6), kTcpRst | kTcpAck));
  EXPECT_EQ(rst.reasons[XDPLB_R_FLOW_CLOSED], 1u);
  EXPECT_EQ(run(d).verdict, TC_ACT_SHOT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Outcome rd = run(d);
  ASSERT_EQ(rd.verdict, TC_ACT_REDIRECT) << "the reset flow's port must come back";
  EXPECT_EQ(rd.out.sport, rb.out.sport);
  auto conns = dp->active_connections(kB0.id);
  ASSERT_TRUE(conns) << conns.error();
  EXPECT_EQ(*conns, 2) << "c and d are counted, a and b no longer";
}

// Two CPUs taking over ended flows' ports at once never hand one port to two flows: 64 ports,
// all of them ended, and two threads on two CPUs each opening 64 new flows.
TEST_F(HairpinTest, ConcurrentTakeoversNeverShareAPort) {
  constexpr int kPorts = 64;
  Tunables t;
  t.hairpin_port_min = 61000;
  t.hairpin_port_max = 61000 + kPorts - 1;
  t.flow_linger_ns = 1'000'000;
  reload(t);
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB0.id})));
  for (int i = 0; i < kPorts * 4 && i < 4000; ++i) {  // until every port is held (random picks)
    Outcome o = run(from_container(Packet::tcp(kContainer, static_cast<uint16_t>(20000 + i), kVip, kPort)));
    if (o.verdict != TC_ACT_REDIRECT) continue;
    run(with_flags(reply_to(o.out, kB0, 6), kTcpRst | kTcpAck));  // and ended at once
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::vector<uint16_t> got[2];
  auto open_flows = [&](int cpu, int worker) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);
    for (int i = 0; i < kPorts; ++i) {
      Packet p = from_container(Packet::tcp(kContainer, static_cast<uint16_t>(30000 + worker * 1000 + i), kVip, kPort));
      auto r = run_tc(dp->tc_prog_fd(), p.bytes(), bridge_ifindex);
      if (r && r->verdict == TC_ACT_REDIRECT)
        if (auto o = parse(r->out)) got[worker].push_back(o->sport);
    }
  };
  auto s = ns->run([&] {
    std::thread w0(open_flows, 0, 0), w1(open_flows, 1 % std::max(1u, std::thread::hardware_concurrency()), 1);
    w0.join();
    w1.join();
  });
  ASSERT_TRUE(s) << s.error();
  std::set<uint16_t> all;
  for (const auto& g : got)
    for (uint16_t port : g) EXPECT_TRUE(all.insert(port).second) << "port " << port << " handed out twice";
  EXPECT_GT(all.size(), static_cast<size_t>(kPorts / 2)) << "ended flows' ports must be taken over";
}

// Source affinity on the hairpin path: every connection of one container goes to one
// backend (the slot of its address alone); without affinity the same connections spread.
TEST_F(HairpinTest, SourceAffinityKeepsAContainerOnOneBackend) {
  auto backends_of_20 = [&](uint16_t first) {
    std::set<std::string> seen;
    for (uint16_t sport = first; sport < first + 20; ++sport) {
      Outcome o = run(from_container(Packet::tcp(kContainer, sport, kVip, kPort)));
      EXPECT_EQ(o.verdict, TC_ACT_REDIRECT);
      seen.insert(o.out.dst);
    }
    return seen;
  };
  EXPECT_GT(backends_of_20(41000).size(), 1u) << "without affinity connections spread";
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
    ASSERT_TRUE(dp->put_service({*IpAddress::parse(kVip), kPort, proto},
                                ServiceValue{kPool, XDPLB_SCHED_MAGLEV, XDPLB_SERVICE_AFFINITY_SOURCE}));
  EXPECT_EQ(backends_of_20(42000).size(), 1u) << "with affinity: one backend for the container";
}

}  // namespace
}  // namespace xdplb::test
