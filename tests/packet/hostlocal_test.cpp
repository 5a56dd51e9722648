// The host-local hooks for real (bpf/xdplb_sock.bpf.c via hostlocal::attach): real sockets in a
// namespace of this test dial 127.0.0.1:8000 and [::1]:8000 and land on the backend of their
// own family (TCP connect, UDP sendto and connected UDP), see the address they dialled as the
// peer (getpeername) and as the source of replies (recvmsg); a second namespace with the same
// addresses is untouched even though the hooks sit on the cgroup root; detach removes them.
// Namespaces:
//   xdpv6dhl<pid>: bridge xdpbr0 + veth xdpu0 (the attached datapath), lo up, veth xdpbe0 with
//     the "backends" 10.92.0.11 and fd92::11 (local addresses: a connect to them stays in here)
//   xdpv6dot<pid>: lo up, veth xdpbe0 with the same addresses, no xdplb
// Pins under /sys/fs/bpf/v6d-hl<pid>, removed with the fixture (AttachedBridge).
#include <gtest/gtest.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "attached.h"
#include "core/fd.h"
#include "hostlocal/hostlocal.h"
#include "scenario.h"
#include "sockets.h"
#include "test_netns.h"
#include "trace_reader.h"

namespace xdplb::test {
namespace {

constexpr uint16_t kBackendPort = 80;
constexpr uint16_t kFamilyMismatchPort = 8001;  // ::1:8001 -> a pool of IPv4 backends only

struct Family {
  const char* name;
  int af;
  std::string loopback;  // the VIP host-local clients dial
  std::string backend;
};
const Family kV4{"IPv4", AF_INET, "127.0.0.1", "10.92.0.11"};
const Family kV6{"IPv6", AF_INET6, "::1", "fd92::11"};

class HostLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = TestNetns::create("v6dhl");
    ASSERT_TRUE(a) << a.error();
    host = std::move(*a);
    auto b = TestNetns::create("v6dot");
    ASSERT_TRUE(b) << b.error();
    other = std::move(*b);
    for (const auto* ns : {host.get(), other.get()}) {
      auto s = ns->ip_all({"link add xdpbe0 type veth peer name xdpbe1", "link set xdpbe1 up",
                           "addr add 10.92.0.11/24 dev xdpbe0", "addr add fd92::11/64 dev xdpbe0 nodad",
                           "link set xdpbe0 up"});
      ASSERT_TRUE(s) << s.error();
    }
    auto s = host->ip_all({"link add xdpbr0 type bridge", "link set xdpbr0 up",
                           "link add xdpu0 type veth peer name xdpu1", "link set xdpu0 up", "link set xdpu1 up"});
    ASSERT_TRUE(s) << s.error();

    // Services 127.0.0.1 / ::1 :8000 (TCP, UDP) on pools of one backend of the same family
    // each, ::1:8001 on the IPv4 pool; then the hooks, attached from the host namespace.
    auto att = AttachedBridge::create(*host, "v6d-hl", "xdpbr0", "xdpu0");
    ASSERT_TRUE(att) << att.error();
    attached = std::move(*att);
    pin_dir = attached->pin_dir();
    ASSERT_TRUE(serve(attached->dp(), kV4.loopback, 0, 0, kV4.backend, kBackendPort));
    ASSERT_TRUE(serve(attached->dp(), kV6.loopback, 1, 1, kV6.backend, kBackendPort));
    ASSERT_TRUE(attached->dp().put_service({*IpAddress::parse("::1"), kFamilyMismatchPort, IPPROTO_TCP}, 0));
    Status st = make_error("not run");
    s = host->run([&] { st = hostlocal::attach(pin_dir); });
    ASSERT_TRUE(s) << s.error();
    ASSERT_TRUE(st) << st.error();
  }

  void in(const TestNetns& ns, const std::function<void()>& f) {
    auto s = ns.run(f);
    ASSERT_TRUE(s) << s.error();
  }

  std::unique_ptr<TestNetns> host, other;
  std::unique_ptr<AttachedBridge> attached;  // after the namespaces: detached before they go
  std::string pin_dir;
};

TEST_F(HostLocalTest, EveryHookIsPinned) {
  for (const auto& n : hostlocal::link_pin_names())
    EXPECT_TRUE(std::filesystem::exists(pin_dir + "/" + n)) << n;
  EXPECT_EQ(hostlocal::link_pin_names().size(), 9u)
      << "connect/sendmsg/recvmsg/getpeername x 4/6, and sock_release";
}

TEST_F(HostLocalTest, TcpConnectLandsOnTheBackendOfItsFamily) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    in(*host, [&] {
      UniqueFd listener = bound(f->af, SOCK_STREAM, f->backend, kBackendPort);
      ASSERT_TRUE(listener.valid()) << std::strerror(errno);
      UniqueFd c(::socket(f->af, SOCK_STREAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(connect_errno(c.get(), sock_addr(f->af, f->loopback, kPort)), 0)
          << "connect to the service was not sent to the backend";
      SockAddr peer;
      ASSERT_EQ(::getpeername(c.get(), peer.get(), &peer.len), 0);
      EXPECT_EQ(text(peer), text(f->af, f->loopback, kPort)) << "getpeername must show the address dialled";
      ASSERT_TRUE(readable(listener.get())) << "the backend saw no connection";
      UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      ASSERT_TRUE(accepted.valid());
      ASSERT_EQ(::send(c.get(), "hi", 2, 0), 2);
      char buf[4] = {};
      ASSERT_TRUE(readable(accepted.get()));
      EXPECT_EQ(::recv(accepted.get(), buf, sizeof buf, 0), 2);
      EXPECT_EQ(std::string(buf, 2), "hi");
    });
  }
}

TEST_F(HostLocalTest, PortRangeOntoARangeConnectsToTheSameOffset) {
  // Port 30003 of a service 30000-30009 -> 8000-8009, as the controller writes it.
  constexpr uint16_t kRangePort = 30003, kRangeBackendPort = 8003;
  ASSERT_TRUE(attached->dp().put_service({*IpAddress::parse(kV4.loopback), kRangePort, IPPROTO_TCP},
                                         ServiceValue{0, XDPLB_SCHED_MAGLEV, 0, kRangeBackendPort}));
  in(*host, [&] {
    UniqueFd listener = bound(AF_INET, SOCK_STREAM, kV4.backend, kRangeBackendPort);
    ASSERT_TRUE(listener.valid()) << std::strerror(errno);
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect_errno(c.get(), sock_addr(AF_INET, kV4.loopback, kRangePort)), 0)
        << "connect to :30003 was not sent to the backend's :8003";
    SockAddr peer;
    ASSERT_EQ(::getpeername(c.get(), peer.get(), &peer.len), 0);
    EXPECT_EQ(text(peer), text(AF_INET, kV4.loopback, kRangePort)) << "getpeername must show the port dialled";
    ASSERT_TRUE(readable(listener.get())) << "the backend's :8003 saw no connection";
  });
}

TEST_F(HostLocalTest, UdpSendtoAndConnectedUdpLandOnTheBackendAndRepliesShowTheVip) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    in(*host, [&] {
      UniqueFd server = bound(f->af, SOCK_DGRAM, f->backend, kBackendPort);
      ASSERT_TRUE(server.valid()) << std::strerror(errno);
      const SockAddr vip = sock_addr(f->af, f->loopback, kPort);
      UniqueFd c(::socket(f->af, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(::sendto(c.get(), "ping", 4, 0, vip.get(), vip.len), 4);
      ASSERT_TRUE(readable(server.get())) << "the backend got no datagram";
      char buf[8] = {};
      SockAddr from;
      ASSERT_EQ(::recvfrom(server.get(), buf, sizeof buf, 0, from.get(), &from.len), 4);
      ASSERT_EQ(::sendto(server.get(), "pong", 4, 0, from.get(), from.len), 4);
      ASSERT_TRUE(readable(c.get())) << "no reply";
      SockAddr src;
      ASSERT_EQ(::recvfrom(c.get(), buf, sizeof buf, 0, src.get(), &src.len), 4);
      EXPECT_EQ(text(src), text(vip)) << "the reply must come from the address dialled (recvmsg hook)";

      UniqueFd cc(::socket(f->af, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(connect_errno(cc.get(), vip), 0);
      SockAddr peer;
      ASSERT_EQ(::getpeername(cc.get(), peer.get(), &peer.len), 0);
      EXPECT_EQ(text(peer), text(vip));
      ASSERT_EQ(::send(cc.get(), "conn", 4, 0), 4);
      ASSERT_TRUE(readable(server.get())) << "connected UDP did not reach the backend";
      EXPECT_EQ(::recv(server.get(), buf, sizeof buf, 0), 4);
      EXPECT_EQ(std::string(buf, 4), "conn");
    });
  }
}

// The trace on the socket hooks: a connect and a sendto to a service are one record each,
// naming the service's pool, the backend chosen and the address dialled; a call to no service
// writes nothing.
TEST_F(HostLocalTest, TraceReportsConnectAndSendtoToAService) {
  TraceReader trace(attached->dp());
  ASSERT_TRUE(trace.ok());
  trace.drain();
  ASSERT_TRUE(attached->dp().start_trace({}));
  in(*host, [&] {
    UniqueFd listener = bound(AF_INET, SOCK_STREAM, kV4.backend, kBackendPort);
    ASSERT_TRUE(listener.valid()) << std::strerror(errno);
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect_errno(c.get(), sock_addr(AF_INET, kV4.loopback, kPort)), 0);
    UniqueFd direct(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect_errno(direct.get(), sock_addr(AF_INET, kV4.backend, kBackendPort)), 0)
        << "not a service: untouched";
    UniqueFd server = bound(AF_INET6, SOCK_DGRAM, kV6.backend, kBackendPort);
    ASSERT_TRUE(server.valid()) << std::strerror(errno);
    const SockAddr vip = sock_addr(AF_INET6, kV6.loopback, kPort);
    UniqueFd u(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::sendto(u.get(), "ping", 4, 0, vip.get(), vip.len), 4);
  });
  ASSERT_TRUE(attached->dp().stop_trace());
  const auto ev = trace.drain();
  ASSERT_EQ(ev.size(), 2u) << "the connect and the sendto to a service, nothing else";
  EXPECT_EQ(ev[0].hook, XDPLB_TRACE_SOCK_CONNECT);
  EXPECT_EQ(ev[0].key.family, XDPLB_AF_INET);
  EXPECT_EQ(ev[0].key.proto, IPPROTO_TCP);
  EXPECT_EQ(ev[0].key.dst.v4, IpAddress::parse(kV4.loopback)->to_abi().v4) << "the address dialled";
  EXPECT_EQ(ev[0].key.dport, htons(kPort));
  EXPECT_EQ(ev[0].pool, 0u);
  EXPECT_EQ(ev[0].backend, 0u) << "the backend the socket was pointed at";
  EXPECT_EQ(ev[1].hook, XDPLB_TRACE_SOCK_SENDMSG);
  EXPECT_EQ(ev[1].key.family, XDPLB_AF_INET6);
  EXPECT_EQ(ev[1].key.proto, IPPROTO_UDP);
  EXPECT_EQ(ev[1].pool, 1u);
  EXPECT_EQ(ev[1].backend, 1u);
}

// A pool holding only IPv4 backends never serves an IPv6 socket: the call goes to ::1:8001
// itself, where nothing listens.
TEST_F(HostLocalTest, Ipv6SocketNeverGetsAnIpv4Backend) {
  in(*host, [&] {
    UniqueFd listener4 = bound(AF_INET, SOCK_STREAM, kV4.backend, kBackendPort);
    ASSERT_TRUE(listener4.valid());
    UniqueFd c(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect_errno(c.get(), sock_addr(AF_INET6, "::1", kFamilyMismatchPort)), ECONNREFUSED);
  });
}

// Same addresses, same listeners, another namespace: the hooks see its sockets (cgroup root)
// but must leave them alone, so the service address itself answers.
TEST_F(HostLocalTest, AnotherNamespaceIsUnaffected) {
  for (const Family* f : {&kV4, &kV6}) {
    SCOPED_TRACE(f->name);
    in(*other, [&] {
      UniqueFd backend = bound(f->af, SOCK_STREAM, f->backend, kBackendPort);
      UniqueFd itself = bound(f->af, SOCK_STREAM, f->loopback, kPort);
      UniqueFd backend_udp = bound(f->af, SOCK_DGRAM, f->backend, kBackendPort);
      UniqueFd itself_udp = bound(f->af, SOCK_DGRAM, f->loopback, kPort);
      ASSERT_TRUE(backend.valid() && itself.valid() && backend_udp.valid() && itself_udp.valid());
      const SockAddr vip = sock_addr(f->af, f->loopback, kPort);

      UniqueFd c(::socket(f->af, SOCK_STREAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(connect_errno(c.get(), vip), 0);
      ASSERT_TRUE(readable(itself.get())) << "the service address itself got no connection";
      EXPECT_FALSE(readable(backend.get(), 0)) << "a socket of another namespace was balanced";

      UniqueFd u(::socket(f->af, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      ASSERT_EQ(::sendto(u.get(), "ping", 4, 0, vip.get(), vip.len), 4);
      ASSERT_TRUE(readable(itself_udp.get())) << "the service address itself got no datagram";
      EXPECT_FALSE(readable(backend_udp.get(), 0)) << "a datagram of another namespace was balanced";
    });
  }
}

TEST_F(HostLocalTest, DetachRemovesTheHooks) {
  ASSERT_TRUE(hostlocal::detach(pin_dir));
  EXPECT_FALSE(hostlocal::is_attached(pin_dir));
  in(*host, [&] {
    UniqueFd listener = bound(AF_INET6, SOCK_STREAM, kV6.backend, kBackendPort);
    ASSERT_TRUE(listener.valid());
    UniqueFd c(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect_errno(c.get(), sock_addr(AF_INET6, "::1", kPort)), ECONNREFUSED)
        << "[::1]:8000 still balanced after detach";
  });
}

// Source affinity on the host-local path: the host is one client address, so every socket
// of it lands on one backend; without affinity sockets spread over the ring by their cookie.
TEST_F(HostLocalTest, SourceAffinitySendsEveryHostSocketToOneBackend) {
  constexpr uint16_t kAffinityPort = 9000;
  constexpr uint32_t kTwoPool = 2;
  for (uint32_t id : {2u, 3u}) {
    BackendEntry e;
    e.addr = *IpAddress::parse(kV4.backend);
    e.port = static_cast<uint16_t>(80 + id);  // b2 on :82, b3 on :83
    ASSERT_TRUE(attached->dp().put_backend(id, e));
  }
  ASSERT_TRUE(attached->dp().write_ring(kTwoPool, ring_of({2, 3})));
  auto datagrams_to = [&](uint32_t flags) {
    EXPECT_TRUE(attached->dp().put_service({*IpAddress::parse(kV4.loopback), kAffinityPort, IPPROTO_UDP},
                                           ServiceValue{kTwoPool, XDPLB_SCHED_MAGLEV, flags}));
    std::set<uint16_t> ports;
    in(*host, [&] {
      UniqueFd b2 = bound(AF_INET, SOCK_DGRAM, kV4.backend, 82), b3 = bound(AF_INET, SOCK_DGRAM, kV4.backend, 83);
      ASSERT_TRUE(b2.valid() && b3.valid()) << std::strerror(errno);
      for (int i = 0; i < 20; ++i) {
        UniqueFd c(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        const SockAddr to = sock_addr(AF_INET, kV4.loopback, kAffinityPort);
        ASSERT_EQ(::sendto(c.get(), "x", 1, 0, to.get(), to.len), 1);
      }
      char buf[4];
      for (auto [fd, port] : {std::pair{b2.get(), uint16_t{82}}, std::pair{b3.get(), uint16_t{83}}})
        while (readable(fd, 200) && ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ports.insert(port);
    });
    return ports;
  };
  EXPECT_EQ(datagrams_to(0).size(), 2u) << "without affinity sockets spread";
  EXPECT_EQ(datagrams_to(XDPLB_SERVICE_AFFINITY_SOURCE).size(), 1u) << "with affinity: one backend";
}

}  // namespace
}  // namespace xdplb::test
