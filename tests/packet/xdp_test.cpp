// The XDP program (client side) through BPF_PROG_TEST_RUN, as tables of packet cases.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include "cases.h"
#include "core/address_policy.h"
#include "datapath/datapath.h"
#include "prog_run.h"
#include "scenario.h"

namespace xdplb::test {
namespace {

class XdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = load_scenario();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
  }
  std::unique_ptr<Datapath> dp;
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
};

Bytes cut(Bytes b, size_t n) {
  b.resize(n);
  return b;
}

TEST_F(XdpTest, NonServiceTrafficPassesUntouched) {
  Packet ip_options = Packet::tcp("192.168.1.2", 40000, "10.9.9.9", kPort);
  ip_options.ip_options = {1, 1, 1, 0};  // NOP NOP NOP EOL
  run_cases(*dp, Prog::Xdp, {
    {"ARP", {}, arp_frame(), XDP_PASS, {XDPLB_R_PASS_NOT_IP}, {}},
    {"IPv6 TCP to port 8000 (not balanced yet)", {}, ipv6_tcp_frame(kPort), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, {}},
    {"TCP to the VIP, other port", {}, Packet::tcp("192.168.1.2", 40000, kVip, 22).bytes(),
     XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, {}},
    {"TCP to another address, service port", {},
     Packet::tcp("192.168.1.2", 40000, "10.9.9.9", kPort).bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, {}},
    {"UDP to another address, service port", {},
     Packet::udp("192.168.1.2", 40000, "10.9.9.9", kPort).bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, {}},
    {"ICMP to the VIP", {}, [] { Packet p; p.proto = 1; p.dst = kVip; return p.bytes(); }(),
     XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, {}},
    {"IP options, not a service", {}, ip_options.bytes(), XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, {}},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows) << flows.error();
  EXPECT_EQ(*flows, 0u) << "non-service packets must not create flows";
}

TEST_F(XdpTest, FlowsArePlacedByTheRingAndKeepTheirBackend) {
  const Packet to_b0 = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB0.id);
  const Packet to_b1 = with_sport_for(ring, Packet::tcp("192.168.1.2", 41000, kVip, kPort), kB1.id);
  const Packet mid_b2 =
      with_sport_for(ring, Packet::tcp("192.168.1.3", 42000, kVip, kPort, kTcpAck), kB2.id);
  Packet b0_ack = to_b0, b1_ack = to_b1;
  b0_ack.tcp_flags = b1_ack.tcp_flags = kTcpAck;
  b0_ack.ack_seq = b1_ack.ack_seq = 777;
  const auto all_b2 = ring_of({kB2.id});
  const Packet new_after = with_sport_for(all_b2, Packet::tcp("192.168.1.4", 43000, kVip, kPort), kB2.id);

  run_cases(*dp, Prog::Xdp, {
    {"new SYN, ring says the fast-path backend: DNAT + MACs + devmap redirect", {},
     to_b0.bytes(), XDP_REDIRECT, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_REDIRECT}, dnat_expected(to_b0, kB0)},
    {"new SYN, ring says a pass-path backend: DNAT + XDP_PASS", {}, to_b1.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(to_b1, kB1)},
    {"mid-flow ACK of an unknown flow: placed by the ring, not dropped", {}, mid_b2.bytes(),
     XDP_PASS, {XDPLB_R_FLOW_MIDSTREAM, XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS},
     dnat_expected(mid_b2, kB2)},
    {"known flow keeps backend 0 after the ring moves everything to backend 2",
     [&](Datapath& d) { return d.write_ring(kPool, all_b2); }, b0_ack.bytes(), XDP_REDIRECT,
     {XDPLB_R_FWD_REDIRECT}, dnat_expected(b0_ack, kB0)},
    {"known flow keeps backend 1 after the ring change", {}, b1_ack.bytes(), XDP_PASS,
     {XDPLB_R_FWD_PASS}, dnat_expected(b1_ack, kB1)},
    {"a new flow after the ring change goes where the new ring says", {}, new_after.bytes(),
     XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(new_after, kB2)},
  });

  auto flows = dp->flow_count();
  ASSERT_TRUE(flows) << flows.error();
  EXPECT_EQ(*flows, 4u);
  auto c0 = dp->backend_counters(kB0.id);
  ASSERT_TRUE(c0) << c0.error();
  EXPECT_EQ(c0->packets, 2u);
  EXPECT_EQ(c0->new_flows, 1u);
  EXPECT_EQ(c0->bytes, to_b0.bytes().size() + b0_ack.bytes().size());
}

TEST_F(XdpTest, InactiveBackendsFlowsAreReplaced) {
  const Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;
  run_cases(*dp, Prog::Xdp, {
    {"flow placed on backend 1", {}, syn.bytes(), XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS},
     dnat_expected(syn, kB1)},
    {"backend 1 goes inactive (ring rebuilt without it): the flow moves to the ring's choice",
     [](Datapath& d) -> Status {
       XDPLB_TRY(put_backend(d, kB1, /*active=*/false));
       return d.write_ring(kPool, ring_of({kB2.id}));
     },
     ack.bytes(), XDP_PASS, {XDPLB_R_FLOW_RESELECTED, XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS},
     dnat_expected(ack, kB2)},
    {"and stays there", {}, ack.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS}, dnat_expected(ack, kB2)},
    {"deleted backend 2 and an empty ring: no backend, dropped",
     [](Datapath& d) -> Status {
       XDPLB_TRY(d.delete_backend(kB2.id));
       return d.write_ring(kPool, ring_of({}));
     },
     ack.bytes(), XDP_DROP, {XDPLB_R_FLOW_RESELECTED, XDPLB_R_DROP_NO_BACKEND}, {}},
  });
  auto c2 = dp->backend_counters(kB2.id);
  ASSERT_TRUE(c2) << c2.error();
  EXPECT_EQ(c2->packets, 0u) << "delete_backend zeroes the counters";
}

TEST_F(XdpTest, UdpWithAndWithoutChecksum) {
  const Packet with = with_sport_for(ring, Packet::udp("192.168.1.2", 50000, kVip, kPort), kB1.id);
  const Packet without =
      with_sport_for(ring, Packet::udp("192.168.1.2", 51000, kVip, kPort, false), kB2.id);
  const Packet fast = with_sport_for(ring, Packet::udp("192.168.1.2", 52000, kVip, kPort), kB0.id);
  Bytes want_without = dnat_expected(without, kB2);
  run_cases(*dp, Prog::Xdp, {
    {"UDP with checksum: DNAT, checksum updated", {}, with.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(with, kB1)},
    {"UDP without checksum: DNAT, checksum stays 0", {}, without.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, want_without},
    {"UDP to the fast-path backend: redirect", {}, fast.bytes(), XDP_REDIRECT,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_REDIRECT}, dnat_expected(fast, kB0)},
  });
  auto p = parse(want_without);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->l4_check, 0) << "the builder must have left the checksum out";
}

TEST_F(XdpTest, ServiceWithoutBackendsDrops) {
  const Packet tcp = Packet::tcp("192.168.1.2", 40000, kVipNoBackend, kPort);
  const Packet udp = Packet::udp("192.168.1.2", 40000, kVipNoBackend, kPort);
  run_cases(*dp, Prog::Xdp, {
    {"TCP SYN to a service whose ring is empty", {}, tcp.bytes(), XDP_DROP, {XDPLB_R_DROP_NO_BACKEND}, {}},
    {"UDP to a service whose ring is empty", {}, udp.bytes(), XDP_DROP, {XDPLB_R_DROP_NO_BACKEND}, {}},
    {"ring points at an inactive backend", [](Datapath& d) { return put_backend(d, kB1, false); },
     with_sport_for(ring, Packet::tcp("192.168.1.2", 41000, kVip, kPort), kB1.id).bytes(), XDP_DROP,
     {XDPLB_R_DROP_NO_BACKEND}, {}},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows);
  EXPECT_EQ(*flows, 0u);
}

TEST_F(XdpTest, MalformedPacketsHaveDefinedOutcomes) {
  const Bytes syn = Packet::tcp("192.168.1.2", 40000, kVip, kPort).bytes();
  const Bytes udp = Packet::udp("192.168.1.2", 40000, kVip, kPort).bytes();
  Bytes bad_ihl = syn;
  bad_ihl[14] = 0x44;  // ihl 4 < 5
  Bytes v6_in_v4 = syn;
  v6_in_v4[14] = 0x65;  // IPv4 ethertype, version 6 (found by the datapath fuzzer)
  Bytes short_tot = syn;
  short_tot[16] = 0, short_tot[17] = 30;  // tot_len: IP header + 10 bytes of TCP
  Packet mf = Packet::tcp("192.168.1.2", 40000, kVip, kPort + 1);
  mf.frag = 0x2000;
  Packet off = Packet::udp("192.168.1.2", 40000, kVip, kPort);
  off.frag = 0x0010;
  Packet opts = Packet::tcp("192.168.1.2", 40000, kVip, kPort);
  opts.ip_options = {1, 1, 1, 0};
  // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, so the shortest
  // "truncated Ethernet" frame we can send is the header alone.
  run_cases(*dp, Prog::Xdp, {
    {"Ethernet header only", {}, cut(syn, 14), XDP_PASS, {XDPLB_R_PASS_TRUNCATED}, {}},
    {"IPv4 header cut", {}, cut(syn, 14 + 12), XDP_PASS, {XDPLB_R_PASS_TRUNCATED}, {}},
    {"IPv4 ihl below 5", {}, bad_ihl, XDP_PASS, {XDPLB_R_PASS_TRUNCATED}, {}},
    {"IPv4 ethertype, IP version 6", {}, v6_in_v4, XDP_PASS, {XDPLB_R_PASS_NOT_IP}, {}},
    // A cut L4 header leaves the frame shorter than the IP length it claims.
    {"TCP header cut", {}, cut(syn, 14 + 20 + 10), XDP_PASS, {XDPLB_R_PASS_SHORT_FRAME}, {}},
    {"UDP header cut", {}, cut(udp, 14 + 20 + 6), XDP_PASS, {XDPLB_R_PASS_SHORT_FRAME}, {}},
    {"tot_len too small for the TCP header", {}, short_tot, XDP_PASS, {XDPLB_R_PASS_TRUNCATED}, {}},
    // A service's fragments are balanced (icmp_frag_test.cpp); these are not a service's.
    {"first fragment (MF) to the VIP, no service port", {}, mf.bytes(), XDP_PASS, {XDPLB_R_PASS_FRAGMENT}, {}},
    {"later fragment (offset) of an unknown datagram", {}, off.bytes(), XDP_PASS, {XDPLB_R_PASS_FRAGMENT}, {}},
    {"IPv4 options on a service packet", {}, opts.bytes(), XDP_DROP, {XDPLB_R_DROP_IP_OPTIONS}, {}},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows);
  EXPECT_EQ(*flows, 0u);
}

// Lengths in the headers are checked against the frame before any rewrite: a frame shorter
// than its IP length is passed untouched (and counted), never DNATed; L4 lengths that do not
// fit the IP length count as truncated; Ethernet padding after a short IP packet is fine.
TEST_F(XdpTest, LengthsAreCheckedAgainstTheFrame) {
  Packet syn = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  syn.payload = {};
  const Bytes udp_b = Packet::udp("192.168.1.2", 50000, kVip, kPort).bytes(), syn_b = syn.bytes();
  ASSERT_EQ(syn_b.size(), 54u);
  Packet small = with_sport_for(ring, Packet::tcp("192.168.1.2", 45000, kVip, kPort), kB1.id);
  small.payload = {};
  Bytes padded = small.bytes(), padded_want = dnat_expected(small, kB1);
  padded.resize(60), padded_want.resize(60);  // Ethernet minimum frame, zero padding
  run_cases(*dp, Prog::Xdp, {
    {"SYN with IP tot_len 1000 in a 54-byte frame", {}, with_ip_length(syn_b, 1000), XDP_PASS,
     {XDPLB_R_PASS_SHORT_FRAME}, {}},
    {"UDP with tot_len one byte past the frame", {}, with_ip_length(udp_b, udp_b.size() - 14 + 1),
     XDP_PASS, {XDPLB_R_PASS_SHORT_FRAME}, {}},
    {"UDP length past the IP payload", {}, with_l4_u16(udp_b, 20, 4, 8 + 5 + 1), XDP_PASS,
     {XDPLB_R_PASS_TRUNCATED}, {}},
    {"UDP length below the UDP header", {}, with_l4_u16(udp_b, 20, 4, 7), XDP_PASS,
     {XDPLB_R_PASS_TRUNCATED}, {}},
    {"TCP data offset past the IP payload", {}, with_tcp_doff(syn_b, 20, 6), XDP_PASS,
     {XDPLB_R_PASS_TRUNCATED}, {}},
    {"TCP data offset below the TCP header", {}, with_tcp_doff(syn_b, 20, 4), XDP_PASS,
     {XDPLB_R_PASS_TRUNCATED}, {}},
    {"SYN in a frame padded to 60 bytes: DNATed, padding kept", {}, padded, XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, padded_want},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows);
  EXPECT_EQ(*flows, 1u) << "only the padded SYN makes a flow";
}

// Sources an uplink never sees (the bridge's subnet, the host's addresses, loopback) open no
// flow: a spoofed SYN from the bridge address and a hairpin SNAT port would otherwise create a
// reverse entry that captures that hairpin flow's replies.
TEST_F(XdpTest, SpoofedSourcesOnTheUplinkAreDropped) {
  const auto guard = uplink_spoofed_sources({IpPrefix::of(*IpAddress::parse("10.1.0.1"), 24)},
                                            {*IpAddress::parse("10.1.0.1"), *IpAddress::parse("192.168.1.1")});
  ASSERT_TRUE(dp->set_uplink_guard(guard));
  const Packet good = with_sport_for(ring, Packet::tcp("192.168.1.2", 40000, kVip, kPort), kB1.id);
  Packet good_ack = good;
  good_ack.tcp_flags = kTcpAck;
  run_cases(*dp, Prog::Xdp, {
    {"SYN from the bridge address with a hairpin SNAT port", {},
     Packet::tcp("10.1.0.1", XDPLB_HAIRPIN_PORT_MIN, kVip, kPort).bytes(), XDP_DROP, {XDPLB_R_DROP_SPOOFED}, {}},
    {"SYN from a container address (bridge subnet)", {}, Packet::tcp("10.1.0.50", 40000, kVip, kPort).bytes(),
     XDP_DROP, {XDPLB_R_DROP_SPOOFED}, {}},
    {"mid-flow ACK from the bridge subnet", {}, Packet::tcp("10.1.0.99", 40000, kVip, kPort, kTcpAck).bytes(),
     XDP_DROP, {XDPLB_R_DROP_SPOOFED}, {}},
    {"UDP from the host's uplink address", {}, Packet::udp("192.168.1.1", 40000, kVip, kPort).bytes(),
     XDP_DROP, {XDPLB_R_DROP_SPOOFED}, {}},
    {"SYN from loopback", {}, Packet::tcp("127.0.0.1", 40000, kVip, kPort).bytes(), XDP_DROP,
     {XDPLB_R_DROP_SPOOFED}, {}},
    {"SYN from 127.1.2.3", {}, Packet::tcp("127.1.2.3", 40000, kVip, kPort).bytes(), XDP_DROP,
     {XDPLB_R_DROP_SPOOFED}, {}},
    {"a client next to the host's address is served", {}, good.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(good, kB1)},
    {"and its known flow too", {}, good_ack.bytes(), XDP_PASS, {XDPLB_R_FWD_PASS}, dnat_expected(good_ack, kB1)},
    {"a spoofed source to a non-service port is not ours: passed", {},
     Packet::tcp("10.1.0.50", 40000, kVip, 22).bytes(), XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, {}},
  });
  auto flows = dp->flow_count();
  ASSERT_TRUE(flows);
  EXPECT_EQ(*flows, 1u) << "spoofed sources must not create flows (nor reverse entries)";
  auto read = dp->uplink_guard();
  ASSERT_TRUE(read) << read.error();
  EXPECT_EQ(read->size(), guard.size());
  ASSERT_TRUE(dp->set_uplink_guard({}));
  read = dp->uplink_guard();
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->empty()) << "set_uplink_guard replaces the whole guard";
  const Packet now_ok = with_sport_for(ring, Packet::tcp("10.1.0.50", 41000, kVip, kPort), kB2.id);
  run_cases(*dp, Prog::Xdp, {{"with the guard emptied the same source is served", {}, now_ok.bytes(),
                              XDP_PASS, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_expected(now_ok, kB2)}});
}

TEST_F(XdpTest, RingSpreadsFlowsOverBackends) {
  // The same hash as the program; a sanity check that placement is not degenerate.
  std::array<int, 3> hits{};
  for (uint16_t port = 1000; port < 4000; ++port)
    hits[ring_choice(ring, Packet::tcp("192.168.1.2", port, kVip, kPort))]++;
  for (int h : hits) EXPECT_GT(h, 800) << "3000 flows over 3 backends";
}

}  // namespace
}  // namespace xdplb::test
