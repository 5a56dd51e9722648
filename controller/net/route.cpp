#include "net/route.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "net/link.h"
#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

// Output interfaces of one route message if it is a unicast default route of the main table.
void collect_default_oifs(const nlmsghdr* nlh, std::set<int>* oifs) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) return;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST) return;
  uint32_t table = rtm->rtm_table;
  std::set<int> found;
  for_each_attr(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) table = mnl_attr_get_u32(attr);
        break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) found.insert(mnl_attr_get_u32(attr));
        break;
      case RTA_MULTIPATH: {
        // A packed array of rtnexthop, each followed by its own attributes.
        const char* p = static_cast<const char*>(mnl_attr_get_payload(attr));
        size_t left = mnl_attr_get_payload_len(attr);
        for (int guard = 0; left >= sizeof(rtnexthop) && guard < 256; ++guard) {
          const auto* nh = reinterpret_cast<const rtnexthop*>(p);
          if (nh->rtnh_len < sizeof(rtnexthop) || nh->rtnh_len > left) break;
          found.insert(nh->rtnh_ifindex);
          const size_t step = RTNH_ALIGN(nh->rtnh_len);
          if (step >= left) break;
          p += step;
          left -= step;
        }
        break;
      }
    }
  });
  if (table != RT_TABLE_MAIN) return;
  oifs->insert(found.begin(), found.end());
}

}  // namespace

Result<std::vector<std::string>> default_route_interfaces() {
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  std::set<int> oifs;
  for (const int family : {AF_INET, AF_INET6}) {
    char buf[NetlinkSocket::kRequestSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_DUMP;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family;
    const Status st =
        sock->transact(nlh, [&](const nlmsghdr* m) { collect_default_oifs(m, &oifs); });
    if (!st.ok())
      return make_error(std::string("read ") + (family == AF_INET ? "IPv4" : "IPv6") +
                        " routes: " + st.error());
  }
  std::vector<std::string> names;
  for (const int ifindex : oifs) {
    if (ifindex == 0) continue;  // route via a nexthop object: no direct oif to report
    auto link = get_link(ifindex);
    if (!link) return make_error("default route interface: " + link.error());
    names.push_back(link->name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace xdplb::net
