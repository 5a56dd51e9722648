// Path MTU and fragments with real traffic, in namespaces of this test only (pass path):
//
//   client ns  iccl0 10.77.1.2 fd77:1::2 ──(client MTU)── icrt0 10.77.1.1 fd77:1::1   router ns
//                                                          icrt1 192.168.77.2 fd77:2::2
//   host ns    icup0 192.168.77.1 fd77:2::1 (uplink, XDP) ──(uplink MTU)──┘
//              icbr0 10.77.0.1 fd77::1 (bridge, TC) ── icbh0 ── icbe0 10.77.0.11 fd77::11  backend ns
//                                                   ── icch0 ── icct0 10.77.0.50 fd77::50  container ns
//
// Services: the uplink and the bridge addresses :8000 (TCP, UDP) -> the backend's :80.
//   - A 1400-byte hop between router and client, the client advertising a 1460-byte MSS: the
//     backend sends 1500-byte segments, the router answers the VIP with "fragmentation
//     needed" / "packet too big", and only if xdplb hands that to the backend does the 10 MB
//     download finish (and the backend's route cache learn mtu 1400).
//   - Uplink MTU 1400: a UDP answer of 1500 bytes does not fit; it must not vanish.
//   - 3000-byte UDP requests and answers (fragments both ways), external and hairpin.
// Clients use connected sockets: an answer counts only if it comes from the address dialled.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>
#include <tuple>

#include "attached.h"
#include "core/reasons.h"
#include "scenario.h"
#include "sockets.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

constexpr uint16_t kBackendPort = 80;
constexpr size_t kDownload = 10 << 20;

struct Family {
  const char* name;
  int af;
  std::string uplink, bridge, backend, client, container;
};
const Family kV4{"IPv4", AF_INET, "192.168.77.1", "10.77.0.1", "10.77.0.11", "10.77.1.2", "10.77.0.50"};
const Family kV6{"IPv6", AF_INET6, "fd77:2::1", "fd77::1", "fd77::11", "fd77:1::2", "fd77::50"};

uint8_t pattern(size_t i) { return static_cast<uint8_t>(i * 13 + (i >> 12)); }

std::string output_of(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

class PmtuLiveTest : public ::testing::Test {
 protected:
  // client_mtu: the router-client link; uplink_mtu: the router-host link.
  void build(int client_mtu, int uplink_mtu, bool advertise_1500) {
    for (auto* slot : {&host, &router, &client, &backend, &container}) {
      const char* tag = slot == &host ? "icph" : slot == &router ? "icpr" : slot == &client ? "icpc"
                      : slot == &backend ? "icpb" : "icpk";
      auto n = TestNetns::create(tag);
      ASSERT_TRUE(n) << n.error();
      *slot = std::move(*n);
    }
    const std::string r = router->name(), c = client->name(), b = backend->name(), k = container->name();
    const std::string um = std::to_string(uplink_mtu), cm = std::to_string(client_mtu);
    for (const std::string& cmd : {
             "link add icup0 mtu " + um + " type veth peer name icrt1 mtu " + um + " netns " + r,
             std::string("link add icbr0 type bridge"),
             "link add icbh0 type veth peer name icbe0 netns " + b,
             "link add icch0 type veth peer name icct0 netns " + k,
             std::string("link set icbh0 master icbr0"), std::string("link set icch0 master icbr0"),
             std::string("addr add 192.168.77.1/24 dev icup0"), std::string("addr add fd77:2::1/64 dev icup0 nodad"),
             std::string("addr add 10.77.0.1/24 dev icbr0"), std::string("addr add fd77::1/64 dev icbr0 nodad"),
             std::string("link set icup0 up"), std::string("link set icbr0 up"), std::string("link set icbh0 up"),
             std::string("link set icch0 up"), std::string("route add 10.77.1.0/24 via 192.168.77.2"),
             std::string("route add fd77:1::/64 via fd77:2::2")}) {
      auto s = host->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    for (const std::string& cmd : {"link add icrt0 mtu " + cm + " type veth peer name iccl0 mtu " + cm + " netns " + c,
                                   std::string("addr add 192.168.77.2/24 dev icrt1"),
                                   std::string("addr add fd77:2::2/64 dev icrt1 nodad"),
                                   std::string("addr add 10.77.1.1/24 dev icrt0"),
                                   std::string("addr add fd77:1::1/64 dev icrt0 nodad"),
                                   std::string("link set icrt0 up"), std::string("link set icrt1 up")}) {
      auto s = router->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    const std::string adv4 = advertise_1500 ? " advmss 1460" : "", adv6 = advertise_1500 ? " advmss 1440" : "";
    for (const std::string& cmd : {std::string("addr add 10.77.1.2/24 dev iccl0"),
                                   std::string("addr add fd77:1::2/64 dev iccl0 nodad"), std::string("link set iccl0 up"),
                                   "route add default via 10.77.1.1" + adv4, "route add default via fd77:1::1" + adv6}) {
      auto s = client->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    for (const auto& [ns, dev, v4, v6] : {std::tuple{&backend, "icbe0", "10.77.0.11/24", "fd77::11/64"},
                                          std::tuple{&container, "icct0", "10.77.0.50/24", "fd77::50/64"}}) {
      for (const std::string& cmd : {std::string("addr add ") + v4 + " dev " + dev,
                                     std::string("addr add ") + v6 + " dev " + dev + " nodad",
                                     std::string("link set ") + dev + " up", std::string("route add default via 10.77.0.1"),
                                     std::string("route add default via fd77::1")}) {
        auto s = (*ns)->ip(cmd);
        ASSERT_TRUE(s) << s.error();
      }
    }
    for (auto* ns : {&host, &router})
      for (const char* sysctl : {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}) {
        auto s = (*ns)->sh(std::string("nsenter --net=/run/netns/{ns} sysctl -qw ") + sysctl);
        ASSERT_TRUE(s) << s.error();
      }
    for (const char* sysctl : {"net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0"}) {
      auto s = host->sh(std::string("nsenter --net=/run/netns/{ns} sysctl -qw ") + sysctl);
      ASSERT_TRUE(s) << s.error();
    }
    // Wire-like checksums from the clients (see the checksum pitfall of veth senders).
    ASSERT_TRUE(client->sh("ip netns exec {ns} ethtool -K iccl0 tx off >/dev/null"));
    ASSERT_TRUE(container->sh("ip netns exec {ns} ethtool -K icct0 tx off >/dev/null"));

    auto att = AttachedBridge::create(*host, "icpm", "icbr0", "icup0");
    ASSERT_TRUE(att) << att.error();
    attached = std::move(*att);
    for (uint32_t id : {0u, 1u}) {
      const Family& f = id ? kV6 : kV4;
      ASSERT_TRUE(serve(attached->dp(), f.uplink, id, id, f.backend, kBackendPort));
      ASSERT_TRUE(serve(attached->dp(), f.bridge, id, id, f.backend, kBackendPort));
    }
    // Small datagrams first, so every neighbour on the way is resolved before anything is
    // measured (IPv6 neighbour discovery in fresh namespaces can hold packets for seconds).
    for (const Family* f : {&kV4, &kV6}) {
      udp_exchange(*f, *client, f->uplink, 10, 10, 3);
      udp_exchange(*f, *container, f->bridge, 10, 10, 3);
    }
  }

  UniqueFd socket_in(const TestNetns& ns, const std::function<UniqueFd()>& make) {
    UniqueFd fd;
    auto s = ns.run([&] { fd = make(); });
    EXPECT_TRUE(s) << s.error();
    return fd;
  }

  // Does the backend's route cache hold mtu 1400 towards the client?
  bool backend_learned_1400(const Family& f) {
    const std::string out = output_of("ip -n " + backend->name() + (f.af == AF_INET6 ? " -6" : "") +
                                      " route get " + f.client);
    return out.find("mtu 1400") != std::string::npos;
  }

  uint64_t reason(uint32_t r) {
    auto c = attached->dp().reason_counters();
    EXPECT_TRUE(c) << c.error();
    return c ? (*c)[r] : 0;
  }

  // One 10 MB download from VIP:8000 through xdplb; true if every byte arrived intact.
  bool download(const Family& f) {
    UniqueFd listener = socket_in(*backend, [&] { return bound(f.af, SOCK_STREAM, f.backend, kBackendPort); });
    if (!listener.valid()) return false;
    std::thread server([&] {
      if (!readable(listener.get(), 10000)) return;
      UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) return;
      const timeval tv{20, 0};
      ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      std::vector<uint8_t> data(kDownload);
      for (size_t i = 0; i < data.size(); ++i) data[i] = pattern(i);
      for (size_t sent = 0; sent < data.size();) {
        ssize_t n = ::send(conn.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    });
    UniqueFd c = socket_in(*client, [&] { return UniqueFd(::socket(f.af, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
    const timeval tv{5, 0};  // a stall of 5 s ends the download
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    bool intact = true;
    if (connect_errno(c.get(), sock_addr(f.af, f.uplink, kPort)) == 0) {
      std::vector<uint8_t> buf(1 << 16);
      for (ssize_t n; got < kDownload && (n = ::recv(c.get(), buf.data(), buf.size(), 0)) > 0;) {
        for (ssize_t i = 0; i < n; ++i) intact = intact && buf[i] == pattern(got + i);
        got += static_cast<size_t>(n);
      }
    }
    c.reset();
    server.join();
    return intact && got == kDownload;
  }

  // n UDP requests of req_len bytes from `from` (a connected socket to vip:8000); the backend
  // answers each with ans_len bytes. Returns how many answers of ans_len came back from the VIP.
  int udp_exchange(const Family& f, TestNetns& from, const std::string& vip, size_t req_len, size_t ans_len, int n) {
    UniqueFd server = socket_in(*backend, [&] { return bound(f.af, SOCK_DGRAM, f.backend, kBackendPort); });
    UniqueFd c = socket_in(from, [&] { return UniqueFd(::socket(f.af, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
    if (!server.valid() || !c.valid() || connect_errno(c.get(), sock_addr(f.af, vip, kPort)) != 0) return -1;
    std::atomic<bool> done{false};
    std::thread responder([&] {
      std::vector<uint8_t> buf(65536), answer(ans_len, 'a');
      for (int i = 0; i < 10 * n && !done; ++i) {  // bounded: the client takes <= n seconds
        if (!readable(server.get(), 200)) continue;
        SockAddr peer;
        if (::recvfrom(server.get(), buf.data(), buf.size(), 0, peer.get(), &peer.len) != static_cast<ssize_t>(req_len))
          continue;
        ::sendto(server.get(), answer.data(), answer.size(), 0, peer.get(), peer.len);
      }
    });
    const std::vector<uint8_t> request(req_len, 'q');
    std::vector<uint8_t> buf(65536);
    int answered = 0;
    for (int i = 0; i < n; ++i) {
      if (::send(c.get(), request.data(), request.size(), 0) != static_cast<ssize_t>(req_len)) continue;
      if (readable(c.get(), 1000) && ::recv(c.get(), buf.data(), buf.size(), 0) == static_cast<ssize_t>(ans_len))
        ++answered;
      // a late answer of the previous round would be counted for this one: drain it
      while (readable(c.get(), 0)) (void)::recv(c.get(), buf.data(), buf.size(), 0);
    }
    done = true;
    responder.join();
    return answered;
  }

  std::unique_ptr<TestNetns> host, router, client, backend, container;
  std::unique_ptr<AttachedBridge> attached;  // after the namespaces: detached before they go
};

TEST_F(PmtuLiveTest, DownloadsBehindASmallerHopCompleteAndTheBackendLearnsTheMtu) {
  build(1400, 1500, true);
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    const int n = 3;
    int intact = 0;
    for (int i = 0; i < n; ++i) intact += download(*f) ? 1 : 0;
    std::printf("[ figures  ] %s: 10 MB downloads behind a 1400-byte hop intact: %d of %d\n", f->name, intact, n);
    EXPECT_EQ(intact, n) << "downloads intact";
    EXPECT_TRUE(backend_learned_1400(*f)) << "the backend's route cache has no mtu 1400 towards the client";
  }
  EXPECT_GT(reason(XDPLB_R_ICMP_TO_BACKEND), 0u);
}

TEST_F(PmtuLiveTest, UdpAnswersBiggerThanTheUplinkMtuAreNotLostSilently) {
  build(1500, 1400, false);
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    const uint64_t before = reason(XDPLB_R_TC_PASS_FRAG_NEEDED);
    const int n = 10;
    // 1500-byte IP packets: 1472 bytes of UDP payload over IPv4, 1452 over IPv6.
    const int got = udp_exchange(*f, *client, f->uplink, 100, f->af == AF_INET ? 1472 : 1452, n);
    std::printf("[ figures  ] %s: 1500-byte UDP answers over a 1400-byte uplink answered: %d of %d\n", f->name, got, n);
    EXPECT_GE(got, n - 1) << "only the answer that taught the backend the MTU may be lost";
    EXPECT_GT(reason(XDPLB_R_TC_PASS_FRAG_NEEDED), before) << "the too-big answer was not counted";
    EXPECT_TRUE(backend_learned_1400(*f)) << "the backend was not told the uplink's MTU";
  }
}

TEST_F(PmtuLiveTest, ThreeKilobyteUdpRequestsAndAnswersExternalAndHairpin) {
  build(1500, 1500, false);
  for (const Family* f : {&kV4, &kV6}) {
    for (bool hairpin : {false, true}) {
      const std::string what = std::string(f->name) + (hairpin ? " hairpin" : " external");
      SCOPED_TRACE(what);
      const int n = 10;
      int got = 0;
      auto counted = reasons_during(attached->dp(), [&] {
        got = udp_exchange(*f, hairpin ? *container : *client, hairpin ? f->bridge : f->uplink, 3000, 3000, n);
      });
      ASSERT_TRUE(counted) << counted.error();
      if (got != n)
        for (uint32_t r = 0; r < XDPLB_R_MAX; ++r)
          if ((*counted)[r]) std::printf("  %s: %lu\n", reason_info(r).name, static_cast<unsigned long>((*counted)[r]));
      std::printf("[ figures  ] %s: 3000-byte UDP requests with 3000-byte answers answered: %d of %d\n", what.c_str(),
                  got, n);
      EXPECT_EQ(got, n);
    }
  }
  EXPECT_GT(reason(XDPLB_R_FRAG_FIRST), 0u);
  EXPECT_GT(reason(XDPLB_R_FRAG_LATER), 0u);
}

}  // namespace
}  // namespace xdplb::test
