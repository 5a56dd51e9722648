// IPv6 on the XDP (client) and TC (reply) paths through BPF_PROG_TEST_RUN: DNAT and reverse
// NAT of 16-byte addresses with checksums that a from-scratch recomputation accepts (IPv6 has
// no header checksum: the addresses count through the L4 pseudo-header), and ICMPv6 /
// neighbour discovery / extension headers untouched. IPv6 frames come from packet6.h.
// Namespace for the reply FIB lookups:
//   xdpbr0 (bridge, fd00:2::1/64): where replies arrive
//   xdpup0 (veth, fd00:1::1/64, MAC 02:00:00:00:01:01): route to the client fd00:1::2,
//     permanent neighbour 02:00:00:00:00:c2
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

#include "core/address_policy.h"
#include "packet6.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

constexpr uint32_t kPool6 = 2;
const std::string kVip6 = "fd00::10";
const std::string kClient6 = "fd00:1::2";
struct Backend6 {
  uint32_t id;
  std::string addr;
};
const Backend6 kC0{10, "fd00:2::11"}, kC1{11, "fd00:2::12"};
const Mac kUplinkMac{0x02, 0, 0, 0, 0x01, 0x01};
const Mac kClientMac{0x02, 0, 0, 0, 0, 0xc2};

class Ipv6Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    ASSERT_TRUE(program_scenario(*dp));
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      auto s = dp->put_service({*IpAddress::parse(kVip6), kPort, proto}, kPool6);
      ASSERT_TRUE(s) << s.error();
    }
    for (const auto& b : {kC0, kC1}) {
      BackendEntry e;
      e.addr = *IpAddress::parse(b.addr);
      e.port = 80;
      auto s = dp->put_backend(b.id, e);
      ASSERT_TRUE(s) << s.error();
    }
    ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kC0.id, kC1.id})));
  }

  // XDP on one frame; the reasons it counted.
  RunResult xdp(const Bytes& in, std::vector<uint64_t>* reasons) {
    auto before = dp->reason_counters();
    auto r = run_xdp(dp->xdp_prog_fd(), in);
    EXPECT_TRUE(r) << r.error();
    auto after = dp->reason_counters();
    if (reasons && before && after)
      for (size_t i = 0; i < after->size(); ++i) reasons->push_back((*after)[i] - (*before)[i]);
    return r ? *r : RunResult{};
  }

  std::unique_ptr<Datapath> dp;
};

TEST_F(Ipv6Test, TcpAndUdpToAnIpv6VipAreDnated) {
  for (uint8_t proto : {6, 17}) {
    SCOPED_TRACE(proto == 6 ? "TCP" : "UDP");
    Frame6 f;
    f.next = proto;
    std::vector<uint64_t> reasons;
    auto r = xdp(f.bytes(), &reasons);
    ASSERT_EQ(r.verdict, XDP_PASS);
    Read6 got = read6(r.out);
    EXPECT_TRUE(got.dst == kC0.addr || got.dst == kC1.addr) << "dst not DNATed: " << got.dst;
    EXPECT_EQ(got.dport, 80) << "destination port not the backend's";
    EXPECT_EQ(got.src, kClient6) << "client address changed";
    EXPECT_EQ(got.sport, 40000);
    EXPECT_TRUE(got.csum_ok) << "L4 checksum wrong after the IPv6 DNAT";
    EXPECT_EQ(reasons[XDPLB_R_NEW_FLOW], 1u);
    EXPECT_EQ(reasons[XDPLB_R_FWD_PASS], 1u);
    // The flow keeps its backend.
    auto again = xdp(f.bytes(), nullptr);
    EXPECT_EQ(read6(again.out).dst, got.dst) << "second packet of the flow went elsewhere";
  }
}

TEST_F(Ipv6Test, Icmpv6ExtensionHeadersAndLoopbackAreUntouched) {
  ASSERT_TRUE(dp->put_service({*IpAddress::parse("::1"), kPort, IPPROTO_TCP}, kPool6));
  Frame6 nd;
  nd.next = 58;  // ICMPv6 (neighbour solicitation, echo...)
  Frame6 hbh;
  hbh.next = 0;  // hop-by-hop options header before TCP
  Frame6 lo;
  lo.dst = "::1";
  Frame6 other_port;
  other_port.dport = 8001;
  for (const auto* f : {&nd, &hbh, &lo, &other_port}) {
    std::vector<uint64_t> reasons;
    const Bytes in = f->bytes();
    auto r = xdp(in, &reasons);
    EXPECT_EQ(r.verdict, XDP_PASS) << "next header " << int(f->next) << " dst " << f->dst;
    EXPECT_EQ(r.out, in) << "frame changed: next header " << int(f->next) << " dst " << f->dst;
    EXPECT_EQ(reasons[XDPLB_R_PASS_NOT_SERVICE], 1u) << "next header " << int(f->next);
  }
}

TEST_F(Ipv6Test, LengthsAreCheckedAgainstTheFrame) {
  Frame6 tcp, udp;
  udp.next = 17;
  const Bytes t = tcp.bytes(), u = udp.bytes();
  struct Row {
    const char* what;
    Bytes in;
    uint32_t reason;
  } rows[] = {
      {"TCP, payload length 1000 in a short frame", with_ip_length(t, 1000), XDPLB_R_PASS_SHORT_FRAME},
      {"UDP, payload length one past the frame", with_ip_length(u, u.size() - 54 + 1),
       XDPLB_R_PASS_SHORT_FRAME},
      {"UDP length past the payload length", with_l4_u16(u, 40, 4, 8 + 5 + 2), XDPLB_R_PASS_TRUNCATED},
      {"TCP data offset past the payload length", with_tcp_doff(t, 40, 7), XDPLB_R_PASS_TRUNCATED},
      {"IPv6 ethertype, IP version 4", [&] { Bytes b = t; b[14] = 0x40; return b; }(), XDPLB_R_PASS_NOT_IP},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.what);
    std::vector<uint64_t> reasons;
    auto r = xdp(row.in, &reasons);
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(r.out, row.in) << "frame changed";
    EXPECT_EQ(reasons[row.reason], 1u);
    EXPECT_EQ(reasons[XDPLB_R_NEW_FLOW], 0u);
  }
  Frame6 padded_src;
  padded_src.sport = 45000;  // a flow of its own
  padded_src.payload = {};
  Bytes padded = padded_src.bytes();
  padded.resize(padded.size() + 6);  // Ethernet padding after the IPv6 packet
  std::vector<uint64_t> reasons;
  auto r = xdp(padded, &reasons);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(reasons[XDPLB_R_NEW_FLOW], 1u) << "a padded frame is balanced";
  EXPECT_EQ(r.out.size(), padded.size());
}

TEST_F(Ipv6Test, SpoofedSourcesOnTheUplinkAreDropped) {
  ASSERT_TRUE(dp->set_uplink_guard(uplink_spoofed_sources({IpPrefix::of(*IpAddress::parse("fd00:2::1"), 64)},
                                                          {*IpAddress::parse("fd00:1::1")})));
  for (const char* src : {"::1", "fd00:2::50", "fd00:2::1", "fd00:1::1"}) {
    SCOPED_TRACE(src);
    Frame6 f;
    f.src = src;
    std::vector<uint64_t> reasons;
    const Bytes in = f.bytes();
    auto r = xdp(in, &reasons);
    EXPECT_EQ(r.verdict, XDP_DROP);
    EXPECT_EQ(reasons[XDPLB_R_DROP_SPOOFED], 1u);
    EXPECT_EQ(reasons[XDPLB_R_NEW_FLOW], 0u);
  }
  Frame6 client;  // fd00:1::2, next to the host's fd00:1::1
  std::vector<uint64_t> reasons;
  auto r = xdp(client.bytes(), &reasons);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(reasons[XDPLB_R_NEW_FLOW], 1u);
  EXPECT_EQ(reasons[XDPLB_R_DROP_SPOOFED], 0u);
}

TEST_F(Ipv6Test, RepliesAreReverseNatedAndRoutedOverIpv6) {
  auto n = TestNetns::create("v6");
  ASSERT_TRUE(n) << n.error();
  auto ns = std::move(*n);
  for (const char* cmd : {
           "link add xdpbr0 type bridge",
           "addr add fd00:2::1/64 dev xdpbr0 nodad",
           "link set xdpbr0 up",
           "link add xdpup0 address 02:00:00:00:01:01 type veth peer name xdpup1",
           "addr add fd00:1::1/64 dev xdpup0 nodad",
           "link set xdpup0 up",
           "link set xdpup1 up",
           "neigh add fd00:1::2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
       }) {
    auto s = ns->ip(cmd);
    ASSERT_TRUE(s) << s.error();
  }
  ASSERT_TRUE(ns->sh("ip netns exec {ns} sysctl -qw net.ipv6.conf.all.forwarding=1"));
  int bridge_ifindex = 0;
  ASSERT_TRUE(ns->run([&] { bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0")); }));

  for (uint8_t proto : {6, 17}) {
    SCOPED_TRACE(proto == 6 ? "TCP" : "UDP");
    Frame6 req;
    req.next = proto;
    req.sport = proto == 6 ? 41000 : 51000;
    auto fwd = xdp(req.bytes(), nullptr);
    ASSERT_EQ(fwd.verdict, XDP_PASS);
    const std::string backend = read6(fwd.out).dst;

    Frame6 rep;
    rep.next = proto;
    rep.src = backend;
    rep.sport = 80;
    rep.dst = kClient6;
    rep.dport = req.sport;
    rep.payload = {'w', 'o', 'r', 'l', 'd'};
    // Also as an skb with CHECKSUM_COMPLETE: the run fails with EBADMSG unless skb->csum
    // still sums the rewritten packet (an IPv6 rewrite leaves that sum as it was).
    for (uint32_t flags : {0u, static_cast<uint32_t>(BPF_F_TEST_SKB_CHECKSUM_COMPLETE)}) {
      SCOPED_TRACE(flags ? "CHECKSUM_COMPLETE" : "CHECKSUM_NONE");
      Result<RunResult> r = make_error("not run");
      ASSERT_TRUE(ns->run([&] { r = run_tc(dp->tc_prog_fd(), rep.bytes(), bridge_ifindex, 1, flags); }));
      ASSERT_TRUE(r) << r.error();
      EXPECT_EQ(r->verdict, TC_ACT_REDIRECT);
      Read6 got = read6(r->out);
      EXPECT_EQ(got.src, kVip6) << "reply source not put back to the VIP";
      EXPECT_EQ(got.sport, kPort);
      EXPECT_EQ(got.dst, kClient6);
      EXPECT_TRUE(got.csum_ok) << "L4 checksum wrong after the IPv6 reverse NAT";
      EXPECT_EQ(mac_text(got.eth_dst), mac_text(kClientMac)) << "FIB neighbour MAC not set";
      EXPECT_EQ(mac_text(got.eth_src), mac_text(kUplinkMac));
    }
  }
}

}  // namespace
}  // namespace xdplb::test
