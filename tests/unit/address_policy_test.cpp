// Which addresses belong to the bridge and the host: the uplink guard's prefixes and the check
// of a container's self-reported address, with the messages pinned.
#include "core/address_policy.h"

#include <gtest/gtest.h>

namespace xdplb {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const std::vector<IpPrefix> kBridge{IpPrefix::of(ip("10.0.3.1"), 24), IpPrefix::of(ip("fd42::1"), 64)};
const std::vector<IpAddress> kHost{ip("10.0.3.1"), ip("fd42::1"), ip("192.168.1.1"), ip("2001:db8::1")};

TEST(IpPrefix, ClearsHostBitsAndContains) {
  const auto p = IpPrefix::of(ip("10.0.3.77"), 24);
  EXPECT_EQ(p.to_string(), "10.0.3.0/24");
  EXPECT_TRUE(p.contains(ip("10.0.3.255")));
  EXPECT_FALSE(p.contains(ip("10.0.4.1")));
  EXPECT_FALSE(p.contains(ip("::ffff:10.0.3.1"))) << "another family never matches";
  EXPECT_EQ(IpPrefix::of(ip("fd42::1:2:3:4"), 64).to_string(), "fd42::/64");
  EXPECT_EQ(IpPrefix::of(ip("10.1.2.3"), 20).to_string(), "10.1.0.0/20");
  EXPECT_EQ(IpPrefix::of(ip("10.1.2.3"), 99).to_string(), "10.1.2.3/32") << "clamped";
  EXPECT_EQ(IpPrefix::host(ip("fd42::9")).to_string(), "fd42::9/128");
  EXPECT_TRUE(IpPrefix::of(ip("1.2.3.4"), 0).contains(ip("200.1.1.1")));
}

TEST(UplinkSpoofedSources, BridgeSubnetsHostAddressesAndLoopback) {
  std::vector<std::string> got;
  for (const auto& p : uplink_spoofed_sources(kBridge, kHost)) got.push_back(p.to_string());
  const std::vector<std::string> want{"10.0.3.0/24", "10.0.3.1/32", "127.0.0.0/8", "192.168.1.1/32",
                                      "::1/128",     "2001:db8::1/128", "fd42::/64", "fd42::1/128"};
  EXPECT_EQ(got, want);
}

TEST(UplinkSpoofedSources, LoopbackEvenWithoutAddresses) {
  std::vector<std::string> got;
  for (const auto& p : uplink_spoofed_sources({}, {})) got.push_back(p.to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
}

// Why check_container_address refuses web3's addr on lxdbr0 ("" if it accepts it).
std::string refusal(const char* addr, const std::vector<IpPrefix>& bridge = kBridge) {
  auto s = check_container_address("web3", ip(addr), "lxdbr0", bridge, kHost);
  EXPECT_FALSE(s) << addr << " accepted";
  return s ? "" : s.error();
}

TEST(ContainerAddress, InsideTheBridgeSubnetIsAccepted) {
  EXPECT_TRUE(check_container_address("web1", ip("10.0.3.11"), "lxdbr0", kBridge, kHost));
  EXPECT_TRUE(check_container_address("web1", ip("fd42::11"), "lxdbr0", kBridge, kHost));
}

TEST(ContainerAddress, TheBridgeAddressIsRefused) {
  EXPECT_EQ(refusal("10.0.3.1"),
            "container 'web3' reports 10.0.3.1, an address of this host: refusing it as a backend "
            "address (traffic for it would stay on the host); give the container an address of its "
            "own in lxdbr0's subnet");
}

TEST(ContainerAddress, AnotherHostAddressIsRefused) {
  EXPECT_NE(refusal("192.168.1.1"), "");
  EXPECT_NE(refusal("2001:db8::1"), "");
}

TEST(ContainerAddress, OutsideTheSubnetIsRefused) {
  EXPECT_EQ(refusal("10.9.9.9"),
            "container 'web3' reports 10.9.9.9, outside lxdbr0's subnet 10.0.3.0/24: refusing it as a "
            "backend address; give the container an address in 10.0.3.0/24 (or add it by address)");
  const std::string v6 = refusal("fd43::5", {kBridge[0]});
  EXPECT_NE(v6.find("(the bridge has no IPv6 subnet)"), std::string::npos) << v6;
}

TEST(ContainerAddress, AcceptableAddressesKeepOrderAndSkipClaims) {
  auto ok = acceptable_container_addresses("web3", {ip("10.0.3.1"), ip("10.0.3.12"), ip("10.0.3.13")},
                                           "lxdbr0", kBridge, kHost);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(*ok, (std::vector<IpAddress>{ip("10.0.3.12"), ip("10.0.3.13")}));
  auto none = acceptable_container_addresses("web3", {ip("10.0.3.1"), ip("10.5.0.1")}, "lxdbr0", kBridge, kHost);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("10.0.3.1, an address of this host"), std::string::npos) << none.error();
  auto empty = acceptable_container_addresses("web3", {}, "lxdbr0", kBridge, kHost);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace xdplb
