// link_addresses / all_local_addresses / default_route_interfaces inside test namespaces
// (never the root namespace's routes).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "net/address.h"
#include "net/link.h"
#include "net/netns.h"
#include "net/route.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using testing::sh;
using testing::Topology;

class AddressRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status built = topo.build();
    ASSERT_TRUE(built.ok()) << built.error();
  }
  Topology topo;
};

std::vector<std::string> as_text(const std::vector<InterfaceAddress>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs)
    out.push_back(a.address.to_string() + "/" + std::to_string(a.prefix_len));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(AddressRouteTest, BridgeAddressesByFamily) {
  auto result =
      run_in_netns(topo.host.fd().get(), [&]() -> Result<std::vector<std::vector<std::string>>> {
        auto br = get_link("xnlbr0");
        if (!br) return make_error(br.error());
        std::vector<std::vector<std::string>> out;
        for (int family : {AF_INET, AF_INET6, AF_UNSPEC}) {
          auto addrs = link_addresses(br->ifindex, family);
          if (!addrs) return make_error(addrs.error());
          for (const auto& a : *addrs)
            if (a.ifindex != br->ifindex)
              return make_error("address of another interface returned");
          out.push_back(as_text(*addrs));
        }
        return out;
      });
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ((*result)[0], (std::vector<std::string>{"10.77.0.1/24"}));
  // Only global scope: the fe80:: link-local address is left out.
  EXPECT_EQ((*result)[1], (std::vector<std::string>{"fd00:77::1/64"}));
  EXPECT_EQ((*result)[2], (std::vector<std::string>{"10.77.0.1/24", "fd00:77::1/64"}));
}

TEST_F(AddressRouteTest, AllLocalAddressesOfNamespace) {
  auto addrs = run_in_netns(topo.a.fd().get(), [] { return all_local_addresses(); });
  ASSERT_TRUE(addrs.ok()) << addrs.error();
  // 127.0.0.1 and ::1 are host scope, so only eth0's addresses remain.
  EXPECT_EQ(as_text(*addrs), (std::vector<std::string>{"10.77.0.11/24", "fd00:77::11/64"}));
}

TEST_F(AddressRouteTest, DefaultRouteInterfacesV4AndV6) {
  // a: IPv4 default only. b: IPv6 default only, plus a second interface with an IPv4 one.
  ASSERT_TRUE(sh("ip -n " + topo.a.name() + " route add default via 10.77.0.1").ok());
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " -6 route add default via fd00:77::1").ok());
  // (No dummy driver in this kernel: a veth pair inside b stands in for a second uplink.)
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " link add xnldum0 type veth peer name xnldum1").ok());
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " link set xnldum0 up").ok());
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " link set xnldum1 up").ok());
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " addr add 192.0.2.2/24 dev xnldum0").ok());
  ASSERT_TRUE(sh("ip -n " + topo.b.name() + " route add default via 192.0.2.1").ok());
  // A default route in another table is not the main table's: ignored.
  ASSERT_TRUE(sh("ip -n " + topo.host.name() + " route add default dev xnlbr0 table 100").ok());

  auto in_a = run_in_netns(topo.a.fd().get(), [] { return default_route_interfaces(); });
  auto in_b = run_in_netns(topo.b.fd().get(), [] { return default_route_interfaces(); });
  auto in_host = run_in_netns(topo.host.fd().get(), [] { return default_route_interfaces(); });
  ASSERT_TRUE(in_a.ok()) << in_a.error();
  ASSERT_TRUE(in_b.ok()) << in_b.error();
  ASSERT_TRUE(in_host.ok()) << in_host.error();
  EXPECT_EQ(*in_a, (std::vector<std::string>{"eth0"}));
  EXPECT_EQ(*in_b, (std::vector<std::string>{"eth0", "xnldum0"}));
  EXPECT_TRUE(in_host->empty()) << "only table 100 has a default route there";
}

TEST_F(AddressRouteTest, MultipathDefaultRouteListsEveryNexthop) {
  const std::string b = "ip -n " + topo.b.name() + " ";
  ASSERT_TRUE(sh(b + "link add xnldum0 type veth peer name xnldum1").ok());
  ASSERT_TRUE(sh(b + "link set xnldum0 up").ok());
  ASSERT_TRUE(sh(b + "link set xnldum1 up").ok());
  ASSERT_TRUE(sh(b + "addr add 192.0.2.2/24 dev xnldum0").ok());
  ASSERT_TRUE(
      sh(b + "route add default nexthop via 10.77.0.1 dev eth0 nexthop via 192.0.2.1 dev xnldum0")
          .ok());
  auto in_b = run_in_netns(topo.b.fd().get(), [] { return default_route_interfaces(); });
  ASSERT_TRUE(in_b.ok()) << in_b.error();
  EXPECT_EQ(*in_b, (std::vector<std::string>{"eth0", "xnldum0"}));
}

}  // namespace
}  // namespace xdplb::net
