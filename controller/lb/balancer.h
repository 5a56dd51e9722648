// Programs a bridge's datapath from its saved state: the services (every VIP x port x proto)
// and the Maglev ring of the pool. Shared by the CLI and the daemon so both program the maps
// the same way.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "core/ip.h"
#include "core/maglev.h"
#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"

namespace xdplb {

// One pool (ring + member list) per address family: a service on an IPv4 VIP is served by the
// IPv4 backends, one on an IPv6 VIP by the IPv6 ones (the datapath translates addresses, never
// families).
inline constexpr uint32_t kPoolIpv4 = 0;
inline constexpr uint32_t kPoolIpv6 = 1;
inline constexpr uint32_t pool_of_family(int family) { return family == 6 ? kPoolIpv6 : kPoolIpv4; }
inline uint32_t pool_of(const IpAddress& a) { return pool_of_family(a.is_v6() ? 6 : 4); }

// The VIPs external clients use: every global IPv4 and IPv6 address of the uplinks.
Result<std::vector<IpAddress>> service_vips(const std::vector<std::string>& uplinks);

// Every address a bridge's service answers on: the uplinks' (external clients), the bridge's
// own (containers on it — hairpin — and the host), and 127.0.0.1 / ::1 when host-local clients
// are served. One list for attach, status and anything that reprograms the services.
Result<std::vector<IpAddress>> service_addresses(const BridgeState& state, int bridge_ifindex,
                                                 bool host_local);

// The service keys for those VIPs, the state's port and protocols.
std::vector<ServiceKey> service_keys(const BridgeState& state, const std::vector<IpAddress>& vips);

// The identity Maglev hashes for a backend: the container name, else "addr:port". Stable across
// restarts and nodes.
std::string maglev_key(const SavedBackend& b);

// Whether a backend takes new flows: it has an address, is not down (container stopped or
// failed health checks) and is not drained.
bool in_ring(const SavedBackend& b);

// The state's scheduler as enum xdplb_scheduler (maglev if the name is unknown; the state
// loader has checked it).
uint32_t scheduler_of(const BridgeState& state);

// Writes one pool's placement data from the backends that take new flows: the Maglev ring
// (maglev, weighted) and the member list of ids and weights (round-robin, least-conn). Call it
// once per pool.
Status program_pool(Datapath& dp, uint32_t pool, const std::vector<MaglevBackend>& members);

// The weight a backend gets in the ring and member list; empty: its saved weight.
using WeightOf = std::function<uint32_t(const SavedBackend&)>;

// Rebuilds both pools' rings and member lists from the state's backends (each family's into
// its pool) and writes them, and sets the state's scheduler on the pools' services.
Status rebuild_ring(Datapath& dp, const BridgeState& state, const WeightOf& weight_of = {});

// Slow start: the weight of a backend that came back `elapsed` ago and ramps up over
// `duration`, on a scale where its full weight is weight * scale (a scale above 1 lets a
// backend of weight 1 ramp in steps too; the others then get weight * scale). At least 1, at
// most weight * scale.
uint32_t ramped_weight(uint32_t weight, uint32_t scale, std::chrono::milliseconds elapsed,
                       std::chrono::milliseconds duration);
// The largest scale that keeps every weight of the state within XDPLB_MAX_WEIGHT.
uint32_t ramp_scale(const BridgeState& state);

// Writes services (with the state's scheduler) and ring.
Status program_services(Datapath& dp, const BridgeState& state, const std::vector<IpAddress>& vips);

}  // namespace xdplb
