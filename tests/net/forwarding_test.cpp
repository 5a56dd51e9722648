// ip_forward helpers act on the namespace of the calling thread (checked before anything is
// written, so a failure here can never switch on forwarding in the root namespace).
#include <gtest/gtest.h>

#include "net/netns.h"
#include "net/sysctl.h"
#include "topology.h"

namespace xdplb::net {
namespace {

using testing::NamedNetns;
using testing::sh;

TEST(ForwardingTest, EnableInOneNamespaceOnly) {
  NamedNetns target(testing::unique_name("xnlfa"));
  NamedNetns witness(testing::unique_name("xnlfb"));
  ASSERT_TRUE(target.ok() && witness.ok());
  auto root_before = ip_forward_enabled();
  ASSERT_TRUE(root_before.ok()) << root_before.error();

  // Witness: set to the opposite of the root's value by sysctl, so reading it from a thread
  // in that namespace must differ from the root. Only then do we trust writes to follow the
  // thread.
  ASSERT_TRUE(
      sh(witness.exec(std::string("sysctl -qw net.ipv4.ip_forward=") + (*root_before ? "0" : "1")))
          .ok());
  auto witness_value = run_in_netns(witness.fd().get(), [] { return ip_forward_enabled(); });
  ASSERT_TRUE(witness_value.ok()) << witness_value.error();
  ASSERT_NE(*witness_value, *root_before) << "/proc/sys did not follow the thread's namespace";
  // A new namespace copies the root's setting (devconf_inherit_init_net=0): start from off.
  ASSERT_TRUE(sh(target.exec("sysctl -qw net.ipv4.ip_forward=0")).ok());
  auto target_value = run_in_netns(target.fd().get(), [] { return ip_forward_enabled(); });
  ASSERT_TRUE(target_value.ok());
  ASSERT_FALSE(*target_value) << "set to 0 by sysctl just before";

  auto changed = run_in_netns(target.fd().get(), [] { return enable_ip_forward(); });
  ASSERT_TRUE(changed.ok()) << changed.error();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(testing::sh_output(target.exec("sysctl -n net.ipv4.ip_forward")), "1");
  auto again = run_in_netns(target.fd().get(), [] { return enable_ip_forward(); });
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_FALSE(*again) << "already on: nothing changed";

  auto root_after = ip_forward_enabled();
  ASSERT_TRUE(root_after.ok());
  EXPECT_EQ(*root_after, *root_before) << "the root namespace must be untouched";
}

}  // namespace
}  // namespace xdplb::net
