// Hairpin with real traffic over a real bridge, IPv4 and IPv6, in namespaces of this test only:
//
//   container ns  xdpct0 10.92.50.50 fd92:50::50 ──veth── xdpch0 ┐
//   backend ns    xdpbe0 10.92.50.11 fd92:50::11 ──veth── xdpbh0 ┴ xdpbr0 (host ns, tcx ingress)
//                                                                  10.92.50.1 fd92:50::1
//   (host ns also has an idle veth xdpup0 as the uplink `attach` requires)
//
// The container dials the bridge address :8000 (the service) and must reach the backend's
// :80 with its own sockets: TCP with a 4 MB download (GSO, checksum offload of the veths left
// as they are) and a UDP echo. The backend sees the bridge address and a port from the hairpin
// range. Neighbour discovery and ARP between the namespaces cross the TC program for real.
// Pins under /sys/fs/bpf/v6d-hp<pid>, removed with the fixture (AttachedBridge).
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "attached.h"
#include "scenario.h"
#include "sockets.h"
#include "test_netns.h"

namespace xdplb::test {
namespace {

constexpr uint16_t kBackendPort = 80;
constexpr size_t kDownload = 4 << 20;

struct Family {
  const char* name;
  int af;
  std::string bridge, backend;
  uint32_t id, pool;
};
const Family kV4{"IPv4", AF_INET, "10.92.50.1", "10.92.50.11", 0, 0};
const Family kV6{"IPv6", AF_INET6, "fd92:50::1", "fd92:50::11", 1, 1};

uint8_t pattern(size_t i) { return static_cast<uint8_t>(i * 7 + (i >> 10)); }

class HairpinLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&host, &container, &backend}) {
      auto n = TestNetns::create(slot == &host ? "v6dph" : slot == &container ? "v6dpc" : "v6dpb");
      ASSERT_TRUE(n) << n.error();
      *slot = std::move(*n);
    }
    const std::string c = container->name(), b = backend->name();
    for (const std::string& cmd : {std::string("link add xdpbr0 type bridge"),
                                   "link add xdpch0 type veth peer name xdpct0 netns " + c,
                                   "link add xdpbh0 type veth peer name xdpbe0 netns " + b,
                                   std::string("link set xdpch0 master xdpbr0"),
                                   std::string("link set xdpbh0 master xdpbr0"),
                                   std::string("addr add 10.92.50.1/24 dev xdpbr0"),
                                   std::string("addr add fd92:50::1/64 dev xdpbr0 nodad"),
                                   std::string("link set xdpbr0 up"), std::string("link set xdpch0 up"),
                                   std::string("link set xdpbh0 up"),
                                   std::string("link add xdpup0 type veth peer name xdpup1"),
                                   std::string("link set xdpup0 up"), std::string("link set xdpup1 up")}) {
      auto s = host->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    auto s = container->ip_all({"addr add 10.92.50.50/24 dev xdpct0", "addr add fd92:50::50/64 dev xdpct0 nodad",
                                "link set xdpct0 up"});
    ASSERT_TRUE(s) << s.error();
    s = backend->ip_all({"addr add 10.92.50.11/24 dev xdpbe0", "addr add fd92:50::11/64 dev xdpbe0 nodad",
                         "link set xdpbe0 up"});
    ASSERT_TRUE(s) << s.error();
    for (const char* sysctl : {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                               "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0"}) {
      s = host->sh(std::string("nsenter --net=/run/netns/{ns} sysctl -qw ") + sysctl);
      ASSERT_TRUE(s) << s.error();
    }

    auto att = AttachedBridge::create(*host, "v6d-hp", "xdpbr0", "xdpup0");
    ASSERT_TRUE(att) << att.error();
    attached = std::move(*att);
    // One backend per family in its own pool, the bridge addresses :8000 TCP + UDP on it.
    for (const Family* f : {&kV4, &kV6})
      ASSERT_TRUE(serve(attached->dp(), f->bridge, f->pool, f->id, f->backend, kBackendPort));
  }

  // A socket created inside ns (its namespace for life), usable from any thread.
  UniqueFd socket_in(const TestNetns& ns, const std::function<UniqueFd()>& make) {
    UniqueFd fd;
    auto s = ns.run([&] { fd = make(); });
    EXPECT_TRUE(s) << s.error();
    return fd;
  }

  std::unique_ptr<TestNetns> host, container, backend;
  std::unique_ptr<AttachedBridge> attached;  // after the namespaces: detached before they go
};

TEST_F(HairpinLiveTest, TcpDownloadFromTheBridgeAddress) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    UniqueFd listener = socket_in(*backend, [&] { return bound(f->af, SOCK_STREAM, f->backend, kBackendPort); });
    ASSERT_TRUE(listener.valid());
    std::string seen_peer;
    size_t sent = 0;
    std::thread server([&] {
      if (!readable(listener.get(), 10000)) return;
      SockAddr peer;
      UniqueFd conn(::accept4(listener.get(), peer.get(), &peer.len, SOCK_CLOEXEC));
      if (!conn.valid()) return;
      seen_peer = text(peer);
      std::vector<uint8_t> data(kDownload);
      for (size_t i = 0; i < data.size(); ++i) data[i] = pattern(i);
      while (sent < data.size()) {
        ssize_t n = ::send(conn.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    });

    UniqueFd c = socket_in(*container, [&] { return UniqueFd(::socket(f->af, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
    const timeval tv{10, 0};  // bounds every recv below
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int err = connect_errno(c.get(), sock_addr(f->af, f->bridge, kPort));
    size_t got = 0;
    bool intact = true;
    if (err == 0) {
      std::vector<uint8_t> buf(1 << 16);
      for (ssize_t n; (n = ::recv(c.get(), buf.data(), buf.size(), 0)) > 0;) {
        for (ssize_t i = 0; i < n; ++i) intact = intact && buf[i] == pattern(got + i);
        got += static_cast<size_t>(n);
      }
    }
    c.reset();
    server.join();
    ASSERT_EQ(err, 0) << "connect to the bridge address :8000 from the container failed";
    EXPECT_EQ(got, kDownload) << "download cut short (sent " << sent << ")";
    EXPECT_TRUE(intact) << "downloaded bytes differ from what the backend sent";
    // The backend sees the bridge address and a port from the hairpin range.
    const auto space = seen_peer.find(' ');
    ASSERT_NE(space, std::string::npos) << "backend saw no connection";
    EXPECT_EQ(seen_peer.substr(0, space), f->bridge) << "backend must see the bridge address";
    const int port = std::stoi(seen_peer.substr(space + 1));
    EXPECT_GE(port, XDPLB_HAIRPIN_PORT_MIN);
    EXPECT_LE(port, XDPLB_HAIRPIN_PORT_MAX);
  }
}

TEST_F(HairpinLiveTest, UdpEchoFromTheBridgeAddress) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    UniqueFd server = socket_in(*backend, [&] { return bound(f->af, SOCK_DGRAM, f->backend, kBackendPort); });
    UniqueFd c = socket_in(*container, [&] { return UniqueFd(::socket(f->af, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
    ASSERT_TRUE(server.valid() && c.valid());
    const SockAddr vip = sock_addr(f->af, f->bridge, kPort);
    // The first datagram may wait for neighbour resolution; a few tries, each bounded.
    bool arrived = false;
    for (int i = 0; i < 3 && !arrived; ++i) {
      ASSERT_EQ(::sendto(c.get(), "ping", 4, 0, vip.get(), vip.len), 4);
      arrived = readable(server.get());
    }
    ASSERT_TRUE(arrived) << "the backend got no datagram";
    char buf[8] = {};
    SockAddr from;
    ASSERT_EQ(::recvfrom(server.get(), buf, sizeof buf, 0, from.get(), &from.len), 4);
    EXPECT_EQ(text(from).substr(0, f->bridge.size() + 1), f->bridge + " ") << "backend must see the bridge address";
    ASSERT_EQ(::sendto(server.get(), "pong", 4, 0, from.get(), from.len), 4);
    ASSERT_TRUE(readable(c.get())) << "the echo did not come back";
    SockAddr src;
    ASSERT_EQ(::recvfrom(c.get(), buf, sizeof buf, 0, src.get(), &src.len), 4);
    EXPECT_EQ(std::string(buf, 4), "pong");
    EXPECT_EQ(text(src), text(vip)) << "the echo must come from the address dialled";
  }
}

}  // namespace
}  // namespace xdplb::test
