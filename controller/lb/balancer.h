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

// The pool every service of a bridge uses (one service per attached bridge for now).
inline constexpr uint32_t kDefaultPool = 0;

// The VIPs external clients use: every global IPv4 address of the uplinks.
Result<std::vector<IpAddress>> service_vips(const std::vector<std::string>& uplinks);

// Every address a bridge's service answers on: the uplinks' (external clients), the bridge's
// own (containers on it — hairpin — and the host), and 127.0.0.1 when host-local clients are
// served. One list for attach, status and anything that reprograms the services.
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

// Rebuilds the pool's Maglev ring from the state's backends and writes it.
Status rebuild_ring(Datapath& dp, const BridgeState& state);

// Writes services and ring.
Status program_services(Datapath& dp, const BridgeState& state, const std::vector<IpAddress>& vips);

}  // namespace xdplb
