// The BIRD adapter (bgp/bird.h) against a real BIRD 2, run in a network namespace of its own
// (`unshare --net`): the node's include and two bridges' includes are written and read (each
// bridge's routes show in BIRD, one withdraws while the other's stay), BIRD's error on a bad
// include comes back as an error, and a socket where no BIRD listens says so; a bridge's
// return routes show as routes of its own protocol, and withdraw_bridge takes them and the
// VIPs away from BIRD (with no hold when no session had them).
#include "bgp/bird.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../unit/temp_dir.h"
#include "bgp/announce.h"
#include "bgp/withdraw.h"

extern char** environ;

namespace xdplb::bgp {
namespace {

class Bird {
 public:
  Bird(const test::TempDir& dir, const std::string& first_include) : sock_(dir.sub("bird.ctl")) {
    const std::string conf = dir.sub("bird.conf"), include = dir.sub("xdplb.conf");
    std::ofstream(include) << first_include;
    std::ofstream(conf) << "router id 192.0.2.1;\ninclude \"" << include << "\";\n";
    std::vector<std::string> args = {"unshare", "--net", "bird", "-f", "-c", conf, "-s", sock_, "-P", dir.sub("bird.pid")};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&pid_, "unshare", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    for (int i = 0; i < 100 && !bird_command(sock_, "show status"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Bird() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& sock() const { return sock_; }
  bool running() const { return pid_ > 0; }

 private:
  std::string sock_;
  pid_t pid_ = -1;
};

// `show route` of BIRD, or the error.
std::string routes_of(const Bird& bird) {
  auto r = bird_command(bird.sock(), "show route");
  return r ? *r : "(show route failed: " + r.error() + ")";
}

// A node's bgp: section for the BIRD that Bird starts in `dir`, with one neighbour that never
// comes up (no such peer here).
BgpConfig node_config(const test::TempDir& dir) {
  BgpConfig c;
  c.asn = 65001;
  c.include = dir.sub("xdplb.conf");
  c.bird_socket = dir.sub("bird.ctl");
  c.neighbors = {{*IpAddress::parse("192.0.2.254"), 65000}};
  return c;
}

TEST(Bird, TwoBridgesAnnounceIndependentlyBadIncludeRefusedNoBird) {
  if (::access("/usr/sbin/bird", X_OK) != 0) GTEST_SKIP() << "bird2 is not installed (scripts/install-deps.sh)";
  test::TempDir dir;
  BgpConfig c = node_config(dir);
  // The directory as bird_apply makes it, no bridge's file in it yet: the node's include's
  // pattern matches none (BIRD refuses a pattern whose directory is missing).
  std::filesystem::create_directories(bridge_include_dir(c));
  Bird bird(dir, bird_include(c));
  ASSERT_TRUE(bird.running());
  ASSERT_TRUE(bird_command(bird.sock(), "show status").ok()) << "BIRD did not come up";

  // What each bridge's daemon does (bgp/announcer.cpp): its own file, then the node's.
  auto announce = [&](const std::string& bridge, const std::vector<VipRoute>& routes) {
    return bird_apply(bird.sock(), {{bridge_include_path(c, bridge), bird_bridge_include(bridge, {routes, {}})},
                                    {c.include, bird_include(c)}});
  };
  const VipRoute a{*IpAddress::parse("192.0.2.10"), "web"}, b{*IpAddress::parse("192.0.2.20"), "api"};
  auto s = announce("nrbr-a", {a});
  ASSERT_TRUE(s.ok()) << s.error();
  s = announce("nrbr-b", {b});
  ASSERT_TRUE(s.ok()) << s.error();
  std::string routes = routes_of(bird);
  EXPECT_NE(routes.find("192.0.2.10/32"), std::string::npos) << routes;
  EXPECT_NE(routes.find("192.0.2.20/32"), std::string::npos) << routes;
  auto proto = bird_command(bird.sock(), "show protocols");
  ASSERT_TRUE(proto.ok()) << proto.error();
  EXPECT_NE(proto->find("xdplb_v4_nrbr_a"), std::string::npos) << *proto;
  EXPECT_NE(proto->find("xdplb_v4_nrbr_b"), std::string::npos) << *proto;

  s = announce("nrbr-a", {});  // bridge a withdraws; b's route stays
  ASSERT_TRUE(s.ok()) << s.error();
  routes = routes_of(bird);
  EXPECT_EQ(routes.find("192.0.2.10/32"), std::string::npos) << routes;
  EXPECT_NE(routes.find("192.0.2.20/32"), std::string::npos) << routes;

  auto bad = bird_apply(bird.sock(), {{bridge_include_path(c, "nrbr-a"), "protocol static {\n  ipv4;\n  route nonsense;\n}\n"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("configure failed"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("nrbr-a.conf"), std::string::npos) << "BIRD's message names the file: " << bad.error();

  auto none = bird_command(dir.sub("nobody.ctl"), "configure");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("is bird running with -s"), std::string::npos) << none.error();
}

TEST(Bird, ReturnRoutesShownAndWithdrawn) {
  if (::access("/usr/sbin/bird", X_OK) != 0) GTEST_SKIP() << "bird2 is not installed (scripts/install-deps.sh)";
  test::TempDir dir;
  BgpConfig c = node_config(dir);                                   // a neighbour for the VIPs
  c.neighbors.push_back({*IpAddress::parse("192.0.2.253"), 65100, false, true});  // and one for return routes
  c.return_routes = {*parse_prefix("198.51.100.0/24")};
  c.withdraw_hold = std::chrono::milliseconds(300);
  std::filesystem::create_directories(bridge_include_dir(c));
  Bird bird(dir, bird_include(c));
  ASSERT_TRUE(bird.running());
  ASSERT_TRUE(bird_command(bird.sock(), "show status").ok()) << "BIRD did not come up";
  Announcement a{{{*IpAddress::parse("192.0.2.10"), "web"}}, c.return_routes};
  auto s = bird_apply(bird.sock(), {{bridge_include_path(c, "dnbr0"), bird_bridge_include("dnbr0", a)}, {c.include, bird_include(c)}});
  ASSERT_TRUE(s.ok()) << s.error();
  std::string routes = routes_of(bird);
  EXPECT_NE(routes.find("198.51.100.0/24"), std::string::npos) << routes;
  EXPECT_NE(routes.find("[xdplb_rt4_dnbr0"), std::string::npos) << routes;
  // A session that is not up exports nothing, and BIRD says so by refusing the question
  // (bridge_exported counts that as nothing exported): what each is sent once up is the e2e
  // test's (test_scaleout.py), the filters' text the unit test's.
  auto down = bird_command(bird.sock(), "show route export xdplb_peer2");
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().find("failed: No valid tables"), std::string::npos) << down.error();
  auto before = bridge_exported(c, "dnbr0");
  ASSERT_TRUE(before.ok()) << before.error();
  EXPECT_FALSE(*before);
  auto w = withdraw_bridge(c, "dnbr0");
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_FALSE(w->timed_out);
  EXPECT_FALSE(w->was_exported);
  EXPECT_EQ(w->held, std::chrono::milliseconds(0)) << "no hold when no session had the routes";
  routes = routes_of(bird);
  EXPECT_EQ(routes.find("198.51.100.0/24"), std::string::npos) << routes;
  EXPECT_EQ(routes.find("192.0.2.10/32"), std::string::npos) << routes;
  auto left = bridge_exported(c, "dnbr0");
  ASSERT_TRUE(left.ok()) << left.error();
  EXPECT_FALSE(*left);
  BgpConfig gone = c;
  gone.bird_socket = dir.sub("nobody.ctl");
  auto none = withdraw_bridge(gone, "dnbr0");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("is bird running with -s"), std::string::npos) << none.error();
}

}  // namespace
}  // namespace xdplb::bgp
