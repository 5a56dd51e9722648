// Interface addresses (RTM_GETADDR) in the calling thread's network namespace.
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>

#include <vector>

#include "core/ip.h"
#include "core/result.h"

namespace xdplb::net {

struct InterfaceAddress {
  int ifindex = 0;
  IpAddress address;
  int prefix_len = 0;
  int scope = 0;           // RT_SCOPE_UNIVERSE (global), RT_SCOPE_LINK, RT_SCOPE_HOST
  bool tentative = false;  // IPv6 duplicate address detection still running
};

// Global-scope addresses of one interface. family: AF_INET, AF_INET6 or AF_UNSPEC for both.
Result<std::vector<InterfaceAddress>> link_addresses(int ifindex, int family = AF_UNSPEC);

// Global-scope addresses of every interface (what a VIP must not collide with, or may equal).
Result<std::vector<InterfaceAddress>> all_local_addresses(int family = AF_UNSPEC);

// Parse one RTM_NEWADDR / RTM_DELADDR message (also used by NetlinkMonitor).
Result<InterfaceAddress> parse_address_message(const nlmsghdr* nlh);

}  // namespace xdplb::net
