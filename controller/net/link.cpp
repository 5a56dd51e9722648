#include "net/link.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <optional>

#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

void parse_linkinfo_nest(const nlattr* nest, LinkInfo* link) {
  for_each_nested(nest, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
      link->kind.assign(static_cast<const char*>(mnl_attr_get_payload(attr)),
                        strnlen(static_cast<const char*>(mnl_attr_get_payload(attr)),
                                mnl_attr_get_payload_len(attr)));
  });
}

Result<LinkInfo> request_one(int ifindex, const std::string& name) {
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  if (!name.empty()) mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

  std::optional<Result<LinkInfo>> link;
  const Status st = sock->transact(nlh, [&](const nlmsghdr* m) { link = parse_link_message(m); });
  const std::string what =
      name.empty() ? "with ifindex " + std::to_string(ifindex) : "named '" + name + "'";
  if (!st.ok()) {
    if (sock->last_errno() == ENODEV)
      return make_error("no interface " + what + " — see `ip link`");
    return make_error("look up interface " + what + ": " + st.error());
  }
  if (!link) return make_error("look up interface " + what + ": kernel sent no link");
  return std::move(*link);
}

}  // namespace

Result<LinkInfo> parse_link_message(const nlmsghdr* nlh) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg)))
    return make_error("short RTM_NEWLINK message");
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkInfo link;
  link.ifindex = ifi->ifi_index;
  link.up = ifi->ifi_flags & IFF_UP;
  link.lower_up = ifi->ifi_flags & IFF_LOWER_UP;
  for_each_attr(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) link.name = mnl_attr_get_str(attr);
        break;
      case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(attr) == link.mac.size())
          std::memcpy(link.mac.data(), mnl_attr_get_payload(attr), link.mac.size());
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link.mtu = mnl_attr_get_u32(attr);
        break;
      case IFLA_MASTER:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link.master = mnl_attr_get_u32(attr);
        break;
      case IFLA_LINK:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) link.peer_ifindex = mnl_attr_get_u32(attr);
        break;
      case IFLA_LINK_NETNSID:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
          link.link_netnsid = static_cast<int32_t>(mnl_attr_get_u32(attr));
        break;
      case IFLA_LINKINFO:
        if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) parse_linkinfo_nest(attr, &link);
        break;
    }
  });
  if (link.name.empty()) return make_error("RTM_NEWLINK without a name");
  return link;
}

Result<LinkInfo> get_link(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return make_error("'" + name + "' is not a valid interface name");
  return request_one(0, name);
}

Result<LinkInfo> get_link(int ifindex) {
  if (ifindex <= 0) return make_error("invalid ifindex " + std::to_string(ifindex));
  return request_one(ifindex, "");
}

Result<std::vector<LinkInfo>> list_links() {
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_DUMP;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

  std::vector<LinkInfo> links;
  std::string parse_error;
  const Status st = sock->transact(nlh, [&](const nlmsghdr* m) {
    auto link = parse_link_message(m);
    if (link)
      links.push_back(std::move(*link));
    else
      parse_error = link.error();
  });
  if (!st.ok()) return make_error("list interfaces: " + st.error());
  if (!parse_error.empty()) return make_error("list interfaces: " + parse_error);
  return links;
}

}  // namespace xdplb::net
