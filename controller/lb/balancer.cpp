#include "lb/balancer.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "hostlocal/hostlocal.h"
#include "net/address.h"
#include "net/link.h"

namespace xdplb {

Result<std::vector<IpAddress>> service_vips(const std::vector<std::string>& uplinks) {
  std::vector<IpAddress> vips;
  for (const auto& name : uplinks) {
    auto link = net::get_link(name);
    if (!link) return make_error(link.error());
    auto addrs = net::link_addresses(link->ifindex, AF_UNSPEC);
    if (!addrs) return make_error(addrs.error());
    for (const auto& a : *addrs) vips.push_back(a.address);
  }
  return vips;
}

Result<std::vector<IpAddress>> service_addresses(const BridgeState& state, int bridge_ifindex,
                                                 bool host_local) {
  auto vips = service_vips(state.uplinks);
  if (!vips) return vips;
  auto bridge_addrs = net::link_addresses(bridge_ifindex, AF_UNSPEC);
  if (!bridge_addrs) return make_error(bridge_addrs.error());
  for (const auto& a : *bridge_addrs) vips->push_back(a.address);
  if (host_local)
    for (const auto& lo : hostlocal::loopback_vips()) vips->push_back(lo);
  return vips;
}

TransactionOptions bridge_transaction(const std::string& state_dir, const std::string& bridge,
                                      int bridge_ifindex, bool host_local, MapWriter& maps) {
  TransactionOptions t;
  t.state_dir = state_dir;
  t.bridge = bridge;
  t.maps = &maps;
  t.default_addresses = [bridge_ifindex, host_local](const BridgeState& s) {
    return service_addresses(s, bridge_ifindex, host_local);
  };
  return t;
}

uint32_t ramped_weight(uint32_t weight, uint32_t scale, std::chrono::milliseconds elapsed,
                       std::chrono::milliseconds duration) {
  const uint64_t full = uint64_t{weight} * std::max<uint32_t>(scale, 1);
  if (duration.count() <= 0 || elapsed >= duration) return static_cast<uint32_t>(full);
  if (elapsed.count() <= 0) return 1;
  const uint64_t w = full * static_cast<uint64_t>(elapsed.count()) / static_cast<uint64_t>(duration.count());
  return static_cast<uint32_t>(std::max<uint64_t>(w, 1));
}

uint32_t ramp_scale(const BridgeState& state) {
  uint32_t max_weight = 1;
  for (const auto& b : state.backends) max_weight = std::max(max_weight, b.weight);
  return std::max<uint32_t>(1, XDPLB_MAX_WEIGHT / max_weight);
}

}  // namespace xdplb
