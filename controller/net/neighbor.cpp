#include "net/neighbor.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <thread>

#include "net/link.h"
#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

constexpr uint16_t kUsable =
    NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

// How often resolve_neighbor looks again while the kernel is resolving.
constexpr auto kPollInterval = std::chrono::milliseconds(20);

size_t address_size(int family) { return family == AF_INET ? 4 : 16; }

nlmsghdr* put_neigh_header(char* buf, uint16_t type, int ifindex, const IpAddress& address) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = address.family;
  ndm->ndm_ifindex = ifindex;
  mnl_attr_put(nlh, NDA_DST, address_size(address.family), address.bytes.data());
  return nlh;
}

// The kernel's entry for (ifindex, address), or nullopt if it has none.
Result<std::optional<NeighborEntry>> lookup(NetlinkSocket& sock, int ifindex,
                                            const IpAddress& address) {
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = put_neigh_header(buf, RTM_GETNEIGH, ifindex, address);
  std::optional<Result<NeighborEntry>> entry;
  const Status st =
      sock.transact(nlh, [&](const nlmsghdr* m) { entry = parse_neighbor_message(m); });
  if (!st.ok()) {
    if (sock.last_errno() == ENOENT) return std::optional<NeighborEntry>{};
    return make_error(st.error());
  }
  if (!entry) return std::optional<NeighborEntry>{};
  if (!entry->ok()) return make_error(entry->error());
  return std::optional<NeighborEntry>{entry->value()};
}

bool usable(const NeighborEntry& e) { return (e.state & kUsable) && e.has_mac; }

Status check_args(int ifindex, const IpAddress& address) {
  if (ifindex <= 0) return make_error("invalid ifindex " + std::to_string(ifindex));
  if (!address.is_v4() && !address.is_v6()) return make_error("neighbour address is unset");
  return {};
}

// For messages: the interface by name when it can be had ("on xnlbr0"), else by index.
std::string where(int ifindex, const IpAddress& address) {
  auto link = get_link(ifindex);
  const std::string on = link ? link->name : "ifindex " + std::to_string(ifindex);
  return "neighbour " + address.to_string() + " on " + on;
}

}  // namespace

std::string neighbor_state_name(uint16_t state) {
  static const std::pair<uint16_t, const char*> names[] = {
      {NUD_INCOMPLETE, "INCOMPLETE"}, {NUD_REACHABLE, "REACHABLE"}, {NUD_STALE, "STALE"},
      {NUD_DELAY, "DELAY"},           {NUD_PROBE, "PROBE"},         {NUD_FAILED, "FAILED"},
      {NUD_NOARP, "NOARP"},           {NUD_PERMANENT, "PERMANENT"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (state & bit) out += (out.empty() ? "" : "|") + std::string(name);
  return out.empty() ? "NONE" : out;
}

Result<NeighborEntry> parse_neighbor_message(const nlmsghdr* nlh) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ndmsg))) return make_error("short RTM_NEWNEIGH");
  const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  NeighborEntry e;
  e.ifindex = ndm->ndm_ifindex;
  e.state = ndm->ndm_state;
  for_each_attr(nlh, sizeof(ndmsg), [&](const nlattr* attr) {
    const auto type = mnl_attr_get_type(attr);
    const auto len = mnl_attr_get_payload_len(attr);
    if (type == NDA_DST && (ndm->ndm_family == AF_INET || ndm->ndm_family == AF_INET6) &&
        len == address_size(ndm->ndm_family))
      e.address = IpAddress::from_bytes(ndm->ndm_family, mnl_attr_get_payload(attr));
    if (type == NDA_LLADDR && len == e.mac.size()) {
      std::memcpy(e.mac.data(), mnl_attr_get_payload(attr), e.mac.size());
      e.has_mac = true;
    }
  });
  return e;
}

Result<Mac> neighbor_mac(int ifindex, const IpAddress& address) {
  XDPLB_TRY(check_args(ifindex, address));
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  auto entry = lookup(*sock, ifindex, address);
  if (!entry) return make_error("look up " + where(ifindex, address) + ": " + entry.error());
  if (!*entry)
    return make_error(where(ifindex, address) +
                      " is unknown — resolve it first (resolve_neighbor) or check `ip neigh`");
  if (!usable(**entry))
    return make_error(where(ifindex, address) + " is " + neighbor_state_name((*entry)->state) +
                      ", not resolved — is the host up on that link?");
  return (*entry)->mac;
}

Result<Mac> resolve_neighbor(int ifindex, const IpAddress& address,
                             std::chrono::milliseconds timeout) {
  XDPLB_TRY(check_args(ifindex, address));
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  auto entry = lookup(*sock, ifindex, address);
  if (!entry) return make_error("look up " + where(ifindex, address) + ": " + entry.error());
  if (*entry && usable(**entry)) return (*entry)->mac;

  // NTF_USE makes the kernel run neigh_event_send() on the entry (creating it with
  // NLM_F_CREATE): the same path a packet queued for that address takes, so it sends an ARP
  // request / neighbour solicitation without us sending any traffic ourselves.
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = put_neigh_header(buf, RTM_NEWNEIGH, ifindex, address);
  nlh->nlmsg_flags |= NLM_F_CREATE;
  static_cast<ndmsg*>(mnl_nlmsg_get_payload(nlh))->ndm_flags = NTF_USE;
  const Status st = sock->transact(nlh);
  if (!st.ok())
    return make_error("ask the kernel to resolve " + where(ifindex, address) + ": " + st.error());

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint16_t last_state = 0;
  for (;;) {
    entry = lookup(*sock, ifindex, address);
    if (!entry) return make_error("look up " + where(ifindex, address) + ": " + entry.error());
    if (*entry) {
      if (usable(**entry)) return (*entry)->mac;
      last_state = (*entry)->state;
      if (last_state & NUD_FAILED) break;  // the kernel gave up: no point in waiting longer
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  return make_error(where(ifindex, address) + " did not resolve within " +
                    std::to_string(timeout.count()) + " ms (state " +
                    neighbor_state_name(last_state) + ") — is the host up on that link?");
}

}  // namespace xdplb::net
