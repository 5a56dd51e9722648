// Neighbours (ARP / NDP cache, RTM_*NEIGH): the MAC behind an IP on one interface, and a way
// to make the kernel resolve one it does not know yet.
#pragma once

#include <linux/netlink.h>

#include <chrono>

#include "core/ip.h"
#include "core/mac.h"
#include "core/result.h"

namespace xdplb::net {

struct NeighborEntry {
  int ifindex = 0;
  IpAddress address;
  Mac mac{};
  bool has_mac = false;
  uint16_t state = 0;  // NUD_* bits
};

// "REACHABLE", "STALE|...": for messages.
std::string neighbor_state_name(uint16_t nud_state);

// The MAC of `address` on `ifindex` if the kernel holds a usable entry (REACHABLE, STALE,
// DELAY, PROBE, PERMANENT or NOARP); an error naming the state otherwise.
Result<Mac> neighbor_mac(int ifindex, const IpAddress& address);

// Like neighbor_mac, but if the entry is missing or unusable ask the kernel to resolve it
// (RTM_NEWNEIGH with NTF_USE: creates the entry if needed and starts ARP / neighbour
// solicitation, as a packet to that address would) and poll until it resolves or `timeout`
// passes.
Result<Mac> resolve_neighbor(int ifindex, const IpAddress& address,
                             std::chrono::milliseconds timeout = std::chrono::seconds(3));

// Parse one RTM_NEWNEIGH / RTM_DELNEIGH message (also used by NetlinkMonitor).
Result<NeighborEntry> parse_neighbor_message(const nlmsghdr* nlh);

}  // namespace xdplb::net
