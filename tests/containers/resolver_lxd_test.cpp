// resolve_container() against real LXD containers. Run through run_lxd_test.sh, which brings
// up LXD (reusing a running one), a bridge, the busybox image and the instances named in
// XCT_NAMES, plus a stopped classic-LXC twin of the first one, and removes all of it afterwards.
#include <gtest/gtest.h>
#include <net/if.h>

#include "containers/resolver.h"
#include "test_support.h"

namespace xdplb {
namespace {

using namespace std::chrono_literals;
using testing::env;
using testing::run;

class LxdResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    bridge_ = env("XCT_BRIDGE");
    names_ = testing::words(env("XCT_NAMES"));
    net4_ = env("XCT_NET4");
    net6_ = env("XCT_NET6");
    empty_lxcpath_ = env("XCT_EMPTY_LXCPATH");
    twin_lxcpath_ = env("XCT_TWIN_LXCPATH");
    if (bridge_.empty() || names_.size() < 2) GTEST_SKIP() << "run me through run_lxd_test.sh";
  }

  // Only LXD's containers: classic LXC is looked for in an empty directory.
  ResolveOptions options(std::chrono::milliseconds wait = 5000ms) const {
    ResolveOptions o;
    o.lxcpath = empty_lxcpath_;
    o.wait = wait;
    return o;
  }

  std::string lxc_config(const std::string& name, const std::string& key) const {
    return run("lxc config get " + name + " " + key).out;
  }

  std::string bridge_, net4_, net6_, empty_lxcpath_, twin_lxcpath_;
  std::vector<std::string> names_;
};

TEST_F(LxdResolver, ResolvesEachRunningInstance) {
  const int bridge_ifindex = static_cast<int>(if_nametoindex(bridge_.c_str()));
  ASSERT_GT(bridge_ifindex, 0);
  for (const auto& name : names_) {
    SCOPED_TRACE(name);
    auto info = resolve_container(name, options());
    ASSERT_TRUE(info.ok()) << info.error();
    EXPECT_EQ(info->name, name);
    EXPECT_EQ(info->source, ContainerSource::Lxd);
    EXPECT_TRUE(info->running);
    EXPECT_GT(info->init_pid, 0);
    EXPECT_EQ(std::to_string(info->init_pid),
              run("lxc info " + name + " | awk '/^PID:/ {print $2}'").out);

    ASSERT_FALSE(info->ipv4.empty());
    for (const auto& ip : info->ipv4) {
      EXPECT_TRUE(ip.is_v4());
      EXPECT_EQ(ip.to_string().rfind(net4_, 0), 0u) << ip.to_string() << " outside " << net4_;
    }
    EXPECT_EQ(info->ipv4.front().to_string(),
              run("lxc list " + name + " -c 4 --format csv | awk '{print $1}'").out);

    // The host side: the veth LXD recorded, a port of our bridge, with the right ifindex.
    EXPECT_EQ(info->host_veth, lxc_config(name, "volatile.eth0.host_name"));
    ASSERT_TRUE(testing::link_exists(info->host_veth));
    EXPECT_EQ(info->host_ifindex, static_cast<int>(if_nametoindex(info->host_veth.c_str())));
    EXPECT_EQ(testing::bridge_of(info->host_veth), bridge_);
    EXPECT_EQ(info->bridge_ifindex, bridge_ifindex);
    EXPECT_EQ(to_string(info->mac), lxc_config(name, "volatile.eth0.hwaddr"));
    EXPECT_GT(info->container_ifindex, 0);

    EXPECT_EQ(testing::http_get(info->ipv4.front().to_string()),
              "Served from the " + name + " container!");
  }
}

TEST_F(LxdResolver, PicksUpTheGlobalIpv6AddressFromRouterAdvertisements) {
  const auto& name = names_.front();
  std::optional<ContainerInfo> info;
  ASSERT_TRUE(testing::eventually(
      [&] {
        auto r = resolve_container(name, options());
        if (r.ok() && !r->ipv6.empty()) info = *r;
        return info.has_value();
      },
      15s))
      << name << " has no global IPv6 address after 15 s";
  for (const auto& ip : info->ipv6) {
    EXPECT_TRUE(ip.is_v6());
    EXPECT_EQ(ip.to_string().rfind(net6_, 0), 0u) << ip.to_string() << " outside " << net6_;
  }
  // Not one attempt: LXD's dnsmasq (ra-names) pings the SLAAC address while it is still
  // tentative, so the host's neighbour entry for it can sit in FAILED for a moment and the
  // first connect fails at once ("Couldn't connect") even though the address is usable.
  const std::string url = "[" + info->ipv6.front().to_string() + "]";
  std::string page;
  EXPECT_TRUE(testing::eventually(
      [&] {
        page = testing::http_get(url);
        return page == "Served from the " + name + " container!";
      },
      5s))
      << page;
}

TEST_F(LxdResolver, SwitchesGroOnInsideTheContainer) {
  auto info = resolve_container(names_.back(), options());
  ASSERT_TRUE(info.ok()) << info.error();
  auto on = enable_container_gro(*info);
  ASSERT_TRUE(on.ok()) << on.error();
  EXPECT_TRUE(*on);
  EXPECT_EQ(testing::container_gro(info->init_pid), "on");
}

TEST_F(LxdResolver, ListsTheInstances) {
  auto list = list_containers(ContainerSource::Lxd);
  ASSERT_TRUE(list.ok()) << list.error();
  for (const auto& name : names_) {
    auto it = std::find_if(list->begin(), list->end(), [&](auto& c) { return c.name == name; });
    ASSERT_NE(it, list->end()) << name << " not listed";
    EXPECT_EQ(it->source, ContainerSource::Lxd);
    EXPECT_TRUE(it->running);
  }
}

TEST_F(LxdResolver, UnknownNameSaysWhereItLookedAndWhatIsThere) {
  auto info = resolve_container("xctnosuch", options(0ms));
  ASSERT_FALSE(info.ok());
  const auto& e = info.error();
  EXPECT_NE(e.find("no container named 'xctnosuch'"), std::string::npos) << e;
  EXPECT_NE(e.find("not in LXD at /"), std::string::npos) << e;
  EXPECT_NE(e.find("unix.socket"), std::string::npos) << e;
  EXPECT_NE(e.find(names_.front()), std::string::npos) << e;
  EXPECT_NE(e.find("lxcpath " + empty_lxcpath_ + " (no containers)"), std::string::npos) << e;
}

TEST_F(LxdResolver, RejectsNamesThatAreNotContainerNames) {
  for (const char* bad : {"", "../etc", "a b", "-x"}) {
    auto info = resolve_container(bad, options(0ms));
    ASSERT_FALSE(info.ok()) << bad;
    EXPECT_NE(info.error().find("is not a container name"), std::string::npos) << info.error();
  }
}

// The driver defined a classic-LXC container with the first instance's name (not started).
TEST_F(LxdResolver, SameNameInLxdAndLxcAsksForSource) {
  if (twin_lxcpath_.empty()) GTEST_SKIP() << "no classic-LXC twin set up";
  const auto& name = names_.front();
  ResolveOptions o = options();
  o.lxcpath = twin_lxcpath_;
  auto both = resolve_container(name, o);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().find("exists both in LXD"), std::string::npos) << both.error();
  EXPECT_NE(both.error().find("`--source lxd` or `--source lxc`"), std::string::npos)
      << both.error();

  o.source = ContainerSource::Lxd;
  auto lxd = resolve_container(name, o);
  ASSERT_TRUE(lxd.ok()) << lxd.error();
  EXPECT_EQ(lxd->source, ContainerSource::Lxd);

  o.source = ContainerSource::Lxc;
  auto lxc = resolve_container(name, o);
  ASSERT_FALSE(lxc.ok());
  EXPECT_EQ(lxc.error(), "container '" + name +
                             "' (lxc) is stopped — start it with `lxc-start -n " + name + " -P " +
                             twin_lxcpath_ + "`");
}

TEST_F(LxdResolver, StoppedSaysHowToStartAndRestartGivesTheNewVeth) {
  const auto& name = names_.back();
  auto before = resolve_container(name, options());
  ASSERT_TRUE(before.ok()) << before.error();

  ASSERT_EQ(run("lxc stop " + name + " --timeout 30").status, 0);
  auto stopped = resolve_container(name, options());
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error(),
            "container '" + name + "' (lxd) is stopped — start it with `lxc start " + name + "`");
  EXPECT_FALSE(testing::link_exists(before->host_veth));

  ASSERT_EQ(run("lxc start " + name).status, 0);
  // Straight after the start: the resolver polls until the address is there.
  auto after = resolve_container(name, options(10000ms));
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_NE(after->host_veth, before->host_veth);
  EXPECT_NE(after->init_pid, before->init_pid);
  EXPECT_EQ(after->host_veth, lxc_config(name, "volatile.eth0.host_name"));
  EXPECT_TRUE(testing::link_exists(after->host_veth));
  EXPECT_EQ(testing::bridge_of(after->host_veth), bridge_);
  EXPECT_EQ(after->mac, before->mac);
  ASSERT_FALSE(after->ipv4.empty());
  EXPECT_EQ(after->ipv4.front(), before->ipv4.front()) << "the DHCP lease should be kept";
  EXPECT_TRUE(testing::eventually(
      [&] {
        return testing::http_get(after->ipv4.front().to_string()) ==
               "Served from the " + name + " container!";
      },
      5s));
  // A stale ContainerInfo must not switch GRO on in whatever now has the old pid.
  auto stale = enable_container_gro(*before);
  EXPECT_FALSE(stale.ok());
}

}  // namespace
}  // namespace xdplb
