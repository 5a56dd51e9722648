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

#include <chrono>
#include <thread>

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

  // A fresh datapath with other tunables (short linger, small flow table), scenario programmed.
  void reload(const Tunables& t) {
    auto d = load_scenario(t);
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
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

// A reply whose skb arrives with CHECKSUM_COMPLETE (a receiving NIC's sum of the packet from
// the IP header on) leaves with skb->csum still right: the test run fails with EBADMSG
// otherwise. TCP and UDP, the packet rewritten as in any other state.
TEST_F(TcTest, RepliesKeepACompleteChecksumOfTheSkbRight) {
  const Packet tcp = with_sport_for(ring, Packet::tcp("192.168.1.2", 40100, kVip, kPort), kB1.id);
  const Packet udp = with_sport_for(ring, Packet::udp("192.168.1.2", 50100, kVip, kPort), kB2.id);
  open_flow(tcp);
  open_flow(udp);
  for (const Packet& reply : {reply_to(tcp, kB1), reply_to(udp, kB2)}) {
    SCOPED_TRACE(reply.proto == 6 ? "TCP" : "UDP");
    Result<RunResult> r = make_error("not run");
    ASSERT_TRUE(ns->run([&] {
      r = run_tc(dp->tc_prog_fd(), reply.bytes(), bridge_ifindex, 1, BPF_F_TEST_SKB_CHECKSUM_COMPLETE);
    }));
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->verdict, TC_ACT_REDIRECT);
    EXPECT_EQ(r->out, revnat_expected(reply, true));
  }
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
    {"backend RST: reverse-NATed like any reply, the flow closes", {}, rst.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FLOW_CLOSED}, revnat_expected(rst, true)},
    {"backend FIN: reverse-NATed", {}, fin.bytes(), TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT},
     revnat_expected(fin, true)},
  });
  EXPECT_EQ(conns(kB1), 1) << "RST uncounted its flow, FIN did not";
}

// Passive health: an RST answering a SYN (the flow not established yet) counts as a refused
// connection of its backend; an RST ending an established connection does not.
TEST_F(TcTest, BackendResetOfANewConnectionCountsAsRefused) {
  auto refused = [&](const TestBackend& b) {
    auto c = dp->backend_counters(b.id);
    EXPECT_TRUE(c) << c.error();
    return c ? c->refused : ~0ull;
  };
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  const Packet est = with_sport_for(ring, Packet::tcp("192.168.1.2", 41000, kVip, kPort), kB1.id);
  open_flow(syn);
  open_flow(est);
  Packet ack = est;
  ack.tcp_flags = kTcpAck;
  open_flow(ack);  // the client's second packet: established
  ASSERT_EQ(refused(kB1), 0u);
  Packet rst_new = reply_to(syn, kB1), rst_est = reply_to(est, kB1);
  rst_new.tcp_flags = rst_est.tcp_flags = kTcpRst | kTcpAck;
  rst_new.payload.clear();
  rst_est.payload.clear();
  run_tc_cases({
    {"RST to a SYN: reverse-NATed, the flow closes", {}, rst_new.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FLOW_CLOSED}, revnat_expected(rst_new, true)},
  });
  EXPECT_EQ(refused(kB1), 1u) << "the backend refused a new connection";
  run_tc_cases({
    {"RST of an established connection", {}, rst_est.bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FLOW_CLOSED}, revnat_expected(rst_est, true)},
  });
  EXPECT_EQ(refused(kB1), 1u) << "an established connection's RST is no refusal";
  EXPECT_EQ(refused(kB2), 0u);
}

constexpr uint64_t kShortLinger = 200'000'000;  // ns; the tests sleep past it
Tunables short_linger() {
  Tunables t;
  t.flow_linger_ns = kShortLinger;
  return t;
}
void sleep_past_linger() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

Packet with_flags(Packet p, uint8_t flags) {
  p.tcp_flags = flags;
  return p;
}

// A connection that ended (FIN both ways) keeps its entries a linger for its last ACKs; after
// that a reply on its 5-tuple (here: a direct connection from the same client port to the
// backend) is not rewritten to the VIP, and the client's next packet is a new flow.
TEST_F(TcTest, EndedFlowsAreForgottenAfterTheLinger) {
  reload(short_linger());
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 45000, kVip, kPort), kB1.id);
  const Packet fin = with_flags(syn, kTcpFin | kTcpAck), ack = with_flags(syn, kTcpAck);
  const Packet synack = reply_to(syn, kB1), bfin = with_flags(reply_to(syn, kB1), kTcpFin | kTcpAck);
  run_cases(*dp, Prog::Xdp, {{"SYN", {}, syn.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(syn, kB1)}});
  run_tc_cases({{"SYN-ACK", {}, synack.bytes(), TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(synack, true)}});
  run_cases(*dp, Prog::Xdp, {{"client FIN", {}, fin.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS}, dnat_expected(fin, kB1)}});
  run_tc_cases({{"backend FIN: both ways now, the flow closes", {}, bfin.bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FLOW_CLOSED}, revnat_expected(bfin, true)}});
  run_cases(*dp, Prog::Xdp, {{"client's last ACK, within the linger", {}, ack.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS},
                              dnat_expected(ack, kB1)}});
  run_tc_cases({{"backend's FIN again, within the linger", {}, bfin.bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(bfin, true)}});
  sleep_past_linger();
  run_tc_cases({
    {"after the linger: a reply on the 5-tuple is not put back to the VIP", {}, synack.bytes(), TC_ACT_OK,
     {XDPLB_R_TC_REPLY_STALE, XDPLB_R_TC_NOT_REVERSE}, {}},
    {"and the entry is gone", {}, synack.bytes(), TC_ACT_OK, {XDPLB_R_TC_NOT_REVERSE}, {}},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows) << flows.error();
  EXPECT_EQ(*flows, 0u) << "the forward entry must go with the reverse one";
  run_cases(*dp, Prog::Xdp, {{"a late ACK is a packet of an unknown flow", {}, ack.bytes(), XDP_PASS,
                              {XDPLB_R_FLOW_MIDSTREAM, XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(ack, kB1)}});
}

// A backend id given again (removed, then added: take_backend_id bumps its generation) to the
// same backend address. A client port the old generation's flow used comes round again (Linux
// cycles its ports within seconds at a few hundred connections/s): the old flow's reverse
// entry is one XDP cannot forget (the id no longer names its backend), and it shares the new
// connection's reply key. The new connection's SYN-ACK must still go back to the VIP: the
// stale entry goes, the live one (in reverse_new) answers. Before: both were deleted and the
// SYN-ACK left untranslated (a 1 s SYN retransmit per such connection in the churn soak).
TEST_F(TcTest, StaleEntryOfAReusedIdDoesNotHideTheNewConnectionsReply) {
  reload(short_linger());
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 47000, kVip, kPort), kB1.id);
  const Packet ack = with_flags(syn, kTcpAck), fin = with_flags(syn, kTcpFin | kTcpAck);
  const Packet synack = reply_to(syn, kB1), bfin = with_flags(reply_to(syn, kB1), kTcpFin | kTcpAck);
  run_cases(*dp, Prog::Xdp, {{"SYN", {}, syn.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(syn, kB1)}});
  run_tc_cases({{"SYN-ACK", {}, synack.bytes(), TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(synack, true)}});
  run_cases(*dp, Prog::Xdp, {{"ACK: established", {}, ack.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS}, dnat_expected(ack, kB1)},
                             {"client FIN", {}, fin.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS}, dnat_expected(fin, kB1)}});
  run_tc_cases({{"backend FIN: closed", {}, bfin.bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REVNAT_REDIRECT, XDPLB_R_FLOW_CLOSED}, revnat_expected(bfin, true)}});
  sleep_past_linger();
  // backend remove + add: the id taken again for the same backend
  auto entry = dp->backend_entry(kB1.id);
  ASSERT_TRUE(entry) << entry.error();
  ASSERT_TRUE(dp->delete_backend(kB1.id));
  ASSERT_TRUE(dp->take_backend_id(kB1.id));
  ASSERT_TRUE(dp->put_backend(kB1.id, *entry));
  run_cases(*dp, Prog::Xdp, {{"SYN of a new connection on the old 5-tuple", {}, syn.bytes(), XDP_PASS,
                              {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(syn, kB1)}});
  run_tc_cases({{"its SYN-ACK: put back to the VIP (the stale entry dropped)", {}, synack.bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REPLY_STALE, XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(synack, true)},
                {"and the next one without a stale entry", {}, synack.bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(synack, true)}});
}

// An RST ends the connection at once (with the linger); a SYN on the same 5-tuple afterwards is
// a new connection with fresh entries, which live on past the old linger.
TEST_F(TcTest, ResetEndsTheFlowAndASynStartsANewOne) {
  reload(short_linger());
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 46000, kVip, kPort), kB1.id);
  const Packet rst = with_flags(syn, kTcpRst | kTcpAck), ack = with_flags(syn, kTcpAck);
  run_cases(*dp, Prog::Xdp, {
    {"SYN", {}, syn.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(syn, kB1)},
    {"client RST: the flow closes", {}, rst.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS, XDPLB_R_FLOW_CLOSED},
     dnat_expected(rst, kB1)},
    {"SYN on the closed 5-tuple: a new flow", {}, syn.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS},
     dnat_expected(syn, kB1)},
  });
  sleep_past_linger();
  run_cases(*dp, Prog::Xdp, {{"the new connection outlives the old linger", {}, ack.bytes(), XDP_PASS,
                              {XDPLB_R_FWD_PASS}, dnat_expected(ack, kB1)}});
  run_tc_cases({{"and its replies are put back", {}, reply_to(syn, kB1).bytes(), TC_ACT_REDIRECT,
                 {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(syn, kB1), true)}});
  auto c = dp->active_connections(kB1.id);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(*c, 1) << "the RST uncounted the old connection, the SYN counted the new one";
}

// `backend remove X; backend add Y` gives Y the id X had. X's remembered flows must not be
// DNATed to Y: the id's generation moved on, so they are re-placed, and X's replies are no
// longer put back.
TEST_F(TcTest, ReusedBackendIdDoesNotInheritOldFlows) {
  const TestBackend kY{kB1.id, "10.1.0.14", 80, false, {0x02, 0, 0, 0, 0, 0x14}};
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 47000, kVip, kPort), kB1.id);
  const Packet ack = with_flags(syn, kTcpAck);
  open_flow(syn);
  // remove X (id 1): inactive, out of the ring
  ASSERT_TRUE(dp->delete_backend(kB1.id));
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB0.id, kB2.id})));
  // add Y: the same id, a new generation; the new ring puts the old flow's slot on backend 2
  ASSERT_TRUE(dp->take_backend_id(kY.id));
  ASSERT_TRUE(put_backend(*dp, kY));
  const auto new_ring = ring_of({kB0.id, kB2.id, kY.id});
  ASSERT_TRUE(dp->write_ring(kPool, new_ring));
  ASSERT_EQ(ring_choice(new_ring, syn), kB2.id);
  const Packet to_y = with_sport_for(new_ring, Packet::tcp("192.168.1.2", 48000, kVip, kPort), kY.id);
  run_cases(*dp, Prog::Xdp, {
    {"X's flow is re-placed, not sent to Y", {}, ack.bytes(), XDP_PASS,
     {XDPLB_R_FLOW_RESELECTED, XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(ack, kB2)},
    {"a new flow reaches Y", {}, to_y.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(to_y, kY)},
  });
  run_tc_cases({
    {"a late reply from X is not put back", {}, reply_to(syn, kB1).bytes(), TC_ACT_OK,
     {XDPLB_R_TC_REPLY_STALE, XDPLB_R_TC_NOT_REVERSE}, {}},
    {"replies of the re-placed flow are", {}, reply_to(syn, kB2).bytes(), TC_ACT_REDIRECT,
     {XDPLB_R_TC_REVNAT_REDIRECT}, revnat_expected(reply_to(syn, kB2), true)},
    {"and Y's replies", {}, reply_to(to_y, kY).bytes(), TC_ACT_REDIRECT, {XDPLB_R_TC_REVNAT_REDIRECT},
     revnat_expected(reply_to(to_y, kY), true)},
  });
  // An update of Y (put_backend again, e.g. a new MAC) keeps its generation: its flows stay.
  ASSERT_TRUE(put_backend(*dp, kY));
  run_cases(*dp, Prog::Xdp, {{"Y's flow after an update of Y", {}, with_flags(to_y, kTcpAck).bytes(), XDP_PASS,
                              {XDPLB_R_FWD_PASS}, dnat_expected(with_flags(to_y, kTcpAck), kY)}});
}

// A flood of new flows (SYNs that the backends answer) over four times the flow table: the
// established connections that went idle before it keep their backend under every scheduler
// (the LRU drops the flood's entries first), and the evictions are counted, not hidden.
TEST_F(TcTest, IdleConnectionsKeepTheirBackendThroughAFlood) {
  constexpr uint32_t kTable = 1024, kIdle = 30, kFlood = 4 * kTable;
  const TestBackend* bes[] = {&kB0, &kB1, &kB2};
  for (uint32_t sched : {XDPLB_SCHED_MAGLEV, XDPLB_SCHED_WEIGHTED, XDPLB_SCHED_ROUND_ROBIN, XDPLB_SCHED_LEAST_CONN}) {
    SCOPED_TRACE("scheduler " + std::to_string(sched));
    Tunables t;
    t.flow_table_size = kTable;
    reload(t);
    ASSERT_TRUE(dp->set_scheduler(kPool, sched));
    ASSERT_EQ(dp->flow_table_size(), kTable);
    // Where each XDP run sent its packet (the backend it was DNATed to).
    auto send = [&](const Packet& p) -> std::string {
      auto r = run_xdp(dp->xdp_prog_fd(), p.bytes());
      if (!r) return "error: " + r.error();
      auto out = parse(r->out);
      return out ? out->dst : "unparsable";
    };
    auto reply = [&](const Packet& p, const std::string& backend) {
      for (const TestBackend* b : bes)
        if (b->addr == backend) {
          Packet r = reply_to(p, *b);
          r.tcp_flags = p.tcp_flags & kTcpSyn ? kTcpSyn | kTcpAck : kTcpAck;
          auto res = run_tc(dp->tc_prog_fd(), r.bytes(), bridge_ifindex);
          return res && res->verdict == TC_ACT_REDIRECT;
        }
      return false;
    };
    std::vector<Packet> idle;
    std::vector<std::string> placed;
    auto before = dp->reason_counters();
    ASSERT_TRUE(before) << before.error();
    auto s = ns->run([&] {
      for (uint32_t i = 0; i < kIdle; ++i) {  // established, a few packets each way, then idle
        Packet p = Packet::tcp("192.168.1.2", static_cast<uint16_t>(30000 + i), kVip, kPort);
        placed.push_back(send(p));
        EXPECT_TRUE(reply(p, placed.back())) << "SYN-ACK of connection " << i;
        p.tcp_flags = kTcpAck | kTcpPsh;
        for (int k = 0; k < 3; ++k) {
          EXPECT_EQ(send(p), placed.back());
          EXPECT_TRUE(reply(p, placed.back()));
        }
        idle.push_back(p);
      }
      for (uint32_t i = 0; i < kFlood; ++i) {  // the flood: new SYNs from many sources, answered
        Packet p = Packet::tcp("198.51.100." + std::to_string(1 + i % 200), static_cast<uint16_t>(1024 + i),
                               kVip, kPort);
        p.src = "192.168.1.2";  // the only client with a route back (a spoofed flood's replies too)
        p.sport = static_cast<uint16_t>(1024 + i);
        reply(p, send(p));
      }
      for (uint32_t i = 0; i < kIdle; ++i) {
        EXPECT_EQ(send(idle[i]), placed[i]) << "idle connection " << i << " changed its backend";
        EXPECT_TRUE(reply(idle[i], placed[i])) << "idle connection " << i << ": reply not put back";
      }
    });
    ASSERT_TRUE(s) << s.error();
    auto after = dp->reason_counters();
    ASSERT_TRUE(after) << after.error();
    auto delta = [&](uint32_t r) { return (*after)[r] - (*before)[r]; };
    EXPECT_EQ(delta(XDPLB_R_FLOW_MIDSTREAM), 0u) << "an idle connection lost both of its entries";
    EXPECT_EQ(delta(XDPLB_R_FLOW_TABLE_FULL), 0u);
    EXPECT_GE(delta(XDPLB_R_FLOW_EVICTED), kFlood - kTable) << "evictions must be counted";
    EXPECT_EQ(delta(XDPLB_R_NEW_FLOW), kIdle + kFlood);
    auto flows = dp->flow_count();
    ASSERT_TRUE(flows) << flows.error();
    EXPECT_LE(*flows, kTable);
  }
}

}  // namespace
}  // namespace xdplb::test
