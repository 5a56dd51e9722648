// NetlinkMonitor sees real link and address changes made in its namespace.
#include "net/monitor.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

#include "net/netns.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using namespace std::chrono_literals;
using testing::sh;
using testing::Topology;

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status built = topo.build();
    ASSERT_TRUE(built.ok()) << built.error();
    auto m = run_in_netns(topo.host.fd().get(), [] { return NetlinkMonitor::open(); });
    ASSERT_TRUE(m.ok()) << m.error();
    monitor.emplace(std::move(*m));
  }

  // Poll until `match` accepts an event or 3 s pass.
  bool wait_for(const std::function<bool(const NetEvent&)>& match) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < deadline) {
      pollfd p{monitor->fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const Status st = monitor->read_events([&](const NetEvent& e) { found = found || match(e); });
      EXPECT_TRUE(st.ok()) << st.error();
    }
    return found;
  }

  Topology topo;
  std::optional<NetlinkMonitor> monitor;
};

TEST_F(MonitorTest, LinkDownAndUp) {
  const std::string h = "ip -n " + topo.host.name() + " ";
  auto link_state = [](bool up) {
    return [up](const NetEvent& e) {
      const auto* l = std::get_if<LinkEvent>(&e);
      return l && !l->removed && l->link.name == "xnlv2" && l->link.up == up &&
             l->link.kind == "veth";
    };
  };
  ASSERT_TRUE(sh(h + "link set xnlv2 down").ok());
  EXPECT_TRUE(wait_for(link_state(false))) << "no RTM_NEWLINK for xnlv2 going down";
  ASSERT_TRUE(sh(h + "link set xnlv2 up").ok());
  EXPECT_TRUE(wait_for(link_state(true))) << "no RTM_NEWLINK for xnlv2 coming up";
}

TEST_F(MonitorTest, LinkRemoved) {
  ASSERT_TRUE(sh("ip -n " + topo.host.name() + " link del xnlv2").ok());
  EXPECT_TRUE(wait_for([](const NetEvent& e) {
    const auto* l = std::get_if<LinkEvent>(&e);
    return l && l->removed && l->link.name == "xnlv2";
  }));
}

TEST_F(MonitorTest, AddressAddedAndRemoved) {
  const std::string h = "ip -n " + topo.host.name() + " ";
  auto address_event = [](bool removed) {
    return [removed](const NetEvent& e) {
      const auto* a = std::get_if<AddressEvent>(&e);
      return a && a->removed == removed && a->address.address.to_string() == "10.77.1.1" &&
             a->address.prefix_len == 24;
    };
  };
  ASSERT_TRUE(sh(h + "addr add 10.77.1.1/24 dev xnlbr0").ok());
  EXPECT_TRUE(wait_for(address_event(false)));
  ASSERT_TRUE(sh(h + "addr del 10.77.1.1/24 dev xnlbr0").ok());
  EXPECT_TRUE(wait_for(address_event(true)));
}

TEST_F(MonitorTest, NeighborLearned) {
  ASSERT_TRUE(sh(topo.host.exec("busybox ping -c 1 -W 2 10.77.0.12")).ok());
  EXPECT_TRUE(wait_for([](const NetEvent& e) {
    const auto* n = std::get_if<NeighborEvent>(&e);
    return n && n->neighbor.address.to_string() == "10.77.0.12" && n->neighbor.has_mac;
  }));
}

}  // namespace
}  // namespace xdplb::net
