// The datapath with real traffic, in namespaces of this test only:
//
//   client ns  xdpcl0 192.168.50.2 ──veth── xdpup0 192.168.50.1 (uplink, native XDP)  host ns
//                                                      xdpbr0 10.50.0.1 (bridge, tcx ingress)
//   backend ns xdpbe0 10.50.0.11 ──veth── xdpbh0 (bridge port)
//
// The service is 192.168.50.1:8000 (TCP: busybox httpd, UDP: socat echo) -> 10.50.0.11:80. A
// client must get its answers from the VIP, through the pass path and through the fast path.
// This is the loader's own check that attach + the maps + both programs work together; the
// full end-to-end suite lives in tests/e2e.
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "datapath/datapath.h"
#include "scenario.h"
#include "test_netns.h"

extern char** environ;

namespace xdplb::test {
namespace {

// A server process in a namespace, stopped by its PID.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = -1;
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

class LiveTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto bpffs = ensure_bpffs();
    ASSERT_TRUE(bpffs) << bpffs.error();
    for (auto* slot : {&host, &client, &backend}) {
      auto n = TestNetns::create(slot == &host ? "lh" : slot == &client ? "lc" : "lb");
      ASSERT_TRUE(n) << n.error();
      *slot = std::move(*n);
    }
    const std::string c = client->name(), b = backend->name();
    for (const std::string& cmd : {
             "link add xdpup0 type veth peer name xdpcl0 netns " + c,
             std::string("link add xdpbr0 address 02:00:00:00:50:01 type bridge"),
             "link add xdpbh0 type veth peer name xdpbe0 address 02:00:00:00:50:11 netns " + b,
             std::string("link set xdpbh0 master xdpbr0"),
             std::string("addr add 192.168.50.1/24 dev xdpup0"),
             std::string("addr add 10.50.0.1/24 dev xdpbr0"),
             std::string("link set xdpup0 up"), std::string("link set xdpbr0 up"),
             std::string("link set xdpbh0 up")}) {
      auto s = host->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    for (const char* cmd : {"addr add 192.168.50.2/24 dev xdpcl0", "link set xdpcl0 up",
                            "route add default via 192.168.50.1"}) {
      auto s = client->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    for (const char* cmd : {"addr add 10.50.0.11/24 dev xdpbe0", "link set xdpbe0 up",
                            "route add default via 10.50.0.1"}) {
      auto s = backend->ip(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    for (const std::string& cmd : {
             std::string("ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=1"),
             std::string("ip netns exec {ns} sysctl -qw net.bridge.bridge-nf-call-iptables=0")}) {
      auto s = host->sh(cmd);
      ASSERT_TRUE(s) << s.error();
    }
    // Wire-like checksums from the client; NAPI (GRO) on the backend's end for the fast path.
    ASSERT_TRUE(client->sh("ip netns exec {ns} ethtool -K xdpcl0 tx off >/dev/null"));
    ASSERT_TRUE(backend->sh("ip netns exec {ns} ethtool -K xdpbe0 gro on >/dev/null"));

    www = "/tmp/xdplive" + std::to_string(::getpid());
    std::filesystem::create_directories(www);
    std::ofstream(www + "/index.html") << "hello from backend\n";
    httpd = std::make_unique<Child>(std::vector<std::string>{
        "ip", "netns", "exec", b, "busybox", "httpd", "-f", "-p", "80", "-h", www});
    udpd = std::make_unique<Child>(std::vector<std::string>{
        "ip", "netns", "exec", b, "socat", "UDP4-RECVFROM:80,fork", "PIPE"});
    ASSERT_TRUE(httpd->started() && udpd->started());

    pin_dir = "/sys/fs/bpf/xdplive" + std::to_string(::getpid()) + "/xdpbr0";
  }

  void TearDown() override {
    dp.reset();
    if (Datapath::is_attached(pin_dir)) (void)Datapath::detach(pin_dir);
    std::error_code ec;
    std::filesystem::remove(std::filesystem::path(pin_dir).parent_path(), ec);
    httpd.reset();
    udpd.reset();
    std::filesystem::remove_all(www, ec);
  }

  void attach_and_program(bool fast_path) {
    auto s = host->run([&] {
      AttachSpec spec;
      spec.pin_dir = pin_dir;
      spec.bridge = "xdpbr0";
      spec.bridge_ifindex = static_cast<int>(if_nametoindex("xdpbr0"));
      spec.uplinks.push_back({"xdpup0", static_cast<int>(if_nametoindex("xdpup0"))});
      spec.xdp_mode = XdpMode::Native;
      auto d = Datapath::attach(spec, nullptr);
      ASSERT_TRUE(d) << d.error();
      dp = std::move(*d);
      for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
        ASSERT_TRUE(dp->put_service({*IpAddress::parse("192.168.50.1"), 8000, proto}, 0));
      BackendEntry be;
      be.addr = *IpAddress::parse("10.50.0.11");
      be.port = 80;
      be.fast_path = fast_path;
      be.ifindex = static_cast<int>(if_nametoindex("xdpbh0"));
      be.dmac = {0x02, 0, 0, 0, 0x50, 0x11};
      be.smac = {0x02, 0, 0, 0, 0x50, 0x01};
      auto p = dp->put_backend(0, be);  // devmap ifindex resolves in this namespace
      ASSERT_TRUE(p) << p.error();
      ASSERT_TRUE(dp->write_ring(0, ring_of({0})));
    });
    ASSERT_TRUE(s) << s.error();
  }

  std::string curl() {
    return command_output("ip netns exec " + client->name() +
                     " curl -s --max-time 3 http://192.168.50.1:8000/index.html");
  }

  std::unique_ptr<TestNetns> host, client, backend;
  std::unique_ptr<Child> httpd, udpd;
  std::unique_ptr<Datapath> dp;
  std::string www, pin_dir;
};

TEST_P(LiveTest, ClientsGetAnswersFromTheVip) {
  const bool fast = GetParam();
  attach_and_program(fast);
  ASSERT_NE(dp, nullptr);

  // The servers need a moment to start: bounded retries.
  std::string body;
  for (int i = 0; i < 20 && body.empty(); ++i) {
    body = curl();
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(body, "hello from backend\n") << "TCP through the VIP";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(curl(), "hello from backend\n") << "new connection " << i;

  const std::string udp = command_output("echo ping | ip netns exec " + client->name() +
                                    " socat -T2 - UDP4:192.168.50.1:8000");
  EXPECT_EQ(udp, "ping\n") << "UDP through the VIP";

  auto r = dp->reason_counters();
  ASSERT_TRUE(r) << r.error();
  const auto& c = *r;
  EXPECT_GT(c[fast ? XDPLB_R_FWD_REDIRECT : XDPLB_R_FWD_PASS], 0u);
  EXPECT_EQ(c[fast ? XDPLB_R_FWD_PASS : XDPLB_R_FWD_REDIRECT], 0u);
  EXPECT_GT(c[XDPLB_R_TC_REVNAT_REDIRECT] + c[XDPLB_R_TC_REVNAT_NEIGH], 0u);
  EXPECT_EQ(c[XDPLB_R_TC_DROP_NO_ROUTE], 0u);
  EXPECT_GE(c[XDPLB_R_NEW_FLOW], 5u);  // 4 TCP connections + 1 UDP flow
  auto bc = dp->backend_counters(0);
  ASSERT_TRUE(bc) << bc.error();
  EXPECT_GT(bc->packets, 0u);

  dp.reset();
  ASSERT_TRUE(Datapath::detach(pin_dir));
  EXPECT_EQ(curl(), "") << "after detach nothing answers on the VIP's port 8000";
}

// The client's count of TCP and UDP segments dropped for a bad checksum (/proc/net/snmp).
uint64_t csum_errors(const TestNetns& ns) {
  const std::string out = command_output("ip netns exec " + ns.name() +
                                         " awk '/^(Tcp|Udp):/ { if (!h[$1]++) { for (i = 2; i <= NF; i++)"
                                         " if ($i == \"InCsumErrors\") c[$1] = i } else n += $c[$1] }"
                                         " END { print n + 0 }' /proc/net/snmp");
  return std::stoull(out.empty() ? "0" : out);
}

// Reverse NAT writes the reply's checksums straight into the packet, by the skb's checksum
// state. The backend's veth hands replies over in two: CHECKSUM_PARTIAL with its offload on
// (the default: the field holds the pseudo-header sum, the rest is summed on the way out) and
// full checksums with it off. The uplink sums the PARTIAL ones in software here (tx off, so
// no GSO either: the segments are cut and summed from the rewritten header), so the client
// checks every checksum and drops and counts a wrong one. A download of many segments and a
// UDP datagram, in both states.
TEST_P(LiveTest, RepliesLeaveWithRightChecksumsFromBothOffloadStates) {
  attach_and_program(GetParam());
  ASSERT_NE(dp, nullptr);
  ASSERT_TRUE(host->sh("ip netns exec {ns} ethtool -K xdpup0 tx off >/dev/null"));
  std::string big;
  for (int i = 0; big.size() < 300000; ++i) big += "line " + std::to_string(i) + " of a download\n";
  std::ofstream(www + "/big.txt") << big;
  const std::string get_big = "ip netns exec " + client->name() +
                              " curl -s --max-time 5 http://192.168.50.1:8000/big.txt";
  // The server needs a moment to start: asked directly from the host (no reverse NAT).
  for (int i = 0; i < 20 && !host->sh("ip netns exec {ns} curl -s --max-time 1 -o /dev/null http://10.50.0.11:80/");
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t errors_before = csum_errors(*client);
  for (const char* offload : {"on", "off"}) {
    SCOPED_TRACE(std::string("backend tx offload ") + offload);
    ASSERT_TRUE(backend->sh(std::string("ip netns exec {ns} ethtool -K xdpbe0 tx ") + offload + " >/dev/null"));
    const std::string got = command_output(get_big);
    EXPECT_TRUE(got == big) << "the download through the VIP: " << got.size() << " of " << big.size() << " bytes";
    EXPECT_EQ(command_output("echo ping | ip netns exec " + client->name() + " socat -T2 - UDP4:192.168.50.1:8000"),
              "ping\n")
        << "UDP through the VIP";
  }
  EXPECT_EQ(csum_errors(*client), errors_before) << "segments the client dropped for a bad checksum";
  auto r = dp->reason_counters();
  ASSERT_TRUE(r) << r.error();
  EXPECT_GT((*r)[XDPLB_R_TC_REVNAT_REDIRECT] + (*r)[XDPLB_R_TC_REVNAT_NEIGH], 0u);
  EXPECT_EQ((*r)[XDPLB_R_TC_DROP_REWRITE], 0u);
}

INSTANTIATE_TEST_SUITE_P(Paths, LiveTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "FastPath" : "PassPath"; });

}  // namespace
}  // namespace xdplb::test
