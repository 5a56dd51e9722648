// ICMP errors, path MTU and fragments through both programs by BPF_PROG_TEST_RUN (lib/icmp.h,
// lib/icmp_flow.h, lib/frag.h, lib/forward.h tc_route): flows are opened by running the XDP
// program; rows then check the exact frames and reasons (cases.h). Namespace of this test:
//   xdpbr0 (bridge, 10.1.0.1/24, fd00:2::1/64): where replies arrive
//   xdpup0 (veth, MTU 1400, 192.168.1.1/24, fd00:1::1/64, MAC 02:00:00:00:01:01): route to the
//     clients 192.168.1.2 / fd00:1::2, permanent neighbour 02:00:00:00:00:c2
// The IPv4 service is scenario.h's (10.0.0.10:8000, backends 10.1.0.11-13); the IPv6 one is
// fd00::10:8000 on one backend fd00:2::11:80.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>

#include "cases.h"
#include "frames.h"
#include "packet6.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

const Mac kUplinkMac{0x02, 0, 0, 0, 0x01, 0x01};
const Mac kClientMac{0x02, 0, 0, 0, 0, 0xc2};
const std::string kClient = "192.168.1.2", kRouter = "192.168.1.254";
const std::string kVip6 = "fd00::10", kClient6 = "fd00:1::2", kRouter6 = "fd00:1::fe";
const TestBackend kC0{10, "fd00:2::11", 80, false, {0x02, 0, 0, 0, 0, 0x21}};
constexpr uint32_t kPool6 = 2;

class IcmpFragTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = TestNetns::create("icmf");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    auto s = ns->ip_all({
        "link add xdpbr0 type bridge",
        "addr add 10.1.0.1/24 dev xdpbr0",
        "addr add fd00:2::1/64 dev xdpbr0 nodad",
        "link set xdpbr0 up",
        "link add xdpup0 address 02:00:00:00:01:01 mtu 1400 type veth peer name xdpup1 mtu 1400",
        "addr add 192.168.1.1/24 dev xdpup0",
        "addr add fd00:1::1/64 dev xdpup0 nodad",
        "link set xdpup0 up",
        "link set xdpup1 up",
        "neigh add 192.168.1.2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
        "neigh add fd00:1::2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
    });
    ASSERT_TRUE(s) << s.error();
    s = ns->sh("nsenter --net=/run/netns/{ns} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
    ASSERT_TRUE(s) << s.error();
    auto b = ns->ifindex("xdpbr0");
    ASSERT_TRUE(b) << b.error();
    bridge_ifindex = *b;
    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    ASSERT_TRUE(program_scenario(*dp));
    ASSERT_TRUE(put_backend(*dp, kC0));
    ASSERT_TRUE(dp->write_ring(kPool6, ring_of({kC0.id})));
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
      ASSERT_TRUE(dp->put_service({*IpAddress::parse(kVip6), kPort, proto}, kPool6));
  }

  void open_flow(const Bytes& request, int verdict = XDP_PASS) {
    auto r = run_xdp(dp->xdp_prog_fd(), request);
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->verdict, verdict) << "opening a flow";
  }
  void xdp_rows(const std::vector<Case>& rows) { run_cases(*dp, Prog::Xdp, rows); }
  void tc_rows(const std::vector<Case>& rows) {
    auto s = ns->run([&] { run_cases(*dp, Prog::Tc, rows, bridge_ifindex); });
    ASSERT_TRUE(s) << s.error();
  }

  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<Datapath> dp;
  int bridge_ifindex = 0;
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
};

// p from (src, sport) to (dst, dport), everything else kept.
Packet moved(Packet p, const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport) {
  p.src = src, p.sport = sport, p.dst = dst, p.dport = dport;
  return p;
}

// A 3000-byte answer from kB1 to req, as it comes from the bridge and as it must leave.
std::pair<Packet, Packet> big_reply(const Packet& req) {
  Packet ans = moved(req, kB1.addr, 80, kClient, req.sport);
  ans.eth_src = kB1.mac, ans.eth_dst = kBridgeMac;
  ans.payload.assign(3000, 'a');
  Packet out = moved(ans, kVip, kPort, kClient, req.sport);
  out.eth_dst = kClientMac, out.eth_src = kUplinkMac;
  return {ans, out};
}

Frame6 moved6(Frame6 f, const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport) {
  f.src = src, f.sport = sport, f.dst = dst, f.dport = dport;
  return f;
}

TEST_F(IcmpFragTest, RouterErrorsAboutRepliesReachTheBackend) {
  const Packet pass = with_sport_for(ring, Packet::tcp(kClient, 40000, kVip, kPort), kB1.id);
  const Packet fast = with_sport_for(ring, Packet::tcp(kClient, 42000, kVip, kPort), kB0.id);
  Frame6 syn6;
  syn6.src = kClient6, syn6.dst = kVip6;
  open_flow(pass.bytes());
  open_flow(fast.bytes(), XDP_REDIRECT);
  open_flow(syn6.bytes());

  // A router on the way to the client cannot forward a reply (VIP:8000 -> client): its
  // "fragmentation needed" goes to the VIP and must reach the backend, quoting the reply as
  // the backend sent it.
  auto frag_needed = [](const Packet& req, const std::string& to, const std::string& quoted_src) {
    Icmp4Error e;
    e.src = kRouter, e.dst = to;
    e.quote = quote_of(moved(req, quoted_src, quoted_src == kVip ? kPort : 80, req.src, req.sport).bytes());
    return e;
  };
  Icmp4Error fast_out = frag_needed(fast, kB0.addr, kB0.addr);
  fast_out.eth_dst = kB0.mac, fast_out.eth_src = kBridgeMac;
  Icmp6Error too_big, too_big_out;
  too_big.src = kRouter6, too_big.dst = kVip6;
  too_big.quote = quote_of(moved6(syn6, kVip6, kPort, kClient6, syn6.sport).bytes());
  too_big_out = too_big;
  too_big_out.dst = kC0.addr;
  too_big_out.quote = quote_of(moved6(syn6, kC0.addr, 80, kClient6, syn6.sport).bytes());
  Icmp4Error unknown = frag_needed(moved(pass, kClient, 1234, kVip, kPort), kVip, kVip);
  Icmp4Error echo = frag_needed(pass, kVip, kVip);
  echo.type = 8, echo.code = 0;

  xdp_rows({
      {"IPv4 fragmentation needed about a reply: to its backend (pass path)", {},
       frag_needed(pass, kVip, kVip).bytes(), XDP_PASS, {XDPLB_R_ICMP_TO_BACKEND, XDPLB_R_FWD_PASS},
       frag_needed(pass, kB1.addr, kB1.addr).bytes(), XDPLB_TRACE_XDP_ICMP},
      {"IPv4 fragmentation needed about a reply: to its backend (fast path)", {},
       frag_needed(fast, kVip, kVip).bytes(), XDP_REDIRECT,
       {XDPLB_R_ICMP_TO_BACKEND, XDPLB_R_FWD_REDIRECT}, fast_out.bytes(), XDPLB_TRACE_XDP_ICMP},
      {"IPv6 packet too big about a reply: to its backend", {}, too_big.bytes(), XDP_PASS,
       {XDPLB_R_ICMP_TO_BACKEND, XDPLB_R_FWD_PASS}, too_big_out.bytes(), XDPLB_TRACE_XDP_ICMP},
      {"error about no flow of ours: untouched", {}, unknown.bytes(), XDP_PASS,
       {XDPLB_R_PASS_NOT_SERVICE}, {}},
      {"echo request to the VIP (not an error): untouched", {}, echo.bytes(), XDP_PASS,
       {XDPLB_R_PASS_NOT_SERVICE}, {}},
  });
}

TEST_F(IcmpFragTest, BackendErrorsAboutRequestsLeaveFromTheVip) {
  const Packet req = with_sport_for(ring, Packet::tcp(kClient, 40000, kVip, kPort), kB1.id);
  Frame6 req6;
  req6.src = kClient6, req6.dst = kVip6;
  open_flow(req.bytes());
  open_flow(req6.bytes());

  // The backend quotes the request as it got it (DNATed); the client must see the error
  // from the VIP quoting its own packet.
  Icmp4Error unreach;
  unreach.eth_src = kB1.mac, unreach.eth_dst = kBridgeMac;
  unreach.src = kB1.addr, unreach.dst = kClient, unreach.code = 3, unreach.rest = 0;
  unreach.quote = quote_of(moved(req, kClient, req.sport, kB1.addr, 80).bytes());
  Icmp4Error unreach_out = unreach;
  unreach_out.eth_dst = kClientMac, unreach_out.eth_src = kUplinkMac;
  unreach_out.src = kVip;
  unreach_out.quote = quote_of(req.bytes());
  Icmp6Error unreach6;
  unreach6.eth_src = kC0.mac, unreach6.eth_dst = kBridgeMac;
  unreach6.src = kC0.addr, unreach6.dst = kClient6, unreach6.type = 1, unreach6.code = 4, unreach6.rest = 0;
  unreach6.quote = quote_of(moved6(req6, kClient6, req6.sport, kC0.addr, 80).bytes());
  Icmp6Error unreach6_out = unreach6;
  unreach6_out.eth_dst = kClientMac, unreach6_out.eth_src = kUplinkMac;
  unreach6_out.src = kVip6;
  unreach6_out.quote = quote_of(req6.bytes());
  Icmp4Error stray = unreach;
  stray.quote = quote_of(moved(req, kClient, 1234, kB1.addr, 80).bytes());

  tc_rows({
      {"IPv4 port unreachable from the backend: from the VIP, quoting the client's packet", {},
       unreach.bytes(), TC_ACT_REDIRECT, {XDPLB_R_ICMP_FROM_BACKEND, XDPLB_R_TC_REVNAT_REDIRECT},
       unreach_out.bytes(), XDPLB_TRACE_TC_ICMP},
      {"IPv6 port unreachable from the backend: from the VIP", {}, unreach6.bytes(), TC_ACT_REDIRECT,
       {XDPLB_R_ICMP_FROM_BACKEND, XDPLB_R_TC_REVNAT_REDIRECT}, unreach6_out.bytes(), XDPLB_TRACE_TC_ICMP},
      {"backend error about no flow of ours: untouched", {}, stray.bytes(), TC_ACT_OK,
       {XDPLB_R_TC_NOT_REVERSE}, {}},
  });
}

// Uplink MTU 1400: a reply that does not fit goes to the stack untranslated (the stack then
// tells the backend); one that fits is reverse-NATed as always.
TEST_F(IcmpFragTest, RepliesTooBigForTheUplinkGoToTheStackUntranslated) {
  const Packet req = with_sport_for(ring, Packet::udp(kClient, 50000, kVip, kPort), kB1.id);
  Frame6 req6;
  req6.src = kClient6, req6.dst = kVip6, req6.next = 17;
  open_flow(req.bytes());
  open_flow(req6.bytes());
  auto reply = [&](size_t ip_len, uint16_t frag) {
    Packet r = moved(req, kB1.addr, 80, kClient, req.sport);
    r.eth_src = kB1.mac, r.eth_dst = kBridgeMac;
    r.payload.assign(ip_len - 28, 'x');
    r.frag = frag;
    return r;
  };
  Frame6 big6 = moved6(req6, kC0.addr, 80, kClient6, req6.sport);
  big6.eth_src = kC0.mac, big6.eth_dst = kBridgeMac;
  big6.payload.assign(1500 - 48, 'y');
  Packet fits = reply(1400, 0), fits_out = moved(fits, kVip, kPort, kClient, fits.dport);
  fits_out.eth_dst = kClientMac, fits_out.eth_src = kUplinkMac;

  tc_rows({
      {"IPv4 1500 bytes, DF: to the stack as it came", {}, reply(1500, 0x4000).bytes(), TC_ACT_OK,
       {XDPLB_R_TC_PASS_FRAG_NEEDED}, {}},
      {"IPv4 1500 bytes, no DF: DF set (the stack must not fragment it un-NATed)", {},
       reply(1500, 0).bytes(), TC_ACT_OK, {XDPLB_R_TC_PASS_FRAG_NEEDED}, reply(1500, 0x4000).bytes()},
      {"IPv6 1500 bytes: to the stack as it came", {}, big6.bytes(), TC_ACT_OK,
       {XDPLB_R_TC_PASS_FRAG_NEEDED}, {}},
      {"IPv4 1400 bytes: fits, reverse-NATed", {}, fits.bytes(), TC_ACT_REDIRECT,
       {XDPLB_R_TC_REVNAT_REDIRECT}, fits_out.bytes()},
  });
}

// A 3000-byte UDP request in three fragments: the first is balanced, the others follow it.
TEST_F(IcmpFragTest, RequestFragmentsFollowTheFirstToItsBackend) {
  Packet dg = with_sport_for(ring, Packet::udp(kClient, 50000, kVip, kPort), kB1.id);
  dg.payload.assign(3000, 'q');
  Packet fast = with_sport_for(ring, Packet::udp(kClient, 52000, kVip, kPort), kB0.id);
  fast.payload.assign(3000, 'f');
  fast.ip_id = 0x2222;
  const Bytes in = dg.bytes(), out = dnat_expected(dg, kB1), fin = fast.bytes(), fout = dnat_expected(fast, kB0);
  Packet stray = dg;
  stray.ip_id = 0x7777;
  Packet other_port = dg;
  other_port.dport = 8001;

  xdp_rows({
      {"first fragment: balanced, remembered", {}, ipv4_fragment(in, 0, 1480, true), XDP_PASS,
       {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS, XDPLB_R_FRAG_FIRST}, ipv4_fragment(out, 0, 1480, true)},
      {"second fragment: same backend", {}, ipv4_fragment(in, 1480, 1480, true), XDP_PASS,
       {XDPLB_R_FRAG_LATER, XDPLB_R_FWD_PASS}, ipv4_fragment(out, 1480, 1480, true), XDPLB_TRACE_XDP_FRAGMENT},
      {"last fragment: same backend", {}, ipv4_fragment(in, 2960, 48, false), XDP_PASS,
       {XDPLB_R_FRAG_LATER, XDPLB_R_FWD_PASS}, ipv4_fragment(out, 2960, 48, false)},
      {"fast path: first fragment", {}, ipv4_fragment(fin, 0, 1480, true), XDP_REDIRECT,
       {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_REDIRECT, XDPLB_R_FRAG_FIRST}, ipv4_fragment(fout, 0, 1480, true)},
      {"fast path: later fragment", {}, ipv4_fragment(fin, 1480, 1480, true), XDP_REDIRECT,
       {XDPLB_R_FRAG_LATER, XDPLB_R_FWD_REDIRECT}, ipv4_fragment(fout, 1480, 1480, true),
       XDPLB_TRACE_XDP_FRAGMENT},
      {"later fragment of an unknown datagram: untouched", {}, ipv4_fragment(stray.bytes(), 1480, 1480, true),
       XDP_PASS, {XDPLB_R_PASS_FRAGMENT}, {}},
      {"first fragment for no service: untouched", {}, ipv4_fragment(other_port.bytes(), 0, 1480, true),
       XDP_PASS, {XDPLB_R_PASS_FRAGMENT}, {}},
  });

  Frame6 dg6;
  dg6.src = kClient6, dg6.dst = kVip6, dg6.next = 17;
  dg6.payload.assign(3000, 's');
  const Bytes in6 = dg6.bytes(), out6 = moved6(dg6, kClient6, dg6.sport, kC0.addr, 80).bytes();
  xdp_rows({
      {"IPv6 first fragment: balanced, remembered", {}, ipv6_fragment(in6, 0, 1448, true, 7), XDP_PASS,
       {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS, XDPLB_R_FRAG_FIRST}, ipv6_fragment(out6, 0, 1448, true, 7)},
      {"IPv6 later fragment: same backend", {}, ipv6_fragment(in6, 1448, 1448, true, 7), XDP_PASS,
       {XDPLB_R_FRAG_LATER, XDPLB_R_FWD_PASS}, ipv6_fragment(out6, 1448, 1448, true, 7), XDPLB_TRACE_XDP_FRAGMENT},
      {"IPv6 last fragment: same backend", {}, ipv6_fragment(in6, 2896, 112, false, 7), XDP_PASS,
       {XDPLB_R_FRAG_LATER, XDPLB_R_FWD_PASS}, ipv6_fragment(out6, 2896, 112, false, 7)},
      {"IPv6 later fragment of an unknown datagram: untouched", {}, ipv6_fragment(in6, 1448, 1448, true, 8),
       XDP_PASS, {XDPLB_R_PASS_FRAGMENT}, {}},
  });
}

// A 3000-byte UDP answer in fragments that fit the uplink: all leave from the VIP.
TEST_F(IcmpFragTest, ReplyFragmentsFollowTheFirstBackToTheClient) {
  const Packet req = with_sport_for(ring, Packet::udp(kClient, 50000, kVip, kPort), kB1.id);
  Frame6 req6;
  req6.src = kClient6, req6.dst = kVip6, req6.next = 17;
  open_flow(req.bytes());
  open_flow(req6.bytes());
  const auto [ans, ans_out] = big_reply(req);
  const Bytes in = ans.bytes(), out = ans_out.bytes();
  Frame6 ans6 = moved6(req6, kC0.addr, 80, kClient6, req6.sport);
  ans6.eth_src = kC0.mac, ans6.eth_dst = kBridgeMac;
  ans6.payload.assign(3000, 'b');
  Frame6 ans6_out = moved6(ans6, kVip6, kPort, kClient6, req6.sport);
  ans6_out.eth_dst = kClientMac, ans6_out.eth_src = kUplinkMac;
  const Bytes in6 = ans6.bytes(), out6 = ans6_out.bytes();
  Packet stray = ans;
  stray.ip_id = 0x7777;

  tc_rows({
      {"first fragment: reverse-NATed, remembered", {}, ipv4_fragment(in, 0, 1376, true), TC_ACT_REDIRECT,
       {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FRAG_FIRST}, ipv4_fragment(out, 0, 1376, true),
       XDPLB_TRACE_TC_FRAGMENT},
      {"second fragment: from the VIP", {}, ipv4_fragment(in, 1376, 1376, true), TC_ACT_REDIRECT,
       {XDPLB_R_FRAG_LATER, XDPLB_R_TC_REVNAT_REDIRECT}, ipv4_fragment(out, 1376, 1376, true),
       XDPLB_TRACE_TC_FRAGMENT},
      {"last fragment: from the VIP", {}, ipv4_fragment(in, 2752, 256, false), TC_ACT_REDIRECT,
       {XDPLB_R_FRAG_LATER, XDPLB_R_TC_REVNAT_REDIRECT}, ipv4_fragment(out, 2752, 256, false)},
      {"IPv6 first fragment: reverse-NATed, remembered", {}, ipv6_fragment(in6, 0, 1344, true, 9),
       TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FRAG_FIRST}, ipv6_fragment(out6, 0, 1344, true, 9)},
      {"IPv6 later fragment: from the VIP", {}, ipv6_fragment(in6, 1344, 1344, true, 9), TC_ACT_REDIRECT,
       {XDPLB_R_FRAG_LATER, XDPLB_R_TC_REVNAT_REDIRECT}, ipv6_fragment(out6, 1344, 1344, true, 9)},
      {"IPv6 last fragment: from the VIP", {}, ipv6_fragment(in6, 2688, 320, false, 9), TC_ACT_REDIRECT,
       {XDPLB_R_FRAG_LATER, XDPLB_R_TC_REVNAT_REDIRECT}, ipv6_fragment(out6, 2688, 320, false, 9)},
      {"later fragment of an unknown reply: untouched", {}, ipv4_fragment(stray.bytes(), 1376, 1376, true),
       TC_ACT_OK, {XDPLB_R_TC_PASS_FRAGMENT}, {}},
  });
}

// Fragments are remembered per side: a frame on the uplink with the addresses and IP id of a
// reply's first fragment (its source a backend's: spoofed) is not translated as that reply,
// nor a frame on the bridge with a request's as that request. Found by the fuzzer: the uplink
// frame left as VIP -> client, towards a backend's MAC.
TEST_F(IcmpFragTest, FragmentsOfOneSideNeverTranslateTheOther) {
  const Packet req = with_sport_for(ring, Packet::udp(kClient, 50000, kVip, kPort), kB1.id);
  open_flow(req.bytes());
  const auto [ans, ans_out] = big_reply(req);
  Packet dg = with_sport_for(ring, Packet::udp(kClient, 51000, kVip, kPort), kB1.id);
  dg.payload.assign(3000, 'q');
  dg.ip_id = 0x3333;
  const Bytes in = ans.bytes(), out = ans_out.bytes(), din = dg.bytes();

  tc_rows({{"reply's first fragment: reverse-NATed, remembered", {}, ipv4_fragment(in, 0, 1376, true),
            TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FRAG_FIRST}, ipv4_fragment(out, 0, 1376, true)}});
  xdp_rows({{"its later fragment on the uplink: untouched", {}, ipv4_fragment(in, 1376, 1376, true), XDP_PASS,
             {XDPLB_R_PASS_FRAGMENT}, {}},
            {"request's first fragment: balanced, remembered", {}, ipv4_fragment(din, 0, 1480, true), XDP_PASS,
             {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS, XDPLB_R_FRAG_FIRST},
             ipv4_fragment(dnat_expected(dg, kB1), 0, 1480, true)}});
  tc_rows({{"its later fragment on the bridge: untouched", {}, ipv4_fragment(din, 1480, 1480, true), TC_ACT_OK,
            {XDPLB_R_TC_PASS_FRAGMENT}, {}}});
}

}  // namespace
}  // namespace xdplb::test
