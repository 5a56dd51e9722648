// neighbor_mac / resolve_neighbor / bridge_port_for_mac in the test host namespace: the
// bridge resolves the MACs of the two peers, and its FDB places them on the right ports.
#include <gtest/gtest.h>

#include <chrono>

#include "net/fdb.h"
#include "net/link.h"
#include "net/neighbor.h"
#include "net/netns.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using namespace std::chrono_literals;
using testing::sh;
using testing::Topology;

class NeighborFdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status built = topo.build();
    ASSERT_TRUE(built.ok()) << built.error();
    auto br = run_in_netns(topo.host.fd().get(), [] { return get_link("xnlbr0"); });
    ASSERT_TRUE(br.ok()) << br.error();
    bridge = *br;
    auto a = run_in_netns(topo.a.fd().get(), [] { return get_link("eth0"); });
    auto b = run_in_netns(topo.b.fd().get(), [] { return get_link("eth0"); });
    ASSERT_TRUE(a.ok() && b.ok());
    mac_a = a->mac;
    mac_b = b->mac;
  }
  template <typename F>
  auto in_host(F&& fn) {
    return run_in_netns(topo.host.fd().get(), std::forward<F>(fn));
  }
  static IpAddress ip(const char* text) { return *IpAddress::parse(text); }

  Topology topo;
  LinkInfo bridge;
  Mac mac_a{}, mac_b{};
};

TEST_F(NeighborFdbTest, NeighborAfterPing) {
  ASSERT_TRUE(sh(topo.host.exec("busybox ping -c 1 -W 2 10.77.0.11")).ok());
  auto mac = in_host([&] { return neighbor_mac(bridge.ifindex, ip("10.77.0.11")); });
  ASSERT_TRUE(mac.ok()) << mac.error();
  EXPECT_EQ(to_string(*mac), to_string(mac_a));
}

TEST_F(NeighborFdbTest, UnknownNeighborIsAnErrorNotAGuess) {
  auto mac = in_host([&] { return neighbor_mac(bridge.ifindex, ip("10.77.0.12")); });
  ASSERT_FALSE(mac.ok());
  EXPECT_NE(mac.error().find("neighbour 10.77.0.12 on xnlbr0"), std::string::npos) << mac.error();
  EXPECT_NE(mac.error().find("unknown"), std::string::npos) << mac.error();
}

TEST_F(NeighborFdbTest, ResolveWithoutTrafficV4AndV6) {
  const auto start = std::chrono::steady_clock::now();
  auto v4 = in_host([&] { return resolve_neighbor(bridge.ifindex, ip("10.77.0.12"), 3s); });
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  std::printf("resolve_neighbor (IPv4, unknown entry) took %lld us\n",
              static_cast<long long>(took.count()));
  ASSERT_TRUE(v4.ok()) << v4.error();
  EXPECT_EQ(to_string(*v4), to_string(mac_b));
  auto v6 = in_host([&] { return resolve_neighbor(bridge.ifindex, ip("fd00:77::11"), 3s); });
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(to_string(*v6), to_string(mac_a));
  // Now known, so the plain lookup agrees.
  auto again = in_host([&] { return neighbor_mac(bridge.ifindex, ip("10.77.0.12")); });
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *v4);
}

TEST_F(NeighborFdbTest, ResolveAbsentHostFailsWithinTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto mac = in_host([&] { return resolve_neighbor(bridge.ifindex, ip("10.77.0.99"), 1500ms); });
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(mac.ok());
  EXPECT_NE(mac.error().find("did not resolve"), std::string::npos) << mac.error();
  EXPECT_LT(took, 2500ms);
}

TEST_F(NeighborFdbTest, FdbPlacesEachPeerOnItsPort) {
  ASSERT_TRUE(sh(topo.host.exec("busybox ping -c 1 -W 2 10.77.0.11")).ok());
  ASSERT_TRUE(sh(topo.host.exec("busybox ping -c 1 -W 2 10.77.0.12")).ok());
  auto v1 = in_host([] { return get_link("xnlv1"); });
  auto v2 = in_host([] { return get_link("xnlv2"); });
  ASSERT_TRUE(v1.ok() && v2.ok());
  auto port_a = in_host([&] { return bridge_port_for_mac(bridge.ifindex, mac_a); });
  auto port_b = in_host([&] { return bridge_port_for_mac(bridge.ifindex, mac_b); });
  ASSERT_TRUE(port_a.ok()) << port_a.error();
  ASSERT_TRUE(port_b.ok()) << port_b.error();
  EXPECT_EQ(*port_a, v1->ifindex);
  EXPECT_EQ(*port_b, v2->ifindex);
}

TEST_F(NeighborFdbTest, FdbWithoutEntrySaysSo) {
  const Mac nobody{0x02, 0x00, 0x00, 0x00, 0x77, 0x01};
  auto port = in_host([&] { return bridge_port_for_mac(bridge.ifindex, nobody); });
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().find("02:00:00:00:77:01"), std::string::npos) << port.error();
}

}  // namespace
}  // namespace xdplb::net
