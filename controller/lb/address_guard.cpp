#include "lb/address_guard.h"

#include "core/address_policy.h"
#include "net/address.h"

namespace xdplb {

Result<HostAddresses> read_host_addresses(int bridge_ifindex) {
  auto bridge = net::link_addresses(bridge_ifindex);
  if (!bridge) return make_error("reading the bridge's addresses: " + bridge.error());
  auto all = net::all_local_addresses();
  if (!all) return make_error("reading the host's addresses: " + all.error());
  HostAddresses out;
  for (const auto& a : *bridge) out.bridge_subnets.push_back(IpPrefix::of(a.address, a.prefix_len));
  for (const auto& a : *all) out.host.push_back(a.address);
  return out;
}

Result<std::vector<IpPrefix>> write_uplink_guard(Datapath& dp, int bridge_ifindex) {
  auto addrs = read_host_addresses(bridge_ifindex);
  if (!addrs) return make_error(addrs.error());
  auto prefixes = uplink_spoofed_sources(addrs->bridge_subnets, addrs->host);
  if (auto s = dp.set_uplink_guard(prefixes); !s) return make_error(s.error());
  return prefixes;
}

}  // namespace xdplb
