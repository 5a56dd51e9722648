#include "lb/balancer.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "core/maglev.h"
#include "core/parse.h"
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

std::vector<ServiceKey> service_keys(const BridgeState& state, const std::vector<IpAddress>& vips) {
  std::vector<ServiceKey> keys;
  for (const auto& vip : vips) {
    if (state.tcp) keys.push_back({vip, state.port, IPPROTO_TCP});
    if (state.udp) keys.push_back({vip, state.port, IPPROTO_UDP});
  }
  return keys;
}

bool in_ring(const SavedBackend& b) {
  // No address / container stopped, failed its health checks, or drained by the user.
  return b.addr.family != 0 && b.path != "down" && b.health != "down" && !b.drained;
}

std::string maglev_key(const SavedBackend& b) {
  if (!b.name.empty()) return b.name;
  return Endpoint{b.addr, b.port}.to_string();
}

uint32_t scheduler_of(const BridgeState& state) {
  auto s = parse_scheduler(state.scheduler);
  return s ? *s : uint32_t{XDPLB_SCHED_MAGLEV};
}

Status program_pool(Datapath& dp, uint32_t pool, const std::vector<MaglevBackend>& members) {
  std::vector<PoolMember> list;
  for (const auto& m : members) list.push_back({m.id, m.weight});
  std::sort(list.begin(), list.end(), [](const PoolMember& a, const PoolMember& b) { return a.id < b.id; });
  auto ring = build_maglev_ring(members);
  if (!ring) return make_error("building the Maglev ring: " + ring.error());
  // Ring first: a member list that names a backend the ring does not have yet never happens.
  XDPLB_TRY(dp.write_ring(pool, *ring));
  return dp.write_pool_members(pool, list);
}

Status rebuild_ring(Datapath& dp, const BridgeState& state, const WeightOf& weight_of) {
  for (int family : {4, 6}) {
    std::vector<MaglevBackend> members;
    for (const auto& b : state.backends) {
      if (b.family != family || !in_ring(b)) continue;
      members.push_back({b.id, maglev_key(b), weight_of ? weight_of(b) : b.weight});
    }
    const uint32_t pool = pool_of_family(family);
    if (auto s = program_pool(dp, pool, members); !s)
      return make_error("IPv" + std::to_string(family) + " pool: " + s.error());
    XDPLB_TRY(dp.set_scheduler(pool, scheduler_of(state)));
  }
  return {};
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

Status program_services(Datapath& dp, const BridgeState& state, const std::vector<IpAddress>& vips) {
  for (const auto& key : service_keys(state, vips))
    XDPLB_TRY(dp.put_service(key, pool_of(key.vip), scheduler_of(state)));
  return rebuild_ring(dp, state);
}

}  // namespace xdplb
