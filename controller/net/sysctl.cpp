// Through /proc/sys, not netlink: there is no netlink interface for these sysctls. The kernel
// resolves /proc/sys/net/* in the network namespace of the thread that opens the file, so
// this follows run_in_netns() like the netlink calls do.
#include "net/sysctl.h"

#include <fstream>
#include <string>
#include <vector>

namespace xdplb::net {

namespace {

std::string proc_path(const std::string& key) { return "/proc/sys/" + key; }

// "net/ipv6/conf/br0/forwarding" -> "net.ipv6.conf.br0.forwarding" (names with dots aside).
std::string dotted(std::string key) {
  for (auto& c : key)
    if (c == '/') c = '.';
  return key;
}

}  // namespace

Result<bool> sysctl_on(const std::string& key) {
  std::ifstream in(proc_path(key));
  std::string value;
  if (!(in >> value)) return make_error("read " + proc_path(key));
  return value != "0";
}

Result<bool> switch_sysctl_on(const std::string& key) {
  auto enabled = sysctl_on(key);
  if (!enabled) return make_error(enabled.error());
  if (*enabled) return false;
  std::ofstream out(proc_path(key));
  out << "1\n";
  out.flush();
  if (!out) return make_error("write 1 to " + proc_path(key) + " (needs root)");
  out.close();
  auto now = sysctl_on(key);
  if (!now) return make_error(now.error());
  if (!*now) return make_error(proc_path(key) + " is still 0 after writing 1");
  return true;
}

Result<bool> ip_forward_enabled() { return sysctl_on("net/ipv4/ip_forward"); }
Result<bool> enable_ip_forward() { return switch_sysctl_on("net/ipv4/ip_forward"); }

Result<std::vector<std::string>> enable_ipv6_forwarding(const std::string& bridge,
                                                        const std::vector<std::string>& uplinks) {
  std::vector<std::string> keys{"net/ipv6/conf/" + bridge + "/forwarding"};
  for (const auto& u : uplinks) keys.push_back("net/ipv6/conf/" + u + "/force_forwarding");
  std::vector<std::string> changed;
  for (const auto& key : keys) {
    auto on = switch_sysctl_on(key);
    if (!on) return make_error(on.error());
    if (*on) changed.push_back(dotted(key));
  }
  return changed;
}

}  // namespace xdplb::net
