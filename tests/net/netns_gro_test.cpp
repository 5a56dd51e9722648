// find_peer_netns, run_in_netns and the GRO round trip on the container-side veth end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "net/gro.h"
#include "net/link.h"
#include "net/netns.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using testing::Topology;

class NetnsGroTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status built = topo.build();
    ASSERT_TRUE(built.ok()) << built.error();
  }
  Topology topo;
};

bool same_namespace(int fd_a, int fd_b) {
  struct stat a, b;
  return fstat(fd_a, &a) == 0 && fstat(fd_b, &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

TEST_F(NetnsGroTest, FindsTheNamespaceOfEachPeer) {
  for (const auto& [veth, expected] : {std::pair{"xnlv1", &topo.a}, std::pair{"xnlv2", &topo.b}}) {
    auto peer = run_in_netns(topo.host.fd().get(), [&]() -> Result<UniqueFd> {
      auto link = get_link(veth);
      if (!link) return make_error(link.error());
      return find_peer_netns(*link);
    });
    ASSERT_TRUE(peer.ok()) << peer.error();
    EXPECT_TRUE(same_namespace(peer->get(), expected->fd().get()))
        << veth << " should lead to " << expected->name();
  }
}

// A child process that sits in a fresh, unnamed network namespace (as an LXC container's init
// does); killed and reaped by PID in the destructor.
class UnnamedNetnsChild {
 public:
  UnnamedNetnsChild() {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      const char ok = ::unshare(CLONE_NEWNET) == 0 ? '1' : '0';
      (void)!::write(ready[1], &ok, 1);
      ::alarm(60);  // bounded even if the parent dies without killing us
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char ok = '0';
    ready_ = pid_ > 0 && ::read(ready[0], &ok, 1) == 1 && ok == '1';
    ::close(ready[0]);
  }
  ~UnnamedNetnsChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

TEST_F(NetnsGroTest, FindsAnUnnamedNamespaceThroughProc) {
  UnnamedNetnsChild child;
  ASSERT_TRUE(child.ready());
  ASSERT_TRUE(testing::sh("ip -n " + topo.host.name() +
                          " link add xnlv3 type veth peer name eth0 netns " +
                          std::to_string(child.pid()))
                  .ok());
  const auto start = std::chrono::steady_clock::now();
  auto peer = run_in_netns(topo.host.fd().get(), [&]() -> Result<UniqueFd> {
    auto link = get_link("xnlv3");
    if (!link) return make_error(link.error());
    return find_peer_netns(*link);
  });
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(peer.ok()) << peer.error();
  const int child_ns =
      ::open(("/proc/" + std::to_string(child.pid()) + "/ns/net").c_str(), O_RDONLY);
  ASSERT_GE(child_ns, 0);
  EXPECT_TRUE(same_namespace(peer->get(), child_ns));
  ::close(child_ns);
  RecordProperty("find_peer_netns_us", std::to_string(took.count()));
  std::printf("find_peer_netns through /proc took %lld us\n", static_cast<long long>(took.count()));
}

TEST_F(NetnsGroTest, NoPeerForABridge) {
  auto peer = run_in_netns(topo.host.fd().get(), [&]() -> Result<UniqueFd> {
    auto link = get_link("xnlbr0");
    if (!link) return make_error(link.error());
    return find_peer_netns(*link);
  });
  ASSERT_FALSE(peer.ok());
  EXPECT_NE(peer.error().find("no peer"), std::string::npos) << peer.error();
}

TEST_F(NetnsGroTest, RunInNetnsDoesNotMoveTheCaller) {
  auto before = open_current_netns();
  ASSERT_TRUE(before.ok());
  auto inside = run_in_netns(topo.a.fd().get(), [] { return open_current_netns(); });
  ASSERT_TRUE(inside.ok()) << inside.error();
  EXPECT_TRUE(same_namespace(inside->get(), topo.a.fd().get()));
  auto after = open_current_netns();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(same_namespace(before->get(), after->get()));
  // A bad fd is an error, not a run in the wrong namespace.
  auto bad = run_in_netns(-1, [] { return open_current_netns(); });
  EXPECT_FALSE(bad.ok());
}

// `ethtool -k` as the independent witness of what the kernel has.
bool ethtool_says_gro_on(const testing::NamedNetns& ns) {
  return testing::sh_output(ns.exec("ethtool -k eth0 | grep '^generic-receive-offload:'")) ==
         "generic-receive-offload: on";
}

TEST_F(NetnsGroTest, GroRoundTripOnPeerEnd) {
  // Reach the container side the way the controller will: host veth -> peer namespace + index.
  auto v1 = run_in_netns(topo.host.fd().get(), [] { return get_link("xnlv1"); });
  ASSERT_TRUE(v1.ok()) << v1.error();
  auto peer = run_in_netns(topo.host.fd().get(), [&] { return find_peer_netns(*v1); });
  ASSERT_TRUE(peer.ok()) << peer.error();

  auto initial = get_gro(*peer, v1->peer_ifindex);
  ASSERT_TRUE(initial.ok()) << initial.error();
  EXPECT_EQ(*initial, ethtool_says_gro_on(topo.a));

  for (const bool want : {!*initial, *initial, true, false}) {
    const Status set = set_gro(*peer, v1->peer_ifindex, want);
    ASSERT_TRUE(set.ok()) << set.error();
    auto now = get_gro(*peer, v1->peer_ifindex);
    ASSERT_TRUE(now.ok()) << now.error();
    EXPECT_EQ(*now, want);
    EXPECT_EQ(ethtool_says_gro_on(topo.a), want);
  }
}

TEST_F(NetnsGroTest, GroOnMissingInterfaceIsAnError) {
  auto gro = get_gro(topo.a.fd(), 99999);
  ASSERT_FALSE(gro.ok());
  EXPECT_NE(gro.error().find("99999"), std::string::npos) << gro.error();
}

}  // namespace
}  // namespace xdplb::net
