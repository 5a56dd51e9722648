// Routed backends (outside the bridge's subnets) through BPF_PROG_TEST_RUN of the XDP program:
// DNAT then the host's FIB, and their replies, which come back on an uplink, reverse-NATed and
// routed to the client. The frames run inside a namespace of this test whose routes and
// neighbours make the FIB lookups deterministic:
//   xdpup0 (MAC 02:00:00:00:01:01, 192.168.1.1/24): where frames arrive (XDP ingress)
//     client 192.168.1.2: permanent neighbour 02:00:00:00:00:c2; 192.168.1.3: none
//     172.16.0.0/24 via router 192.168.1.254 (02:00:00:00:01:fe)  -> out the same uplink (XDP_TX)
//   xdpup2 (MAC 02:00:00:00:02:01, 192.168.2.1/24)
//     172.17.0.0/24 via router 192.168.2.254 (02:00:00:00:02:fe)  -> another device (redirect)
//   xdpbr0 (bridge, 10.1.0.1/24): the bridge whose subnet decides "routed" (plan_forwarding)
//   172.18.0.0/24: no route
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>

#include "cases.h"
#include "frames.h"
#include "lb/forwarding.h"
#include "net/link.h"
#include "packet6.h"
#include "prog_run.h"
#include "scenario.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

const Mac kUp0Mac{0x02, 0, 0, 0, 0x01, 0x01}, kUp2Mac{0x02, 0, 0, 0, 0x02, 0x01};
const Mac kClientMac{0x02, 0, 0, 0, 0, 0xc2};
const Mac kRouter1Mac{0x02, 0, 0, 0, 0x01, 0xfe}, kRouter2Mac{0x02, 0, 0, 0, 0x02, 0xfe};

// One routed backend alone behind each VIP (pool = id), vip:kPort TCP and UDP.
struct RoutedService {
  std::string vip;
  uint32_t id;
  std::string backend;
  bool routed;
};
const RoutedService kSameUplink{"10.0.0.31", 0, "172.16.0.10", true};
const RoutedService kOtherDevice{"10.0.0.32", 1, "172.17.0.10", true};
const RoutedService kNoRoute{"10.0.0.33", 2, "172.18.0.10", true};
const RoutedService kBridged{"10.0.0.34", 3, "10.1.0.11", false};
const RoutedService kRouted6{"fd00::31", 4, "fd00:16::10", true};

class RoutedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = TestNetns::create("rb");
    ASSERT_TRUE(n) << n.error();
    ns = std::move(*n);
    for (const char* cmd : {
             "link add xdpbr0 type bridge",
             "addr add 10.1.0.1/24 dev xdpbr0",
             "link set xdpbr0 up",
             "link add xdpup0 address 02:00:00:00:01:01 type veth peer name xdpup1",
             "addr add 192.168.1.1/24 dev xdpup0",
             "link add xdpup2 address 02:00:00:00:02:01 type veth peer name xdpup3",
             "addr add 192.168.2.1/24 dev xdpup2",
             "link set xdpup0 up",
             "link set xdpup1 up",
             "link set xdpup2 up",
             "link set xdpup3 up",
             "neigh add 192.168.1.2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
             "neigh add 192.168.1.254 lladdr 02:00:00:00:01:fe dev xdpup0 nud permanent",
             "neigh add 192.168.2.254 lladdr 02:00:00:00:02:fe dev xdpup2 nud permanent",
             "route add 172.16.0.0/24 via 192.168.1.254",
             "route add 172.17.0.0/24 via 192.168.2.254",
         }) {
      auto s = ns->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    auto s = ns->sh("nsenter --net=/run/netns/{ns} sysctl -qw net.ipv4.ip_forward=1");
    ASSERT_TRUE(s) << s.error();
    s = ns->run([&] { up0 = static_cast<int>(if_nametoindex("xdpup0")); });
    ASSERT_TRUE(s) << s.error();
    ASSERT_GT(up0, 0);

    auto d = Datapath::load_unattached();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
    for (const auto& svc : {kSameUplink, kOtherDevice, kNoRoute, kBridged}) {
      s = serve_routed(svc);
      ASSERT_TRUE(s) << s.error();
    }
    // What the controller's plan sets while the bridge has a routed backend (lb/plan.cpp).
    s = dp->set_settings(XDPLB_SETTING_ROUTED_REPLIES);
    ASSERT_TRUE(s) << s.error();
  }

  // The backend as plan_forwarding (the controller's path resolution) marks it.
  Status serve_routed(const RoutedService& svc) {
    BackendEntry e;
    e.addr = *IpAddress::parse(svc.backend);
    e.port = 80;
    e.routed = svc.routed;
    XDPLB_TRY(dp->put_backend(svc.id, e));
    XDPLB_TRY(dp->write_ring(svc.id, ring_of({svc.id})));
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
      XDPLB_TRY(dp->put_service({*IpAddress::parse(svc.vip), kPort, proto}, svc.id));
    return {};
  }

  // xdpup0 also gets fd00:1::1/64, client fd00:1::2 (02:..:c2), fd00:16::/64 via router
  // fd00:1::fe (02:..:01:fe); fd00::31 serves one routed backend fd00:16::10:80 (pool 4).
  void add_ipv6() {
    for (const char* cmd : {
             "addr add fd00:1::1/64 dev xdpup0 nodad",
             "neigh add fd00:1::2 lladdr 02:00:00:00:00:c2 dev xdpup0 nud permanent",
             "neigh add fd00:1::fe lladdr 02:00:00:00:01:fe dev xdpup0 nud permanent",
             "route add fd00:16::/64 via fd00:1::fe",
         }) {
      auto s = ns->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    ASSERT_TRUE(ns->sh("nsenter --net=/run/netns/{ns} sysctl -qw net.ipv6.conf.all.forwarding=1"));
    ASSERT_TRUE(serve_routed(kRouted6));
  }

  void run_xdp_cases(const std::vector<Case>& cases) {
    auto s = ns->run([&] { run_cases(*dp, Prog::Xdp, cases, up0); });
    ASSERT_TRUE(s) << s.error();
  }

  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<Datapath> dp;
  int up0 = 0;
};

// p DNATed to svc's backend:80, leaving with these MACs.
Bytes dnat_routed(Packet p, const RoutedService& svc, const Mac& dst, const Mac& src) {
  p.dst = svc.backend;
  p.dport = 80;
  p.eth_dst = dst;
  p.eth_src = src;
  return p.bytes();
}

// svc's backend's reply to client packet p, as it arrives on the uplink from the router.
Packet routed_reply(const Packet& p, const RoutedService& svc) {
  Packet r = p;
  r.src = svc.backend;
  r.sport = 80;
  r.dst = p.src;
  r.dport = p.sport;
  if (p.proto == 6) r.tcp_flags = kTcpSyn | kTcpAck;
  r.eth_src = kRouter1Mac;
  r.eth_dst = kUp0Mac;
  r.payload = {'w', 'o', 'r', 'l', 'd', '!'};
  return r;
}

// The reply as the client gets it: from VIP:kPort, out of xdpup0 to the client's MAC.
Bytes revnat_routed(Packet r, const RoutedService& svc) {
  r.src = svc.vip;
  r.sport = kPort;
  r.eth_dst = kClientMac;
  r.eth_src = kUp0Mac;
  return r.bytes();
}

TEST_F(RoutedTest, RoutedBackendsAreFibRoutedBothWays) {
  const Packet syn = Packet::tcp("192.168.1.2", 40000, kSameUplink.vip, kPort);
  const Packet udp = Packet::udp("192.168.1.2", 50000, kSameUplink.vip, kPort);
  const Packet other = Packet::tcp("192.168.1.2", 40001, kOtherDevice.vip, kPort);
  const Packet no_route = Packet::tcp("192.168.1.2", 40002, kNoRoute.vip, kPort);
  const Packet bridged = Packet::tcp("192.168.1.2", 40003, kBridged.vip, kPort);
  const Packet no_neigh = Packet::tcp("192.168.1.3", 40004, kSameUplink.vip, kPort);
  Packet stranger = routed_reply(syn, kSameUplink);
  stranger.sport = 81;  // from the routed backend, but of no flow of ours
  Packet ack = syn;
  ack.tcp_flags = kTcpAck;

  run_xdp_cases({
    {"SYN to a routed backend behind the uplink's router: DNAT, router's MAC, XDP_TX", {},
     syn.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(syn, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"its SYN-ACK on the uplink: source back to VIP:8000, client's MAC, XDP_TX", {},
     routed_reply(syn, kSameUplink).bytes(), XDP_TX, {XDPLB_R_ROUTED_REPLY},
     revnat_routed(routed_reply(syn, kSameUplink), kSameUplink)},
    {"the client's ACK: known flow, same way", {}, ack.bytes(), XDP_TX, {XDPLB_R_FWD_ROUTED},
     dnat_routed(ack, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"UDP to the routed backend", {}, udp.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(udp, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"UDP reply reverse-NATed", {}, routed_reply(udp, kSameUplink).bytes(), XDP_TX,
     {XDPLB_R_ROUTED_REPLY}, revnat_routed(routed_reply(udp, kSameUplink), kSameUplink)},
    {"routed backend behind another device: redirect there with its MACs", {}, other.bytes(),
     XDP_REDIRECT, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(other, kOtherDevice, kRouter2Mac, kUp2Mac)},
    {"routed backend without a route: DNAT, to the stack", {}, no_route.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_routed(no_route, kNoRoute, syn.eth_dst, syn.eth_src)},
    {"client without a neighbour: its request still goes", {}, no_neigh.bytes(), XDP_TX,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED}, dnat_routed(no_neigh, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"reply to a client without a neighbour: dropped, never leaked untranslated", {},
     routed_reply(no_neigh, kSameUplink).bytes(), XDP_DROP, {XDPLB_R_DROP_ROUTED_REPLY}, std::nullopt},
    {"a bridge backend's flow (pass path)", {}, bridged.bytes(), XDP_PASS,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_PASS}, dnat_routed(bridged, kBridged, syn.eth_dst, syn.eth_src)},
    {"its reply seen on the uplink is not the uplink's to translate", {},
     routed_reply(bridged, kBridged).bytes(), XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
    {"routed backend's packet of no flow: untouched", {}, stranger.bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
  });
}

// Several nodes behind ECMP share the routed backends: a reply may reach a node that has no
// reverse entry for it (another node placed the flow, or that node is gone). The backend's
// endpoint then says what to put back (reply_nats, as the controller's plan writes it), and
// a mid-flow client packet of an unknown flow is placed by the ring, not reset.
TEST_F(RoutedTest, RepliesOfFlowsPlacedElsewhereAreTranslatedWithoutState) {
  const IpAddress backend = *IpAddress::parse(kSameUplink.backend);
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
    auto s = dp->put_reply_nat({backend, 80, proto}, {*IpAddress::parse(kSameUplink.vip), kPort, false});
    ASSERT_TRUE(s) << s.error();
  }
  // kOtherDevice's backend serves two VIP:ports: no single source to put back.
  auto s = dp->put_reply_nat({*IpAddress::parse(kOtherDevice.backend), 80, IPPROTO_TCP},
                             {*IpAddress::parse(kOtherDevice.vip), kPort, true});
  ASSERT_TRUE(s) << s.error();

  Packet elsewhere = Packet::tcp("192.168.1.2", 41000, kSameUplink.vip, kPort);
  elsewhere.tcp_flags = kTcpAck;  // of a connection another node opened
  Packet reply = routed_reply(elsewhere, kSameUplink);
  reply.tcp_flags = kTcpAck;
  const Packet udp = Packet::udp("192.168.1.2", 51000, kSameUplink.vip, kPort);
  const Packet ambiguous = routed_reply(Packet::tcp("192.168.1.2", 41001, kOtherDevice.vip, kPort), kOtherDevice);
  const Packet no_neigh = routed_reply(Packet::tcp("192.168.1.3", 41002, kSameUplink.vip, kPort), kSameUplink);
  Packet stranger = reply;
  stranger.sport = 81;  // an endpoint of the backend that serves nothing
  Packet to_host = reply;  // the host's own connection to the backend (its health check)
  to_host.dst = "192.168.1.1";

  run_xdp_cases({
    {"reply of a flow this node never saw: source back to the endpoint's VIP:8000, XDP_TX", {},
     reply.bytes(), XDP_TX, {XDPLB_R_ROUTED_REPLY_STATELESS}, revnat_routed(reply, kSameUplink)},
    {"UDP reply without an entry: the same", {}, routed_reply(udp, kSameUplink).bytes(), XDP_TX,
     {XDPLB_R_ROUTED_REPLY_STATELESS}, revnat_routed(routed_reply(udp, kSameUplink), kSameUplink)},
    {"endpoint serving several VIP:ports: dropped, never leaked with the backend's address", {},
     ambiguous.bytes(), XDP_DROP, {XDPLB_R_DROP_ROUTED_REPLY}, std::nullopt},
    {"stateless reply to a client without a neighbour: dropped", {}, no_neigh.bytes(), XDP_DROP,
     {XDPLB_R_DROP_ROUTED_REPLY}, std::nullopt},
    {"a port of the backend no service uses: untouched", {}, stranger.bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
    {"the backend answering the host itself: untouched, to the host's own socket", {}, to_host.bytes(),
     XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
    {"mid-flow client packet of that flow: placed by the ring onto the routed backend", {},
     elsewhere.bytes(), XDP_TX, {XDPLB_R_FLOW_MIDSTREAM, XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(elsewhere, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"its next reply now has this node's reverse entry", {}, reply.bytes(), XDP_TX,
     {XDPLB_R_ROUTED_REPLY}, revnat_routed(reply, kSameUplink)},
  });
}

// The routed-reply check runs only while the settings say the bridge has a routed backend:
// without the flag a routed backend's reply (of a live flow) is passed untouched, the reverse
// table not asked; with it, the same frame is translated.
TEST_F(RoutedTest, TheRoutedReplyCheckRunsOnlyWithItsSetting) {
  const Packet syn = Packet::tcp("192.168.1.2", 40010, kSameUplink.vip, kPort);
  const Packet reply = routed_reply(syn, kSameUplink);
  auto settings = [](uint32_t flags) { return [flags](Datapath& d) { return d.set_settings(flags); }; };
  run_xdp_cases({
    {"SYN to a routed backend", {}, syn.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(syn, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"no routed-replies setting: its reply is not looked up, passed untouched", settings(0),
     reply.bytes(), XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
    {"with the setting: the same reply translated", settings(XDPLB_SETTING_ROUTED_REPLIES),
     reply.bytes(), XDP_TX, {XDPLB_R_ROUTED_REPLY}, revnat_routed(reply, kSameUplink)},
  });
}

// IPv6: the same both ways (add_ipv6).
TEST_F(RoutedTest, RoutedBackendsAreFibRoutedBothWaysIpv6) {
  ASSERT_NO_FATAL_FAILURE(add_ipv6());

  Frame6 syn;
  syn.src = "fd00:1::2";
  syn.dst = "fd00::31";
  Frame6 to_backend = syn;
  to_backend.dst = "fd00:16::10";
  to_backend.dport = 80;
  to_backend.eth_dst = kRouter1Mac;
  to_backend.eth_src = kUp0Mac;
  Frame6 reply = syn;
  reply.src = "fd00:16::10";
  reply.sport = 80;
  reply.dst = syn.src;
  reply.dport = syn.sport;
  reply.eth_src = kRouter1Mac;
  reply.eth_dst = kUp0Mac;
  Frame6 to_client = reply;
  to_client.src = "fd00::31";
  to_client.sport = kPort;
  to_client.eth_dst = kClientMac;
  to_client.eth_src = kUp0Mac;

  ASSERT_TRUE(dp->put_reply_nat({*IpAddress::parse("fd00:16::10"), 80, IPPROTO_TCP},
                                {*IpAddress::parse("fd00::31"), kPort, false}));
  Frame6 elsewhere_reply = reply;  // of a flow another node placed
  elsewhere_reply.dport = 41000;
  Frame6 elsewhere_to_client = to_client;
  elsewhere_to_client.dport = 41000;

  run_xdp_cases({
    {"IPv6 SYN to a routed backend: DNAT, router's MAC, XDP_TX", {}, syn.bytes(), XDP_TX,
     {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED}, to_backend.bytes()},
    {"IPv6 reply on the uplink: source back to VIP:8000, client's MAC, XDP_TX", {}, reply.bytes(),
     XDP_TX, {XDPLB_R_ROUTED_REPLY}, to_client.bytes()},
    {"IPv6 reply of a flow this node never saw: by the endpoint's one VIP:8000", {},
     elsewhere_reply.bytes(), XDP_TX, {XDPLB_R_ROUTED_REPLY_STATELESS}, elsewhere_to_client.bytes()},
  });
}

// The quote of the client's frame as an error must bring it back: translated, but with the
// quoted UDP checksum the backend's copy had (lib/icmp.h leaves the quote's L4 checksum).
Bytes quote_back(const Bytes& client_frame, const Bytes& quoted) {
  Bytes q = quote_of(client_frame);
  const bool six = (q[0] >> 4) == 6;
  const size_t l4 = six ? 40 : 20;
  if ((six ? q[6] : q[9]) == IPPROTO_UDP && q.size() >= l4 + 8 && quoted.size() >= l4 + 8)
    q[l4 + 6] = quoted[l4 + 6], q[l4 + 7] = quoted[l4 + 7];
  return q;
}

// An ICMP error from a routed backend (or a router on its side) about a request it got from
// us quotes client -> backend:80 and comes back on the uplink: it must reach the client from
// the VIP, quoting the client's own packet (checksums of the outer header, the quote and the
// ICMP message right: the expected frames compute theirs from scratch), by the FIB. By the
// flow's reverse entry, else by the endpoint's reply_nats entry; an endpoint serving several
// VIP:ports is dropped, never leaked with the backend's address.
TEST_F(RoutedTest, RoutedBackendsIcmpErrorsLeaveFromTheVip) {
  const IpAddress backend = *IpAddress::parse(kSameUplink.backend);
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
    ASSERT_TRUE(dp->put_reply_nat({backend, 80, proto}, {*IpAddress::parse(kSameUplink.vip), kPort, false}));
  ASSERT_TRUE(dp->put_reply_nat({*IpAddress::parse(kOtherDevice.backend), 80, IPPROTO_TCP},
                                {*IpAddress::parse(kOtherDevice.vip), kPort, true}));

  const Packet udp = Packet::udp("192.168.1.2", 50100, kSameUplink.vip, kPort);
  const Packet syn = Packet::tcp("192.168.1.2", 40100, kSameUplink.vip, kPort);
  const Packet no_neigh = Packet::tcp("192.168.1.3", 40101, kSameUplink.vip, kPort);
  // The error from `from` about client packet p as svc's backend got it (at port bport)...
  auto error_about = [](const Packet& p, const RoutedService& svc, const std::string& from, uint8_t code,
                        uint16_t bport = 80) {
    Packet got = p;
    got.dst = svc.backend, got.dport = bport;
    Icmp4Error e;
    e.eth_src = kRouter1Mac, e.eth_dst = kUp0Mac;
    e.src = from, e.dst = p.src, e.code = code, e.rest = code == 4 ? 1400 : 0;
    e.quote = quote_of(got.bytes());
    return e;
  };
  // ...and as the client must get it: from the VIP when the backend sent it (a router keeps
  // its address), quoting p, to the client's MAC.
  auto to_client = [](Icmp4Error e, const Packet& p, const RoutedService& svc) {
    if (e.src == svc.backend) e.src = svc.vip;
    e.eth_dst = kClientMac, e.eth_src = kUp0Mac;
    e.quote = quote_back(p.bytes(), e.quote);
    return e.bytes();
  };
  const Icmp4Error unreach = error_about(udp, kSameUplink, kSameUplink.backend, 3);
  const Icmp4Error too_big = error_about(syn, kSameUplink, "192.168.1.254", 4);
  const Packet elsewhere = Packet::udp("192.168.1.2", 50101, kSameUplink.vip, kPort);
  const Icmp4Error stateless = error_about(elsewhere, kSameUplink, kSameUplink.backend, 3);
  const Packet shared = Packet::tcp("192.168.1.2", 40102, kOtherDevice.vip, kPort);
  auto settings = [](uint32_t flags) { return [flags](Datapath& d) { return d.set_settings(flags); }; };

  run_xdp_cases({
    {"UDP to the routed backend", {}, udp.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(udp, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"SYN to the routed backend", {}, syn.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(syn, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"SYN from a client without a neighbour", {}, no_neigh.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     dnat_routed(no_neigh, kSameUplink, kRouter1Mac, kUp0Mac)},
    {"backend's port unreachable about the datagram: from the VIP, quoting the client's, XDP_TX", {},
     unreach.bytes(), XDP_TX, {XDPLB_R_ICMP_FROM_ROUTED}, to_client(unreach, udp, kSameUplink),
     XDPLB_TRACE_XDP_ICMP},
    {"its router's fragmentation needed about the SYN: quote translated, router's address kept", {},
     too_big.bytes(), XDP_TX, {XDPLB_R_ICMP_FROM_ROUTED}, to_client(too_big, syn, kSameUplink)},
    {"error about a flow this node never saw: by the endpoint's one VIP:8000", {}, stateless.bytes(), XDP_TX,
     {XDPLB_R_ICMP_FROM_ROUTED_STATELESS}, to_client(stateless, elsewhere, kSameUplink), XDPLB_TRACE_XDP_ICMP},
    {"error from an endpoint serving several VIP:ports: dropped", {},
     error_about(shared, kOtherDevice, kOtherDevice.backend, 3).bytes(), XDP_DROP, {XDPLB_R_DROP_ICMP_ROUTED},
     std::nullopt, XDPLB_TRACE_XDP_ICMP},
    {"error to a client without a neighbour: dropped", {},
     error_about(no_neigh, kSameUplink, kSameUplink.backend, 3).bytes(), XDP_DROP, {XDPLB_R_DROP_ICMP_ROUTED},
     std::nullopt},
    {"error about a port of the backend no service uses: untouched", {},
     error_about(syn, kSameUplink, kSameUplink.backend, 3, 81).bytes(), XDP_PASS, {XDPLB_R_PASS_NOT_SERVICE},
     std::nullopt},
    {"without the routed-replies setting: untouched", settings(0), unreach.bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
  });
}

TEST_F(RoutedTest, RoutedBackendsIcmpErrorsLeaveFromTheVipIpv6) {
  ASSERT_NO_FATAL_FAILURE(add_ipv6());
  const IpAddress backend = *IpAddress::parse(kRouted6.backend), vip = *IpAddress::parse(kRouted6.vip);
  ASSERT_TRUE(dp->put_reply_nat({backend, 80, IPPROTO_UDP}, {vip, kPort, false}));
  ASSERT_TRUE(dp->put_reply_nat({backend, 80, IPPROTO_TCP}, {vip, kPort, true}));
  auto request = [](uint8_t next, uint16_t sport) {
    Frame6 f;
    f.src = "fd00:1::2", f.dst = kRouted6.vip, f.next = next, f.sport = sport;
    return f;
  };
  auto at_backend = [](Frame6 f, uint16_t bport = 80) {
    f.dst = kRouted6.backend, f.dport = bport;
    return f;
  };
  auto error_about = [&](const Frame6& f, const std::string& from, uint16_t bport = 80) {
    Icmp6Error e;
    e.eth_src = kRouter1Mac, e.eth_dst = kUp0Mac;
    e.src = from, e.dst = f.src, e.type = 1, e.code = 4, e.rest = 0;
    e.quote = quote_of(at_backend(f, bport).bytes());
    return e;
  };
  auto to_client = [](Icmp6Error e, const Frame6& f) {
    if (e.src == kRouted6.backend) e.src = kRouted6.vip;
    e.eth_dst = kClientMac, e.eth_src = kUp0Mac;
    e.quote = quote_back(f.bytes(), e.quote);
    return e.bytes();
  };
  const Frame6 udp = request(IPPROTO_UDP, 50200), syn = request(IPPROTO_TCP, 40200);
  const Frame6 elsewhere = request(IPPROTO_UDP, 50201);
  Frame6 udp_out = at_backend(udp), syn_out = at_backend(syn);
  udp_out.eth_dst = syn_out.eth_dst = kRouter1Mac;
  udp_out.eth_src = syn_out.eth_src = kUp0Mac;
  const Icmp6Error unreach = error_about(udp, kRouted6.backend);
  Icmp6Error too_big = error_about(syn, "fd00:1::fe");
  too_big.type = 2, too_big.code = 0, too_big.rest = 1280;
  const Icmp6Error stateless = error_about(elsewhere, kRouted6.backend);

  run_xdp_cases({
    {"IPv6 UDP to the routed backend", {}, udp.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     udp_out.bytes()},
    {"IPv6 SYN to the routed backend", {}, syn.bytes(), XDP_TX, {XDPLB_R_NEW_FLOW, XDPLB_R_FWD_ROUTED},
     syn_out.bytes()},
    {"IPv6 port unreachable from the backend: from the VIP, quoting the client's", {}, unreach.bytes(),
     XDP_TX, {XDPLB_R_ICMP_FROM_ROUTED}, to_client(unreach, udp), XDPLB_TRACE_XDP_ICMP},
    {"IPv6 packet too big from its router: quote translated, router's address kept", {}, too_big.bytes(),
     XDP_TX, {XDPLB_R_ICMP_FROM_ROUTED}, to_client(too_big, syn)},
    {"IPv6 error about a flow this node never saw: by the endpoint's one VIP:8000", {}, stateless.bytes(),
     XDP_TX, {XDPLB_R_ICMP_FROM_ROUTED_STATELESS}, to_client(stateless, elsewhere)},
    {"IPv6 error from an endpoint serving several VIP:ports: dropped", {},
     error_about(request(IPPROTO_TCP, 40201), kRouted6.backend).bytes(), XDP_DROP, {XDPLB_R_DROP_ICMP_ROUTED},
     std::nullopt},
    {"IPv6 error about a port no service uses: untouched", {},
     error_about(request(IPPROTO_UDP, 50202), kRouted6.backend, 81).bytes(), XDP_PASS,
     {XDPLB_R_PASS_NOT_SERVICE}, std::nullopt},
  });
}

// The controller's path resolution: an address outside every subnet of the bridge is routed
// (no neighbour resolution on the bridge); one inside is not.
TEST_F(RoutedTest, AddressesOutsideTheBridgeSubnetsAreRouted) {
  auto s = ns->run([&] {
    auto bridge = net::get_link("xdpbr0");
    ASSERT_TRUE(bridge) << bridge.error();
    ForwardingRequest outside;
    outside.addr = *IpAddress::parse("172.16.0.10");
    outside.port = 80;
    const ForwardingPlan routed = plan_forwarding(*bridge, outside);
    EXPECT_TRUE(routed.entry.routed) << routed.reason;
    EXPECT_FALSE(routed.entry.fast_path);
    EXPECT_NE(routed.reason.find("routed"), std::string::npos) << routed.reason;

    ForwardingRequest inside = outside;
    inside.addr = *IpAddress::parse("10.1.0.50");
    inside.fast_path_disabled = true;  // no 2 s wait for a neighbour that is not there
    EXPECT_FALSE(plan_forwarding(*bridge, inside).entry.routed);
  });
  ASSERT_TRUE(s) << s.error();
}

}  // namespace
}  // namespace xdplb::test
