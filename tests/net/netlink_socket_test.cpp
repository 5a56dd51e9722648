// NetlinkSocket: kernel errors come back as errno plus the kernel's extended-ack text, and a
// dump reaches the end. Runs in a test namespace.
#include "net/netlink_socket.h"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "net/netns.h"
#include "topology.h"

namespace xdplb::net {
namespace {

TEST(NetlinkSocketTest, KernelErrorCarriesExtendedAck) {
  testing::NamedNetns ns(testing::unique_name("xnls"));
  ASSERT_TRUE(ns.ok());
  auto result = run_in_netns(ns.fd().get(), []() -> Result<std::pair<std::string, int>> {
    auto sock = NetlinkSocket::open(NETLINK_ROUTE);
    if (!sock) return make_error(sock.error());
    // A neighbour get request must have ndm_state 0; the kernel refuses it with a message.
    char buf[NetlinkSocket::kRequestSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = 1;
    ndm->ndm_state = NUD_REACHABLE;
    const Status st = sock->transact(nlh);
    if (st.ok()) return make_error("the kernel accepted an invalid request");
    return std::pair{st.error(), sock->last_errno()};
  });
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->second, EINVAL);
  EXPECT_NE(result->first.find("(kernel: "), std::string::npos) << result->first;
}

TEST(NetlinkSocketTest, DumpEndsAndCountsEveryLink) {
  testing::NamedNetns ns(testing::unique_name("xnls"));
  ASSERT_TRUE(ns.ok());
  // 40 veth pairs: 81 links, enough for a dump to span several datagrams.
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(testing::sh("ip -n " + ns.name() + " link add xnlp" + std::to_string(i) +
                            " type veth peer name xnlq" + std::to_string(i))
                    .ok());
  auto count = run_in_netns(ns.fd().get(), []() -> Result<int> {
    auto sock = NetlinkSocket::open(NETLINK_ROUTE);
    if (!sock) return make_error(sock.error());
    char buf[NetlinkSocket::kRequestSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_DUMP;
    mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
    int n = 0;
    const Status st = sock->transact(nlh, [&](const nlmsghdr*) { ++n; });
    if (!st.ok()) return make_error(st.error());
    return n;
  });
  ASSERT_TRUE(count.ok()) << count.error();
  EXPECT_EQ(*count, 81);
}

}  // namespace
}  // namespace xdplb::net
