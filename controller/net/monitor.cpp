#include "net/monitor.h"

#include <linux/rtnetlink.h>

namespace xdplb::net {

Result<NetlinkMonitor> NetlinkMonitor::open() {
  auto sock = NetlinkSocket::open(
      NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_NEIGH);
  if (!sock) return make_error("subscribe to network events: " + sock.error());
  return NetlinkMonitor(std::move(*sock));
}

Status NetlinkMonitor::read_events(const std::function<void(const NetEvent&)>& on_event) {
  // Messages that do not parse (a family this code does not know) are skipped: one odd
  // message must not stop the daemon from seeing the rest.
  return sock_.drain([&](const nlmsghdr* m) {
    switch (m->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        if (auto link = parse_link_message(m))
          on_event(LinkEvent{m->nlmsg_type == RTM_DELLINK, std::move(*link)});
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        if (auto addr = parse_address_message(m))
          on_event(AddressEvent{m->nlmsg_type == RTM_DELADDR, *addr});
        break;
      case RTM_NEWNEIGH:
      case RTM_DELNEIGH:
        if (auto neigh = parse_neighbor_message(m))
          on_event(NeighborEvent{m->nlmsg_type == RTM_DELNEIGH, *neigh});
        break;
    }
  });
}

}  // namespace xdplb::net
