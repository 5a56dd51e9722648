#include "net/address.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

size_t address_size(int family) { return family == AF_INET ? 4 : 16; }

// ifindex 0 = every interface. The kernel filters a dump by index only for "strict" sockets,
// so filter here.
Result<std::vector<InterfaceAddress>> dump_global(int ifindex, int family) {
  if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
    return make_error("address family must be AF_INET, AF_INET6 or AF_UNSPEC");
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = family;

  std::vector<InterfaceAddress> out;
  std::string parse_error;
  const Status st = sock->transact(nlh, [&](const nlmsghdr* m) {
    auto a = parse_address_message(m);
    if (!a) {
      parse_error = a.error();
      return;
    }
    if (ifindex && a->ifindex != ifindex) return;
    if (a->scope != RT_SCOPE_UNIVERSE) return;
    out.push_back(*a);
  });
  if (!st.ok()) return make_error("list addresses: " + st.error());
  if (!parse_error.empty()) return make_error("list addresses: " + parse_error);
  return out;
}

}  // namespace

Result<InterfaceAddress> parse_address_message(const nlmsghdr* nlh) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg)))
    return make_error("short RTM_NEWADDR message");
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
    return make_error("RTM_NEWADDR of unknown family " + std::to_string(ifa->ifa_family));
  InterfaceAddress a;
  a.ifindex = static_cast<int>(ifa->ifa_index);
  a.prefix_len = ifa->ifa_prefixlen;
  a.scope = ifa->ifa_scope;
  uint32_t flags = ifa->ifa_flags;
  // IFA_LOCAL is this host's address; IFA_ADDRESS is the peer's on point-to-point links and
  // the only one IPv6 sends.
  const void* local = nullptr;
  const void* address = nullptr;
  const size_t size = address_size(ifa->ifa_family);
  for_each_attr(nlh, sizeof(ifaddrmsg), [&](const nlattr* attr) {
    const auto type = mnl_attr_get_type(attr);
    if ((type == IFA_LOCAL || type == IFA_ADDRESS) && mnl_attr_get_payload_len(attr) == size)
      (type == IFA_LOCAL ? local : address) = mnl_attr_get_payload(attr);
    if (type == IFA_FLAGS && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
      flags = mnl_attr_get_u32(attr);
  });
  const void* chosen = local ? local : address;
  if (!chosen) return make_error("RTM_NEWADDR without an address");
  a.address = IpAddress::from_bytes(ifa->ifa_family, chosen);
  a.tentative = flags & IFA_F_TENTATIVE;
  return a;
}

Result<std::vector<InterfaceAddress>> link_addresses(int ifindex, int family) {
  if (ifindex <= 0) return make_error("invalid ifindex " + std::to_string(ifindex));
  return dump_global(ifindex, family);
}

Result<std::vector<InterfaceAddress>> all_local_addresses(int family) {
  return dump_global(0, family);
}

}  // namespace xdplb::net
