// Links (network interfaces) as rtnetlink reports them: name, MAC, kind, bridge master, veth
// peer. Everything works in the network namespace of the calling thread.
#pragma once

#include <linux/netlink.h>

#include <string>
#include <vector>

#include "core/mac.h"
#include "core/result.h"

namespace xdplb::net {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  Mac mac{};
  std::string kind;       // IFLA_INFO_KIND: "veth", "bridge", ... ("" for e.g. loopback)
  int master = 0;         // ifindex of the bridge (or bond) this link is a port of; 0 if none
  bool up = false;        // administratively up (IFF_UP)
  bool lower_up = false;  // carrier (IFF_LOWER_UP)
  int peer_ifindex = 0;   // IFLA_LINK: a veth's peer, as numbered in the peer's namespace
  int link_netnsid = -1;  // IFLA_LINK_NETNSID: the peer's namespace id as seen from here
  unsigned mtu = 0;
};

Result<LinkInfo> get_link(const std::string& name);
Result<LinkInfo> get_link(int ifindex);
Result<std::vector<LinkInfo>> list_links();

// Parse one RTM_NEWLINK / RTM_DELLINK message (also used by NetlinkMonitor).
Result<LinkInfo> parse_link_message(const nlmsghdr* nlh);

}  // namespace xdplb::net
