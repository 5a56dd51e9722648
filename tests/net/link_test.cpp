// get_link / list_links against a bridge with two veth ports, all inside test namespaces.
#include "net/link.h"

#include <gtest/gtest.h>

#include "net/netns.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using testing::Topology;

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status built = topo.build();
    ASSERT_TRUE(built.ok()) << built.error();
  }
  Result<LinkInfo> host_link(const std::string& name) {
    return run_in_netns(topo.host.fd().get(), [&] { return get_link(name); });
  }
  Topology topo;
};

TEST_F(LinkTest, BridgeAndPortsHaveKindMasterAndPeer) {
  auto br = host_link("xnlbr0");
  ASSERT_TRUE(br.ok()) << br.error();
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(br->master, 0);
  EXPECT_TRUE(br->up);
  EXPECT_EQ(br->link_netnsid, -1) << "a bridge has no peer namespace";
  EXPECT_EQ(br->mtu, 1500u);
  EXPECT_FALSE(is_zero(br->mac));

  auto v1 = host_link("xnlv1");
  ASSERT_TRUE(v1.ok()) << v1.error();
  EXPECT_EQ(v1->kind, "veth");
  EXPECT_EQ(v1->master, br->ifindex) << "xnlv1 should be a port of xnlbr0";
  EXPECT_TRUE(v1->up);
  EXPECT_GE(v1->link_netnsid, 0) << "the peer lives in another namespace";

  // The peer index is the eth0 of namespace a, as numbered there.
  auto eth0 = run_in_netns(topo.a.fd().get(), [] { return get_link("eth0"); });
  ASSERT_TRUE(eth0.ok()) << eth0.error();
  EXPECT_EQ(v1->peer_ifindex, eth0->ifindex);
  EXPECT_EQ(eth0->kind, "veth");
  EXPECT_EQ(eth0->peer_ifindex, v1->ifindex);
}

TEST_F(LinkTest, MacMatchesIpLink) {
  auto v1 = host_link("xnlv1");
  ASSERT_TRUE(v1.ok()) << v1.error();
  const std::string from_ip = testing::sh_output(
      "ip -n " + topo.host.name() + " -o link show xnlv1 | grep -o 'link/ether [0-9a-f:]*'");
  EXPECT_EQ("link/ether " + to_string(v1->mac), from_ip);
}

TEST_F(LinkTest, LookupByIndexGivesSameLink) {
  auto by_name = host_link("xnlv2");
  ASSERT_TRUE(by_name.ok()) << by_name.error();
  auto by_index = run_in_netns(topo.host.fd().get(), [&] { return get_link(by_name->ifindex); });
  ASSERT_TRUE(by_index.ok()) << by_index.error();
  EXPECT_EQ(by_index->name, "xnlv2");
  EXPECT_EQ(by_index->mac, by_name->mac);
}

TEST_F(LinkTest, ListHasExactlyTheNamespaceLinks) {
  auto links = run_in_netns(topo.host.fd().get(), [] { return list_links(); });
  ASSERT_TRUE(links.ok()) << links.error();
  std::vector<std::string> names;
  for (const auto& l : *links) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"lo", "xnlbr0", "xnlv1", "xnlv2"}));
}

TEST_F(LinkTest, UnknownNameSaysSo) {
  auto missing = host_link("xnlnope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "no interface named 'xnlnope' — see `ip link`");
  auto bad_index = run_in_netns(topo.host.fd().get(), [] { return get_link(99999); });
  ASSERT_FALSE(bad_index.ok());
  EXPECT_NE(bad_index.error().find("no interface with ifindex 99999"), std::string::npos)
      << bad_index.error();
  EXPECT_FALSE(get_link("name-that-is-far-too-long").ok());
}

TEST_F(LinkTest, DownLinkIsReportedDown) {
  ASSERT_TRUE(testing::sh("ip -n " + topo.host.name() + " link set xnlv2 down").ok());
  auto v2 = host_link("xnlv2");
  ASSERT_TRUE(v2.ok()) << v2.error();
  EXPECT_FALSE(v2->up);
  EXPECT_FALSE(v2->lower_up);
}

}  // namespace
}  // namespace xdplb::net
