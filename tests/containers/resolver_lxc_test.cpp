// resolve_container() against real classic-LXC containers made with the local busybox
// template. Run through run_lxc_test.sh: it creates a bridge, an lxcpath and the containers in
// XCT_NAMES with the static addresses in XCT_IPV4S / XCT_IPV6S, and removes all of it again.
#include <gtest/gtest.h>
#include <net/if.h>

#include "containers/lxc_container.h"
#include "containers/resolver.h"
#include "test_support.h"

namespace xdplb {
namespace {

using namespace std::chrono_literals;
using testing::env;
using testing::run;

class LxcResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    bridge_ = env("XCT_BRIDGE");
    lxcpath_ = env("XCT_LXCPATH");
    names_ = testing::words(env("XCT_NAMES"));
    ipv4s_ = testing::words(env("XCT_IPV4S"));
    ipv6s_ = testing::words(env("XCT_IPV6S"));
    if (bridge_.empty() || names_.size() < 2 || ipv4s_.size() != names_.size() ||
        ipv6s_.size() != names_.size())
      GTEST_SKIP() << "run me through run_lxc_test.sh";
  }

  ResolveOptions options(std::chrono::milliseconds wait = 5000ms) const {
    ResolveOptions o;
    o.lxcpath = lxcpath_;
    o.wait = wait;
    return o;
  }

  std::string lxc_cmd(const std::string& tool, const std::string& name) const {
    return tool + " -P " + lxcpath_ + " -n " + name;
  }
  // eth0's peer ifindex as the container itself sees it (its own sysfs).
  std::string eth0_iflink(const std::string& name) const {
    return run(lxc_cmd("lxc-attach", name) + " -- cat /sys/class/net/eth0/iflink").out;
  }

  std::string bridge_, lxcpath_;
  std::vector<std::string> names_, ipv4s_, ipv6s_;
};

TEST_F(LxcResolver, ResolvesEachRunningContainer) {
  const int bridge_ifindex = static_cast<int>(if_nametoindex(bridge_.c_str()));
  ASSERT_GT(bridge_ifindex, 0);
  for (size_t i = 0; i < names_.size(); ++i) {
    const auto& name = names_[i];
    SCOPED_TRACE(name);
    // IPv6 DAD takes a moment after start: wait for both families.
    std::optional<ContainerInfo> info;
    ASSERT_TRUE(testing::eventually(
        [&] {
          auto r = resolve_container(name, options());
          if (r.ok() && !r->ipv4.empty() && !r->ipv6.empty()) info = *r;
          return info.has_value();
        },
        10s));
    EXPECT_EQ(info->source, ContainerSource::Lxc);
    EXPECT_EQ(info->lxcpath, lxcpath_);
    EXPECT_TRUE(info->running);
    EXPECT_EQ(std::to_string(info->init_pid), run(lxc_cmd("lxc-info", name) + " -p -H").out);
    ASSERT_EQ(info->ipv4.size(), 1u);
    EXPECT_EQ(info->ipv4[0].to_string(), ipv4s_[i]);
    ASSERT_EQ(info->ipv6.size(), 1u);
    EXPECT_EQ(info->ipv6[0].to_string(), ipv6s_[i]);

    EXPECT_EQ(std::to_string(info->host_ifindex), eth0_iflink(name));
    auto c = LxcContainer::open(name, lxcpath_);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->running_config_item("lxc.net.0.veth.pair").value_or("(none)"), info->host_veth);
    ASSERT_TRUE(testing::link_exists(info->host_veth));
    EXPECT_EQ(info->host_ifindex, static_cast<int>(if_nametoindex(info->host_veth.c_str())));
    EXPECT_EQ(testing::bridge_of(info->host_veth), bridge_);
    EXPECT_EQ(info->bridge_ifindex, bridge_ifindex);
    EXPECT_EQ(to_string(info->mac),
              run(lxc_cmd("lxc-attach", name) + " -- cat /sys/class/net/eth0/address").out);

    const std::string page = "Served from the " + name + " container!";
    EXPECT_EQ(testing::http_get(ipv4s_[i]), page);
    EXPECT_EQ(testing::http_get("[" + ipv6s_[i] + "]"), page);
  }
}

TEST_F(LxcResolver, SwitchesGroOnInsideTheContainer) {
  auto info = resolve_container(names_.front(), options());
  ASSERT_TRUE(info.ok()) << info.error();
  auto on = enable_container_gro(*info);
  ASSERT_TRUE(on.ok()) << on.error();
  EXPECT_TRUE(*on);
  EXPECT_EQ(testing::container_gro(info->init_pid), "on");
}

TEST_F(LxcResolver, ListsTheContainers) {
  auto list = list_containers(ContainerSource::Lxc, lxcpath_);
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_EQ(list->size(), names_.size());
  for (const auto& c : *list) {
    EXPECT_NE(std::find(names_.begin(), names_.end(), c.name), names_.end()) << c.name;
    EXPECT_EQ(c.source, ContainerSource::Lxc);
  }
}

TEST_F(LxcResolver, UnknownNameSaysWhereItLookedAndWhatIsThere) {
  ResolveOptions o = options(0ms);
  o.source = ContainerSource::Lxc;
  auto info = resolve_container("xctnosuch", o);
  ASSERT_FALSE(info.ok());
  const auto& e = info.error();
  EXPECT_NE(e.find("no container named 'xctnosuch'"), std::string::npos) << e;
  EXPECT_NE(e.find("not in classic LXC at lxcpath " + lxcpath_), std::string::npos) << e;
  for (const auto& name : names_) EXPECT_NE(e.find(name), std::string::npos) << e;
  EXPECT_EQ(e.find("LXD"), std::string::npos) << "--source lxc must not mention LXD: " << e;
}

TEST_F(LxcResolver, SourceLxdDoesNotFindAClassicContainer) {
  ResolveOptions o = options(0ms);
  o.source = ContainerSource::Lxd;
  auto info = resolve_container(names_.front(), o);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().find("LXD"), std::string::npos) << info.error();
  EXPECT_EQ(info.error().find("classic LXC"), std::string::npos) << info.error();
}

TEST_F(LxcResolver, StoppedSaysHowToStartAndRestartGivesTheNewVeth) {
  const auto& name = names_.back();
  auto before = resolve_container(name, options());
  ASSERT_TRUE(before.ok()) << before.error();

  ASSERT_EQ(run(lxc_cmd("lxc-stop", name) + " -t 20").status, 0);
  auto stopped = resolve_container(name, options());
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error(), "container '" + name + "' (lxc) is stopped — start it with " +
                                 "`lxc-start -n " + name + " -P " + lxcpath_ + "`");
  EXPECT_FALSE(testing::link_exists(before->host_veth));

  ASSERT_EQ(run(lxc_cmd("lxc-start", name) + " -d").status, 0);
  auto after = resolve_container(name, options(10000ms));
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_NE(after->host_veth, before->host_veth);
  EXPECT_EQ(std::to_string(after->host_ifindex), eth0_iflink(name));
  EXPECT_EQ(after->mac, before->mac) << "lxc.net.0.hwaddr is fixed at creation";
  EXPECT_TRUE(testing::link_exists(after->host_veth));
  EXPECT_EQ(testing::bridge_of(after->host_veth), bridge_);
  ASSERT_FALSE(after->ipv4.empty());
  EXPECT_EQ(after->ipv4.front(), before->ipv4.front());
  EXPECT_TRUE(testing::eventually(
      [&] {
        return testing::http_get(after->ipv4.front().to_string()) ==
               "Served from the " + name + " container!";
      },
      5s));
}

}  // namespace
}  // namespace xdplb
