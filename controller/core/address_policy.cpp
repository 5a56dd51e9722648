#include "core/address_policy.h"

#include <algorithm>

namespace xdplb {

std::vector<IpPrefix> uplink_spoofed_sources(const std::vector<IpPrefix>& bridge_subnets,
                                             const std::vector<IpAddress>& host_addresses) {
  std::vector<IpPrefix> out;
  for (const auto& s : bridge_subnets) out.push_back(IpPrefix::of(s.addr, s.len));
  for (const auto& a : host_addresses) out.push_back(IpPrefix::host(a));
  out.push_back(IpPrefix::of(*IpAddress::parse("127.0.0.0"), 8));
  out.push_back(IpPrefix::host(*IpAddress::parse("::1")));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status check_container_address(const std::string& container, const IpAddress& addr,
                               const std::string& bridge, const std::vector<IpPrefix>& bridge_subnets,
                               const std::vector<IpAddress>& host_addresses) {
  const std::string who = "container '" + container + "' reports " + addr.to_string();
  if (std::find(host_addresses.begin(), host_addresses.end(), addr) != host_addresses.end())
    return make_error(who + ", an address of this host: refusing it as a backend address (traffic " +
                      "for it would stay on the host); give the container an address of its own in " +
                      bridge + "'s subnet");
  std::string subnets;
  for (const auto& s : bridge_subnets) {
    if (s.contains(addr)) return {};
    if (s.addr.family == addr.family) subnets += (subnets.empty() ? "" : ", ") + s.to_string();
  }
  return make_error(who + ", outside " + bridge + "'s subnet" +
                    (subnets.empty() ? std::string(" (the bridge has no ") + (addr.is_v6() ? "IPv6" : "IPv4") +
                                           " subnet)"
                                     : " " + subnets) +
                    ": refusing it as a backend address; give the container an address in " +
                    (subnets.empty() ? "the bridge's subnet" : subnets) + " (or add it by address)");
}

Result<std::vector<IpAddress>> acceptable_container_addresses(
    const std::string& container, const std::vector<IpAddress>& candidates, const std::string& bridge,
    const std::vector<IpPrefix>& bridge_subnets, const std::vector<IpAddress>& host_addresses) {
  std::vector<IpAddress> ok;
  std::string first_error;
  for (const auto& a : candidates) {
    auto s = check_container_address(container, a, bridge, bridge_subnets, host_addresses);
    if (s) ok.push_back(a);
    else if (first_error.empty()) first_error = s.error();
  }
  if (ok.empty() && !first_error.empty()) return make_error(first_error);
  return ok;
}

}  // namespace xdplb
