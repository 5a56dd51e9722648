// Programs a bridge's datapath from its saved state: the services (every VIP x port x proto)
// and the Maglev ring of the pool. Shared by the CLI and the daemon so both program the maps
// the same way.
#pragma once

#include <vector>

#include "core/ip.h"
#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"

namespace xdplb {

// One pool (Maglev ring) per address family: a service on an IPv4 VIP is served by the IPv4
// backends, one on an IPv6 VIP by the IPv6 ones (the datapath translates addresses, never
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

// Rebuilds both pools' Maglev rings from the state's backends and writes them.
Status rebuild_ring(Datapath& dp, const BridgeState& state);

// Writes services and ring.
Status program_services(Datapath& dp, const BridgeState& state, const std::vector<IpAddress>& vips);

}  // namespace xdplb
