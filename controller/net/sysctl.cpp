// Through /proc/sys, not netlink: there is no netlink interface for this sysctl. The kernel
// resolves /proc/sys/net/* in the network namespace of the thread that opens the file, so
// this follows run_in_netns() like the netlink calls do.
#include "net/sysctl.h"

#include <fstream>
#include <string>

namespace xdplb::net {

namespace {

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

}  // namespace

Result<bool> ip_forward_enabled() {
  std::ifstream in(kIpForward);
  std::string value;
  if (!(in >> value)) return make_error(std::string("read ") + kIpForward);
  return value != "0";
}

Result<bool> enable_ip_forward() {
  auto enabled = ip_forward_enabled();
  if (!enabled) return make_error(enabled.error());
  if (*enabled) return false;
  std::ofstream out(kIpForward);
  out << "1\n";
  out.flush();
  if (!out) return make_error(std::string("write 1 to ") + kIpForward + " (needs root)");
  out.close();
  auto now = ip_forward_enabled();
  if (!now) return make_error(now.error());
  if (!*now) return make_error(std::string(kIpForward) + " is still 0 after writing 1");
  return true;
}

}  // namespace xdplb::net
