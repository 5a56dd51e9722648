// The host's addresses as the address policy (core/address_policy.h) needs them, read through
// netlink, and the uplink guard written from them: at attach, and by the daemon whenever an
// address comes or goes.
#pragma once

#include <vector>

#include "core/ip.h"
#include "core/prefix.h"
#include "core/result.h"
#include "datapath/datapath.h"

namespace xdplb {

struct HostAddresses {
  std::vector<IpPrefix> bridge_subnets;  // the bridge's global addresses with their prefixes
  std::vector<IpAddress> host;           // every global address of the host (bridge included)
};

// Call from a thread in the host's network namespace.
Result<HostAddresses> read_host_addresses(int bridge_ifindex);

// Writes the uplink guard of dp for the bridge's and the host's current addresses; returns
// the prefixes written.
Result<std::vector<IpPrefix>> write_uplink_guard(Datapath& dp, int bridge_ifindex);

}  // namespace xdplb
