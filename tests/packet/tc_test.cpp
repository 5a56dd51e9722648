// The TC program (reply side) through BPF_PROG_TEST_RUN. Flows are created by running the XDP
// program first; the replies then run inside a namespace of this test whose routes and
// neighbours make the FIB lookup deterministic:
//   xdpbr0 (bridge, 10.1.0.1/24): where replies arrive (skb ingress_ifindex)
//   xdpup0 (veth, 192.168.1.1/24, MAC 02:00:00:00:01:01): route to the clients
//     192.168.1.2 has a permanent neighbour 02:00:00:00:00:c2 -> FIB SUCCESS
//     192.168.1.3 has none                                  -> FIB NO_NEIGH
//   203.0.113.5: no route                                   -> dropped
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include "cases.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

const Mac kUplinkMac{0x02, 0, 0, 0, 0x01, 0x01};
const Mac kClientMac{0x02, 0, 0, 0, 0, 0xc2};

class TcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = TestNetns::create("pkt");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    for (const char* cmd : {
             "link add xdpbr0 type bridge",
             "addr add 10.1.0.1/24 dev xdpbr0",
             "link set xdpbr0 up",
             "link add xdpup0 address 02:00:00:00:01:01 type veth peer name xdpup1",
             "addr add 192.168.1.1/24 dev xdpup0",
             "link set xdpup0 up",
             "link set xdpup1 up",
             "neigh add 192.168.1.2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
         }) {
      auto s = ns->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    auto s = ns->sh("ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=1");
    ASSERT_TRUE(s) << s.error();
    s = ns->run([&] { bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0")); });
    ASSERT_TRUE(s) << s.error();
    ASSERT_GT(bridge_ifindex, 0);

    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    s = program_scenario(*dp);
    ASSERT_TRUE(s) << s.error();
  }

  // A client packet through XDP, so the flow and its reverse entry exist.
  void open_flow(const Packet& p, int verdict = XDP_PASS) {
    auto r = run_xdp(dp->xdp_prog_fd(), p.bytes());
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->verdict, verdict) << "opening flow " << p.src << ":" << p.sport;
  }

  void run_tc_cases(const std::vector<Case>& cases) {
    auto s = ns->run([&] { run_cases(*dp, Prog::Tc, cases, bridge_ifindex); });
    ASSERT_TRUE(s) << s.error();
  }

  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<Datapath> dp;
  int bridge_ifindex = 0;
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
};

// A backend's reply to client packet p, as it arrives on the bridge.
Packet reply_to(const Packet& p, const TestBackend& b) {
  Packet r = p;
  r.src = b.addr;
  r.sport = b.port;
  r.dst = p.src;
  r.dport = p.sport;
  if (p.proto == 6) r.tcp_flags = kTcpSyn | kTcpAck;
  r.eth_src = b.mac;
  r.eth_dst = kBridgeMac;
  r.payload = {'w', 'o', 'r', 'l', 'd', '!'};
  return r;
}

// What leaves: source back to VIP:port, and MACs from the FIB if it resolved a neighbour.
Bytes revnat_expected(Packet r, bool fib_macs) {
  r.src = kVip;
  r.sport = kPort;
  if (fib_macs) {
    r.eth_dst = kClientMac;
    r.eth_src = kUplinkMac;
  }
  return r.bytes();
}

TEST_F(TcTest, RepliesAreReverseNatedAndRedirected) {
  const Packet tcp = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  const Packet udp = with_sport_for(ring, Packet::udp("192.168.1.2", 50000, kVip, kPort), kB2.id);
  const Packet udp0 = with_sport_for(ring, Packet::udp("192.168.1.2", 51000, kVip, kPort, false), kB1.id);
  const Packet fast = with_sport_for(ring, Packet::tcp("192.168.1.2", 42000, kVip, kPort), kB0.id);
  const Packet no_neigh = Packet::tcp("192.168.1.3", 40000, kVip, kPort);
  const Packet no_route = Packet::tcp("203.0.113.5", 40000, kVip, kPort);
  const auto no_neigh_be = ring_choice(ring, no_neigh), no_route_be = ring_choice(ring, no_route);
  const TestBackend* bes[] = {&kB0, &kB1, &kB2};
  open_flow(tcp);
  open_flow(udp);
  open_flow(udp0);
  open_flow(fast, XDP_REDIRECT);
  open_flow(no_neigh, bes[no_neigh_be]->fast_path ? XDP_REDIRECT : XDP_PASS);
  open_flow(no_route, bes[no_route_be]->fast_path ? XDP_REDIRECT : XDP_PASS);

  Packet tcp_opts = reply_to(tcp, kB1);
  tcp_opts.ip_options = {1, 1, 1, 0};
  Packet udp0_reply = reply_to(udp0, kB1);
  udp0_reply.udp_checksum = false;
  const Packet nn = reply_to(no_neigh, *bes[no_neigh_be]), nr = reply_to(no_route, *bes[no_route_be]);

  run_tc_cases({
    {"TCP SYN-ACK: source back to VIP:8000, FIB MACs, redirect", {}, reply_to(tcp, kB1).bytes(),
     TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(tcp, kB1), true)},
    {"reply of a fast-path flow (same reverse path)", {}, reply_to(fast, kB0).bytes(),
     TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(fast, kB0), true)},
    {"TCP reply with IPv4 options", {}, tcp_opts.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(tcp_opts, true)},
    {"UDP reply with checksum", {}, reply_to(udp, kB2).bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(udp, kB2), true)},
    {"UDP reply without checksum: stays 0", {}, udp0_reply.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(udp0_reply, true)},
    {"client without a neighbour entry: bpf_redirect_neigh", {}, nn.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_NEIGH}, revnat_expected(nn, false)},
    {"client without a route: dropped (never TC_ACT_OK after the NAT)", {}, nr.bytes(),
     TC_ACT_SHOT, {XDPLB_R_TC_DROP_NO_ROUTE}, revnat_expected(nr, false)},
  });
}

TEST_F(TcTest, OtherTrafficIsUntouched) {
  const Packet tcp = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  open_flow(tcp);
  Packet other_port = reply_to(tcp, kB1);
  other_port.dport = 40001 == tcp.sport ? 40002 : 40001;
  Packet wrong_backend = reply_to(tcp, kB2);
  Packet udp_same_ports = reply_to(tcp, kB1);
  udp_same_ports.proto = 17;
  Packet frag = reply_to(tcp, kB1);
  frag.frag = 0x0010;  // a later fragment whose first was not seen (icmp_frag_test.cpp)
  Bytes cut = reply_to(tcp, kB1).bytes();
  cut.resize(14 + 20 + 8);
  run_tc_cases({
    {"ARP", {}, arp_frame(), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
    {"IPv6", {}, ipv6_tcp_frame(80), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
    {"reply to another client port", {}, other_port.bytes(), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
    {"same client port, another backend", {}, wrong_backend.bytes(), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
    {"same ports, UDP instead of TCP", {}, udp_same_ports.bytes(), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
    // A client-to-VIP packet seen on the bridge is a hairpin request now: hairpin_test.cpp.
    {"later fragment of an unknown reply", {}, frag.bytes(), TC_ACT_OK, {XDPLB_R_TC_PASS_FRAGMENT}, {}},
    {"TCP header cut: shorter than its IP length", {}, cut, TC_ACT_OK,
     {XDPLB_R_TC_PASS_SHORT_FRAME}, {}},
  });
}

// Lengths are checked against the frame (skb->len) before any rewrite, on the reply side too.
TEST_F(TcTest, RepliesWithBadLengthsAreUntouched) {
  const Packet tcp = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  const Packet udp = with_sport_for(ring, Packet::udp("192.168.1.2", 50000, kVip, kPort), kB2.id);
  open_flow(tcp);
  open_flow(udp);
  const Bytes tcp_r = reply_to(tcp, kB1).bytes(), udp_r = reply_to(udp, kB2).bytes();
  run_tc_cases({
    {"SYN-ACK with tot_len 1000", {}, with_ip_length(tcp_r, 1000), TC_ACT_OK,
     {XDPLB_R_TC_PASS_SHORT_FRAME}, {}},
    {"UDP reply length past the IP payload", {}, with_l4_u16(udp_r, 20, 4, 100), TC_ACT_OK,
     {XDPLB_R_TC_PASS_TRUNCATED}, {}},
    {"SYN-ACK with a data offset past the IP payload", {}, with_tcp_doff(tcp_r, 20, 8), TC_ACT_OK,
     {XDPLB_R_TC_PASS_TRUNCATED}, {}},
  });
}

TEST_F(TcTest, ReplacedFlowAnswersFromItsNewBackendOnly) {
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  open_flow(syn);
  ASSERT_TRUE(put_backend(*dp, kB1, false));
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB2.id})));
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  open_flow(ack);  // re-placed on backend 2
  run_tc_cases({
    {"reply from the old backend no longer matches", {}, reply_to(syn, kB1).bytes(), TC_ACT_OK,
     {XDPLB_R_TC_NOT_REVERSE}, {}},
    {"reply from the new backend is reverse-NATed", {}, reply_to(syn, kB2).bytes(),
     TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(syn, kB2), true)},
  });
}

// The backend's RST ends the connection for the counts (found from the reverse entry); its FIN
// does not (the client's FIN follows, or the idle sweep).
TEST_F(TcTest, BackendResetUncountsItsFlow) {
  auto conns = [&](const TestBackend& b) {
    auto c = dp->active_connections(b.id);
    EXPECT_TRUE(c) << c.error();
    return c ? *c : -999;
  };
  const Packet a = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  const Packet b = with_sport_for(ring, Packet::tcp("192.168.1.2", 41000, kVip, kPort), kB1.id);
  open_flow(a);
  open_flow(b);
  ASSERT_EQ(conns(kB1), 2);
  Packet rst = reply_to(a, kB1), fin = reply_to(b, kB1);
  rst.tcp_flags = kTcpRst | kTcpAck;
  rst.payload.clear();
  fin.tcp_flags = kTcpFin | kTcpAck;
  run_tc_cases({
    {"backend RST: reverse-NATed like any reply", {}, rst.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(rst, true)},
    {"backend FIN: reverse-NATed", {}, fin.bytes(), TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT},
     revnat_expected(fin, true)},
  });
  EXPECT_EQ(conns(kB1), 1) << "RST uncounted its flow, FIN did not";
}

}  // namespace
}  // namespace xdplb::test
