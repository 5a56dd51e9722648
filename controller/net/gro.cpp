// Why ethtool netlink and not the ETHTOOL_GGRO/SGRO ioctl: netlink is the interface the
// kernel extends (the ioctl is legacy), it needs no AF_INET socket or interface name, it
// reports errors with extended acks, and libmnl already carries everything else in net/.
// The price is resolving the "ethtool" generic-netlink family id first, one extra request.
#include "net/gro.h"

#include <libmnl/libmnl.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>

#include <cstring>
#include <string>

#include "net/netlink_attr.h"
#include "net/netlink_socket.h"
#include "net/netns.h"

namespace xdplb::net {

namespace {

constexpr const char* kGroFeature = "rx-gro";  // netdev_features_strings[NETIF_F_GRO_BIT]

struct EthtoolSocket {
  NetlinkSocket sock;
  uint16_t family = 0;
};

Result<EthtoolSocket> open_ethtool() {
  auto sock = NetlinkSocket::open(NETLINK_GENERIC);
  if (!sock) return make_error(sock.error());
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = GENL_ID_CTRL;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, ETHTOOL_GENL_NAME);
  uint16_t family = 0;
  const Status st = sock->transact(nlh, [&](const nlmsghdr* m) {
    for_each_attr(m, sizeof(genlmsghdr), [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
          mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
        family = mnl_attr_get_u16(attr);
    });
  });
  if (!st.ok() || family == 0)
    return make_error(
        "find the ethtool netlink family (kernel built without "
        "CONFIG_ETHTOOL_NETLINK?)" +
        (st.ok() ? "" : ": " + st.error()));
  return EthtoolSocket{std::move(*sock), family};
}

nlmsghdr* put_ethtool_header(char* buf, uint16_t family, uint8_t cmd, int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = family;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  genl->cmd = cmd;
  genl->version = ETHTOOL_GENL_VERSION;
  nlattr* header = mnl_attr_nest_start(nlh, ETHTOOL_A_FEATURES_HEADER);
  mnl_attr_put_u32(nlh, ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
  mnl_attr_nest_end(nlh, header);
  return nlh;
}

// Whether the bit named `name` is set in a verbose (non-compact) bitset. In list form
// (NOMASK) the kernel lists only the set bits; otherwise each bit carries a VALUE flag.
bool bitset_has(const nlattr* bitset, const char* name) {
  bool list_form = false;
  const nlattr* bits = nullptr;
  for_each_nested(bitset, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == ETHTOOL_A_BITSET_NOMASK) list_form = true;
    if (mnl_attr_get_type(attr) == ETHTOOL_A_BITSET_BITS) bits = attr;
  });
  if (!bits) return false;
  bool set = false;
  for_each_nested(bits, [&](const nlattr* bit) {
    if (mnl_attr_get_type(bit) != ETHTOOL_A_BITSET_BITS_BIT) return;
    bool named = false, value = false;
    for_each_nested(bit, [&](const nlattr* field) {
      if (mnl_attr_get_type(field) == ETHTOOL_A_BITSET_BIT_NAME &&
          mnl_attr_validate(field, MNL_TYPE_NUL_STRING) >= 0)
        named = std::strcmp(mnl_attr_get_str(field), name) == 0;
      if (mnl_attr_get_type(field) == ETHTOOL_A_BITSET_BIT_VALUE) value = true;
    });
    if (named) set = list_form || value;
  });
  return set;
}

Result<bool> read_gro(EthtoolSocket& ethtool, int ifindex) {
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = put_ethtool_header(buf, ethtool.family, ETHTOOL_MSG_FEATURES_GET, ifindex);
  bool on = false, answered = false;
  const Status st = ethtool.sock.transact(nlh, [&](const nlmsghdr* m) {
    for_each_attr(m, sizeof(genlmsghdr), [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) == ETHTOOL_A_FEATURES_ACTIVE) {
        on = bitset_has(attr, kGroFeature);
        answered = true;
      }
    });
  });
  if (!st.ok()) return make_error(st.error());
  if (!answered) return make_error("kernel sent no active feature set");
  return on;
}

std::string on_off(bool on) { return on ? "on" : "off"; }

}  // namespace

Result<bool> get_gro(int ifindex) {
  if (ifindex <= 0) return make_error("invalid ifindex " + std::to_string(ifindex));
  auto ethtool = open_ethtool();
  if (!ethtool) return make_error(ethtool.error());
  return with_context(read_gro(*ethtool, ifindex),
                      "read GRO of ifindex " + std::to_string(ifindex));
}

Status set_gro(int ifindex, bool on) {
  if (ifindex <= 0) return make_error("invalid ifindex " + std::to_string(ifindex));
  const std::string what = "switch GRO " + on_off(on) + " on ifindex " + std::to_string(ifindex);
  auto ethtool = open_ethtool();
  if (!ethtool) return make_error(what + ": " + ethtool.error());

  // WANTED with a mask (no NOMASK): only the listed bit changes, like `ethtool -K dev gro on`.
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = put_ethtool_header(buf, ethtool->family, ETHTOOL_MSG_FEATURES_SET, ifindex);
  nlattr* wanted = mnl_attr_nest_start(nlh, ETHTOOL_A_FEATURES_WANTED);
  nlattr* bits = mnl_attr_nest_start(nlh, ETHTOOL_A_BITSET_BITS);
  nlattr* bit = mnl_attr_nest_start(nlh, ETHTOOL_A_BITSET_BITS_BIT);
  mnl_attr_put_strz(nlh, ETHTOOL_A_BITSET_BIT_NAME, kGroFeature);
  if (on) mnl_attr_put(nlh, ETHTOOL_A_BITSET_BIT_VALUE, 0, nullptr);
  mnl_attr_nest_end(nlh, bit);
  mnl_attr_nest_end(nlh, bits);
  mnl_attr_nest_end(nlh, wanted);
  const Status st = ethtool->sock.transact(nlh);
  if (!st.ok()) return make_error(what + ": " + st.error());

  // The kernel accepts a wish it cannot grant (a fixed feature); check what is active.
  auto now = read_gro(*ethtool, ifindex);
  if (!now) return make_error(what + ": read back: " + now.error());
  if (*now != on)
    return make_error(what + ": the device kept GRO " + on_off(*now) +
                      " (fixed for this device? see `ethtool -k`)");
  return {};
}

Result<bool> get_gro(const UniqueFd& netns, int ifindex) {
  return run_in_netns(netns.get(), [&] { return get_gro(ifindex); });
}

Status set_gro(const UniqueFd& netns, int ifindex, bool on) {
  return run_in_netns(netns.get(), [&] { return set_gro(ifindex, on); });
}

}  // namespace xdplb::net
