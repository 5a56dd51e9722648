// GRO (generic receive offload) of one interface, read and set over ethtool netlink
// (ETHTOOL_MSG_FEATURES_GET/SET, feature "rx-gro"). On a veth, GRO on gives that end NAPI;
// the datapath's XDP redirect into a backend's host-side veth only works when the
// container-side end has NAPI, so this is how the fast path becomes usable.
#pragma once

#include "core/fd.h"
#include "core/result.h"

namespace xdplb::net {

// In the calling thread's namespace.
Result<bool> get_gro(int ifindex);
Status set_gro(int ifindex, bool on);

// In the namespace `netns` (ifindex as numbered there), e.g. a container's eth0 found
// through find_peer_netns() and LinkInfo::peer_ifindex. (A UniqueFd, not an int, so that
// set_gro(fd, ifindex) cannot silently mean set_gro(ifindex, on).)
Result<bool> get_gro(const UniqueFd& netns, int ifindex);
Status set_gro(const UniqueFd& netns, int ifindex, bool on);

}  // namespace xdplb::net
