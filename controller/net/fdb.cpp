#include "net/fdb.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

struct FdbEntry {
  int port = 0;
  int master = 0;
  Mac mac{};
  bool has_mac = false;
  uint16_t state = 0;
};

FdbEntry parse_fdb(const nlmsghdr* nlh) {
  FdbEntry e;
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ndmsg))) return e;
  const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ndm->ndm_family != AF_BRIDGE) return e;
  e.port = ndm->ndm_ifindex;
  e.state = ndm->ndm_state;
  for_each_attr(nlh, sizeof(ndmsg), [&](const nlattr* attr) {
    const auto type = mnl_attr_get_type(attr);
    if (type == NDA_LLADDR && mnl_attr_get_payload_len(attr) == e.mac.size()) {
      std::memcpy(e.mac.data(), mnl_attr_get_payload(attr), e.mac.size());
      e.has_mac = true;
    }
    if (type == NDA_MASTER && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
      e.master = mnl_attr_get_u32(attr);
  });
  return e;
}

}  // namespace

Result<int> bridge_port_for_mac(int bridge_ifindex, const Mac& mac) {
  if (bridge_ifindex <= 0)
    return make_error("invalid bridge ifindex " + std::to_string(bridge_ifindex));
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());

  // Same request as `bridge fdb show br X`: an ifinfomsg with IFLA_MASTER, which the kernel
  // reads as "entries of this bridge's ports".
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETNEIGH;
  nlh->nlmsg_flags = NLM_F_DUMP;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_BRIDGE;
  mnl_attr_put_u32(nlh, IFLA_MASTER, bridge_ifindex);

  int learned_port = 0, permanent_port = 0;
  const Status st = sock->transact(nlh, [&](const nlmsghdr* m) {
    const FdbEntry e = parse_fdb(m);
    // Entries on the bridge device itself are its own addresses, not a port.
    if (!e.has_mac || e.mac != mac || e.master != bridge_ifindex || e.port == bridge_ifindex)
      return;
    // A port's own MAC appears as a PERMANENT "local" entry; a learned entry for the same MAC
    // (a host behind the port) is the better answer.
    if (e.state & NUD_PERMANENT)
      permanent_port = e.port;
    else
      learned_port = e.port;
  });
  if (!st.ok())
    return make_error("read FDB of bridge ifindex " + std::to_string(bridge_ifindex) + ": " +
                      st.error());
  if (learned_port) return learned_port;
  if (permanent_port) return permanent_port;
  return make_error("bridge ifindex " + std::to_string(bridge_ifindex) + " has no FDB entry for " +
                    to_string(mac) + " — no frame from it seen yet; see `bridge fdb show`");
}

}  // namespace xdplb::net
