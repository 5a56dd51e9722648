// IPv6 through the TC program on the bridge (lib/hairpin.h) by BPF_PROG_TEST_RUN: a container
// calling an IPv6 VIP (an uplink's or the bridge's own address) is DNATed to an IPv6 backend
// and SNATed to the bridge's IPv6 address with a port from the reserved range; the reply is
// put back to VIP -> container. IPv6 has no header checksum: every rewrite must keep the L4
// checksum right over the pseudo-header, which read6() recomputes from scratch. Also: ICMPv6
// (neighbour discovery, echo) leaves both programs unchanged.
// Namespace of this test:
//   xdpbr0 (bridge, fd00:2::1/64 nodad, MAC 02:00:00:00:00:01) with one veth port (carrier),
//     IPv6 forwarding on (the FIB helper refuses to route otherwise)
//     permanent neighbours: backends fd00:2::11/12, container fd00:2::50
//   no route to fd00:99::/64 (the backend there has no source address)
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>

#include <cstring>
#include <ctime>
#include <set>

#include "frames.h"
#include "packet6.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"
#include "trace_reader.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::test {
namespace {

constexpr uint32_t kPool6 = 2, kPoolUnroutable = 3;
const std::string kUplinkVip6 = "fd00::10";  // an uplink's address
const std::string kBridgeIp6 = "fd00:2::1";  // the bridge's address, also a VIP
const std::string kVip6NoBackend = "fd00::20";
const std::string kVip6NoSource = "fd00::30";
const std::string kContainer6 = "fd00:2::50";
const Mac kContainerMac{0x02, 0, 0, 0, 0, 0x50};
const TestBackend kD0{20, "fd00:2::11", 80, false, {0x02, 0, 0, 0, 0, 0x21}};
const TestBackend kD1{21, "fd00:2::12", 80, false, {0x02, 0, 0, 0, 0, 0x22}};
const TestBackend kUnroutable{22, "fd00:99::11", 80, false, {0x02, 0, 0, 0, 0, 0x23}};

class Hairpin6Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = TestNetns::create("v6dhp");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    auto s = ns->ip_all({
        "link add xdpbr0 address 02:00:00:00:00:01 type bridge",
        "addr add fd00:2::1/64 dev xdpbr0 nodad",
        "link add xdpport0 type veth peer name xdpport1",
        "link set xdpport0 master xdpbr0 up",
        "link set xdpport1 up",
        "link set xdpbr0 up",
        "neigh add fd00:2::11 lladdr 02:00:00:00:00:21 dev xdpbr0 nud permanent",
        "neigh add fd00:2::12 lladdr 02:00:00:00:00:22 dev xdpbr0 nud permanent",
        "neigh add fd00:2::50 lladdr 02:00:00:00:00:50 dev xdpbr0 nud permanent",
    });
    ASSERT_TRUE(s) << s.error();
    s = ns->sh("nsenter --net=/run/netns/{ns} sysctl -qw net.ipv6.conf.all.forwarding=1");
    ASSERT_TRUE(s) << s.error();
    auto index = ns->ifindex("xdpbr0");
    ASSERT_TRUE(index) << index.error();
    bridge_ifindex = *index;

    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    ASSERT_TRUE(program_scenario(*dp));  // the IPv4 side stays in place next to ours
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      for (const auto& [vip, pool] : {std::pair{kUplinkVip6, kPool6}, std::pair{kBridgeIp6, kPool6},
                                      std::pair{kVip6NoBackend, kEmptyPool},
                                      std::pair{kVip6NoSource, kPoolUnroutable}}) {
        s = dp->put_service({*IpAddress::parse(vip), kPort, proto}, pool);
        ASSERT_TRUE(s) << s.error();
      }
    }
    for (const auto& b : {kD0, kD1, kUnroutable}) {
      s = put_backend(*dp, b);
      ASSERT_TRUE(s) << s.error();
    }
    ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kD0.id, kD1.id})));
    ASSERT_TRUE(dp->write_ring(kPoolUnroutable, ring_of({kUnroutable.id})));
  }

  struct Outcome {
    int verdict = -1;
    Bytes out;
    Read6 got;
    std::vector<uint64_t> reasons;  // what this run counted
  };
  Outcome run(const Bytes& in) {
    Outcome o;
    Result<RunResult> r = make_error("not run");
    auto reasons = reasons_during(*dp, [&] {
      auto s = ns->run([&] { r = run_tc(dp->tc_prog_fd(), in, bridge_ifindex); });
      EXPECT_TRUE(s) << s.error();
    });
    EXPECT_TRUE(reasons) << reasons.error();
    EXPECT_TRUE(r) << r.error();
    if (!r || !reasons) return o;
    o.verdict = r->verdict;
    o.out = r->out;
    o.got = read6(r->out);
    o.reasons = *reasons;
    return o;
  }

  static Frame6 request(uint8_t proto, uint16_t sport, const std::string& vip = kUplinkVip6) {
    Frame6 f;
    f.next = proto;
    f.src = kContainer6, f.sport = sport;
    f.dst = vip, f.dport = kPort;
    f.eth_src = kContainerMac, f.eth_dst = kBridgeMac;
    return f;
  }

  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<Datapath> dp;
  int bridge_ifindex = 0;
};

const TestBackend& backend_at(const std::string& addr) { return addr == kD1.addr ? kD1 : kD0; }

void expect_request(const Read6& got) {
  EXPECT_EQ(got.src, kBridgeIp6) << "source not SNATed to the bridge's IPv6 address";
  EXPECT_GE(got.sport, XDPLB_HAIRPIN_PORT_MIN) << "SNAT port below the reserved range";
  EXPECT_LE(got.sport, XDPLB_HAIRPIN_PORT_MAX) << "SNAT port above the reserved range";
  EXPECT_TRUE(got.dst == kD0.addr || got.dst == kD1.addr) << "destination not DNATed: " << got.dst;
  EXPECT_EQ(got.dport, 80) << "destination port not the backend's";
  EXPECT_EQ(mac_text(got.eth_dst), mac_text(backend_at(got.dst).mac)) << "not addressed to the backend's MAC";
  EXPECT_EQ(mac_text(got.eth_src), mac_text(kBridgeMac)) << "not sent from the bridge MAC";
  EXPECT_TRUE(got.csum_ok) << "L4 checksum wrong after the IPv6 DNAT + SNAT";
  EXPECT_NE(got.check, 0) << "IPv6 L4 checksum must never be 0";
}

// The backend's reply to a request that left as req.
Frame6 reply_to(const Read6& req, uint8_t proto) {
  Frame6 r;
  r.next = proto;
  r.src = req.dst, r.sport = req.dport;
  r.dst = req.src, r.dport = req.sport;
  r.eth_src = backend_at(req.dst).mac, r.eth_dst = kBridgeMac;
  r.payload = {'w', 'o', 'r', 'l', 'd'};
  return r;
}

void expect_reply(const Read6& got, const Frame6& request) {
  EXPECT_EQ(got.src, request.dst) << "reply source not put back to the VIP";
  EXPECT_EQ(got.sport, kPort) << "reply source port not put back to the service port";
  EXPECT_EQ(got.dst, kContainer6) << "reply not addressed to the container";
  EXPECT_EQ(got.dport, request.sport) << "reply not addressed to the container's port";
  EXPECT_EQ(mac_text(got.eth_dst), mac_text(kContainerMac)) << "not addressed to the container's MAC";
  EXPECT_EQ(mac_text(got.eth_src), mac_text(kBridgeMac));
  EXPECT_TRUE(got.csum_ok) << "L4 checksum wrong after the IPv6 reverse rewrite";
  EXPECT_NE(got.check, 0) << "IPv6 L4 checksum must never be 0";
}

TEST_F(Hairpin6Test, RequestAndReplyAreRewrittenBothWaysForTcpAndUdp) {
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
    for (const std::string& vip : {kUplinkVip6, kBridgeIp6}) {
      SCOPED_TRACE(std::string(proto == IPPROTO_TCP ? "TCP" : "UDP") + " to " + vip);
      const Frame6 req = request(proto, proto == IPPROTO_TCP ? 40000 : 50000, vip);
      Outcome o = run(req.bytes());
      ASSERT_EQ(o.verdict, TC_ACT_REDIRECT);
      expect_request(o.got);
      EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NEW], 1u);
      EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_REQUEST], 1u);

      Outcome again = run(req.bytes());
      ASSERT_EQ(again.verdict, TC_ACT_REDIRECT);
      EXPECT_EQ(again.got.sport, o.got.sport) << "a known flow must keep its SNAT port";
      EXPECT_EQ(again.got.dst, o.got.dst) << "a known flow must keep its backend";
      EXPECT_EQ(again.reasons[XDPLB_R_TC_HAIRPIN_NEW], 0u) << "a known flow must not be placed again";

      Outcome rep = run(reply_to(o.got, proto).bytes());
      ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
      expect_reply(rep.got, req);
      EXPECT_EQ(rep.reasons[XDPLB_R_TC_HAIRPIN_REPLY], 1u);
    }
  }
}

TEST_F(Hairpin6Test, RequestTooBigForTheWayToTheBackendIsAnsweredWithPacketTooBig) {
  auto s = ns->ip("link set xdpbr0 mtu 1400");
  ASSERT_TRUE(s) << s.error();
  Frame6 big = request(IPPROTO_UDP, 52000);
  big.payload.assign(1500 - 40 - 8, 'x');  // 1500 IP bytes: too big for the bridge's 1400
  Outcome o = run(big.bytes());
  ASSERT_EQ(o.verdict, TC_ACT_REDIRECT) << "sent back to the container";
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_FRAG_NEEDED], 1u);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_REQUEST], 0u) << "the request itself must not go on";
  Icmp6Error want;
  want.eth_dst = kContainerMac;
  want.eth_src = kBridgeMac;
  want.src = kUplinkVip6;
  want.dst = kContainer6;
  want.rest = 1400;
  want.quote = quote_of(big.bytes());
  EXPECT_EQ(o.out, want.bytes()) << "packet too big from the VIP, MTU 1400, quoting the request";

  // The first fragment of a bigger datagram (found by the fuzzer: it was dropped uncounted).
  Frame6 whole = request(IPPROTO_UDP, 52100);
  whole.payload.assign(3000, 'y');
  const Bytes first = ipv6_fragment(whole.bytes(), 0, 1448, true, 77);  // 40 + 8 + 1448 IP bytes
  Outcome f = run(first);
  ASSERT_EQ(f.verdict, TC_ACT_REDIRECT) << "the first fragment is answered too";
  EXPECT_EQ(f.reasons[XDPLB_R_TC_HAIRPIN_FRAG_NEEDED], 1u);
  want.quote = quote_of(first);  // the IPv6 header and the fragment header
  EXPECT_EQ(f.out, want.bytes());
}

// A UDP datagram without a checksum is invalid over IPv6: the rewrite must not invent a 0 nor
// a checksum it did not check; the field stays 0 and the backend drops it as it would anyway.
TEST_F(Hairpin6Test, UdpWithoutChecksumStaysWithout) {
  Frame6 req = request(IPPROTO_UDP, 51000);
  req.udp_checksum = false;
  Outcome o = run(req.bytes());
  ASSERT_EQ(o.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(o.got.src, kBridgeIp6);
  EXPECT_EQ(o.got.check, 0) << "an absent UDP checksum was turned into a wrong one";
}

TEST_F(Hairpin6Test, ConcurrentFlowsToOneBackendGetDistinctPorts) {
  ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kD0.id})));
  std::set<uint16_t> ports;
  constexpr int kFlows = 300;
  for (int i = 0; i < kFlows; ++i) {
    Outcome o = run(request(IPPROTO_TCP, static_cast<uint16_t>(20000 + i)).bytes());
    ASSERT_EQ(o.verdict, TC_ACT_REDIRECT) << "flow " << i;
    ASSERT_EQ(o.got.dst, kD0.addr);
    ports.insert(o.got.sport);
  }
  EXPECT_EQ(ports.size(), static_cast<size_t>(kFlows)) << "two open flows to one backend share a SNAT port";
}

TEST_F(Hairpin6Test, NoBackendIsDropped) {
  Outcome o = run(request(IPPROTO_TCP, 40000, kVip6NoBackend).bytes());
  EXPECT_EQ(o.verdict, TC_ACT_SHOT);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NO_BACKEND], 1u);
  // Only IPv4 backends in a pool: an IPv6 request must never be sent to one of them.
  ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kB0.id, kB1.id})));
  o = run(request(IPPROTO_TCP, 40001).bytes());
  EXPECT_EQ(o.verdict, TC_ACT_SHOT);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NO_BACKEND], 1u) << "an IPv4 backend was used for IPv6";
}

TEST_F(Hairpin6Test, NoSourceAddressTowardsTheBackendIsDropped) {
  Outcome o = run(request(IPPROTO_TCP, 40000, kVip6NoSource).bytes());
  EXPECT_EQ(o.verdict, TC_ACT_SHOT);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NO_SOURCE], 1u);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NEW], 0u);
}

// Every port of the range towards the backend is claimed by a live flow: a new flow gets none
// (and no port is taken over from a flow that is still active).
TEST_F(Hairpin6Test, NoFreePortIsDropped) {
  ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kD0.id})));
  struct timespec ts;
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &ts), 0);  // bpf_ktime_get_ns()'s clock
  const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
  const int fd = bpf_map__fd(dp->skeleton()->maps.hairpin_reverse);
  struct xdplb_flow_key rk;
  std::memset(&rk, 0, sizeof rk);
  ASSERT_EQ(inet_pton(AF_INET6, kD0.addr.c_str(), rk.src.v6), 1);
  ASSERT_EQ(inet_pton(AF_INET6, kBridgeIp6.c_str(), rk.dst.v6), 1);
  rk.sport = htons(kD0.port);
  rk.proto = IPPROTO_TCP;
  rk.family = XDPLB_AF_INET6;
  struct xdplb_hairpin_reverse busy;
  std::memset(&busy, 0, sizeof busy);
  busy.backend = kD0.id;
  busy.last_seen_ns = now;  // active: far from XDPLB_HAIRPIN_IDLE_NS for this test's run
  for (uint32_t port = XDPLB_HAIRPIN_PORT_MIN; port <= XDPLB_HAIRPIN_PORT_MAX; ++port) {
    rk.dport = htons(static_cast<uint16_t>(port));
    ASSERT_EQ(bpf_map_update_elem(fd, &rk, &busy, BPF_ANY), 0) << "port " << port;
  }
  Outcome o = run(request(IPPROTO_TCP, 40000).bytes());
  EXPECT_EQ(o.verdict, TC_ACT_SHOT);
  EXPECT_EQ(o.reasons[XDPLB_R_TC_HAIRPIN_NO_PORT], 1u);
  // UDP claims ports apart from TCP (the protocol is part of the claim): it still gets one.
  Outcome udp = run(request(IPPROTO_UDP, 40000).bytes());
  EXPECT_EQ(udp.verdict, TC_ACT_REDIRECT);
}

// Neighbour discovery and echo, to and from the service addresses: never rewritten, never
// redirected, on the XDP program (uplinks) and the TC program (bridge).
TEST_F(Hairpin6Test, Icmpv6AndNeighbourDiscoveryAreUntouched) {
  auto addr = [](const std::string& a) {
    Bytes b(16);
    inet_pton(AF_INET6, a.c_str(), b.data());
    return b;
  };
  auto cat = [](Bytes a, const Bytes& b) { return a.insert(a.end(), b.begin(), b.end()), a; };
  const Bytes reserved(4, 0), na_flags{0x60, 0, 0, 0};  // NA: solicited + override
  const Bytes src_ll{1, 1, 0x02, 0, 0, 0, 0, 0x50}, tgt_ll{2, 1, 0x02, 0, 0, 0, 0, 0x01};
  struct Case {
    const char* what;
    Frame6 f;
  };
  const std::vector<Case> cases = {
      {"NS for the uplink VIP", Frame6::icmp6(kContainer6, "ff02::1:ff00:10", 135, 0,
                                              cat(cat(reserved, addr(kUplinkVip6)), src_ll))},
      {"NS for the bridge address", Frame6::icmp6(kContainer6, "ff02::1:ff00:1", 135, 0,
                                                  cat(cat(reserved, addr(kBridgeIp6)), src_ll))},
      {"NA from a backend", Frame6::icmp6(kD0.addr, kBridgeIp6, 136, 0,
                                          cat(cat(na_flags, addr(kD0.addr)), tgt_ll))},
      {"echo request to the VIP", Frame6::icmp6(kContainer6, kUplinkVip6, 128, 0, {0, 1, 0, 1, 'p', 'i', 'n', 'g'})},
      {"echo reply from a backend", Frame6::icmp6(kD0.addr, kContainer6, 129, 0, {0, 1, 0, 1, 'p', 'o', 'n', 'g'})},
      {"router solicitation", Frame6::icmp6("fe80::50", "ff02::2", 133, 0, cat(reserved, src_ll))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Frame6 f = c.f;
    f.eth_src = kContainerMac, f.eth_dst = kBridgeMac;
    const Bytes in = f.bytes();
    ASSERT_TRUE(read6(in).csum_ok) << "the test built a bad ICMPv6 checksum";

    Outcome tc = run(in);
    EXPECT_EQ(tc.verdict, TC_ACT_OK);
    EXPECT_EQ(tc.out, in) << "TC changed an ICMPv6 frame";
    EXPECT_EQ(tc.reasons[XDPLB_R_TC_NOT_REVERSE], 1u);

    Result<RunResult> x = make_error("not run");
    auto reasons = reasons_during(*dp, [&] { x = run_xdp(dp->xdp_prog_fd(), in); });
    ASSERT_TRUE(reasons) << reasons.error();
    ASSERT_TRUE(x) << x.error();
    EXPECT_EQ(x->verdict, XDP_PASS);
    EXPECT_EQ(x->out, in) << "XDP changed an ICMPv6 frame";
    EXPECT_EQ((*reasons)[XDPLB_R_PASS_NOT_SERVICE], 1u);
  }
}

// ICMPv6 errors and fragments of hairpin flows (lib/icmp_flow.h, lib/frag.h): a backend's
// error about a request reaches the container from the VIP, quoting the container's own
// packet; the container's error about a reply reaches the backend from the bridge address;
// the later fragments of a datagram take the rewrite of its first, both ways.
TEST_F(Hairpin6Test, IcmpErrorsAndFragmentsOfHairpinFlowsAreTranslated) {
  const Frame6 req = request(IPPROTO_TCP, 40000);
  Outcome o = run(req.bytes());
  ASSERT_EQ(o.verdict, TC_ACT_REDIRECT);
  const TestBackend& be = backend_at(o.got.dst);

  Icmp6Error unreach;
  unreach.eth_src = be.mac, unreach.eth_dst = kBridgeMac;
  unreach.src = be.addr, unreach.dst = kBridgeIp6, unreach.type = 1, unreach.code = 4, unreach.rest = 0;
  unreach.quote = quote_of(o.out);
  Icmp6Error unreach_out = unreach;
  unreach_out.eth_dst = kContainerMac, unreach_out.eth_src = kBridgeMac;
  unreach_out.src = kUplinkVip6, unreach_out.dst = kContainer6;
  unreach_out.quote = quote_of(req.bytes());
  Outcome e = run(unreach.bytes());
  EXPECT_EQ(e.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(diff(e.out, unreach_out.bytes()), "") << "backend's error about a hairpin request";
  EXPECT_EQ(e.reasons[XDPLB_R_ICMP_FROM_BACKEND], 1u);

  const Frame6 reply = reply_to(o.got, IPPROTO_TCP);
  Outcome rep = run(reply.bytes());
  ASSERT_EQ(rep.verdict, TC_ACT_REDIRECT);
  Icmp6Error back;
  back.eth_src = kContainerMac, back.eth_dst = kBridgeMac;
  back.src = kContainer6, back.dst = kUplinkVip6, back.type = 1, back.code = 4, back.rest = 0;
  back.quote = quote_of(rep.out);
  Icmp6Error back_out = back;
  back_out.eth_dst = be.mac, back_out.eth_src = kBridgeMac;
  back_out.src = kBridgeIp6, back_out.dst = be.addr;
  back_out.quote = quote_of(reply.bytes());
  Outcome b = run(back.bytes());
  EXPECT_EQ(b.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(diff(b.out, back_out.bytes()), "") << "container's error about a hairpin reply";
  EXPECT_EQ(b.reasons[XDPLB_R_ICMP_TO_BACKEND], 1u);

  // A 3000-byte UDP request and answer, in fragments.
  Frame6 dg = request(IPPROTO_UDP, 50000);
  dg.payload.assign(3000, 'h');
  const Bytes whole = dg.bytes();
  TraceReader trace(*dp);
  ASSERT_TRUE(trace.ok());
  ASSERT_TRUE(dp->start_trace({}));
  Outcome first = run(ipv6_fragment(whole, 0, 1448, true, 21));
  ASSERT_EQ(first.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(first.reasons[XDPLB_R_FRAG_FIRST], 1u);
  ASSERT_TRUE(dp->stop_trace());
  const auto ev = trace.drain();
  ASSERT_EQ(ev.size(), 1u) << "the first request fragment's trace record";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_TC_HAIRPIN_FRAGMENT);
  EXPECT_EQ(ev[0].verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(ev[0].backend, backend_at(first.got.dst).id) << "the backend the datagram goes to";
  EXPECT_NE(ev[0].pool, XDPLB_NO_POOL) << "a service hit";
  EXPECT_TRUE(ev[0].reasons & (1ull << XDPLB_R_FRAG_FIRST));
  // read6 takes ports at offset 54; in a fragment the UDP header follows the fragment header.
  first.got.sport = static_cast<uint16_t>(first.out[62] << 8 | first.out[63]);
  first.got.dport = static_cast<uint16_t>(first.out[64] << 8 | first.out[65]);
  Frame6 sent = dg;  // the datagram as it must reach the backend
  sent.src = kBridgeIp6, sent.sport = first.got.sport, sent.dst = first.got.dst, sent.dport = 80;
  sent.eth_dst = backend_at(first.got.dst).mac, sent.eth_src = kBridgeMac;
  EXPECT_EQ(diff(first.out, ipv6_fragment(sent.bytes(), 0, 1448, true, 21)), "") << "first request fragment";
  for (size_t off : {1448, 2896}) {
    const size_t len = off == 1448 ? 1448 : 3008 - 2896;
    Outcome later = run(ipv6_fragment(whole, off, len, off == 1448, 21));
    EXPECT_EQ(later.verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(later.reasons[XDPLB_R_FRAG_LATER], 1u);
    EXPECT_EQ(diff(later.out, ipv6_fragment(sent.bytes(), off, len, off == 1448, 21)), "") << "request fragment at " << off;
  }
  Frame6 answer = reply_to(first.got, IPPROTO_UDP);
  answer.payload.assign(3000, 'r');
  Frame6 answered = answer;  // as it must reach the container
  answered.src = kUplinkVip6, answered.sport = kPort, answered.dst = kContainer6, answered.dport = dg.sport;
  answered.eth_dst = kContainerMac, answered.eth_src = kBridgeMac;
  for (size_t off : {0, 1448, 2896}) {
    const size_t len = off == 2896 ? 3008 - 2896 : 1448;
    Outcome a = run(ipv6_fragment(answer.bytes(), off, len, off != 2896, 22));
    EXPECT_EQ(a.verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(a.reasons[off ? XDPLB_R_FRAG_LATER : XDPLB_R_FRAG_FIRST], 1u);
    EXPECT_EQ(diff(a.out, ipv6_fragment(answered.bytes(), off, len, off != 2896, 22)), "") << "answer fragment at " << off;
  }
}

}  // namespace
}  // namespace xdplb::test
