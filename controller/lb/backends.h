// Installing a bridge's saved backends into its datapath: resolve each (containers by name,
// through LXD / LXC) to a forwarding plan, write its entry, and remember how it is reached.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "containers/container_info.h"
#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/forwarding.h"
#include "net/link.h"

namespace xdplb {

// How long a container that is starting may take to get its address.
inline constexpr std::chrono::milliseconds kDefaultContainerWait{5000};

// The container's first address of `family` (4 or 6), if it has one.
std::optional<IpAddress> address_of_family(const ContainerInfo& info, int family);

// A container reports its own addresses (root in it may claim the bridge's or another's):
// keeps only the ones of `family` (4 or 6) inside the bridge's subnet that are not the host's;
// an error that says why if it had some and none is left.
Status keep_claimable_addresses(ContainerInfo& info, const net::LinkInfo& bridge, int family);

// Plans and writes one backend; records address (containers), path, via and reason in `b`.
// A named backend is resolved again: its veth changes on every restart.
// `active` false writes the entry inactive (the daemon: a backend still failing its health
// checks), so flows pinned to it are re-placed.
Result<ForwardingPlan> install_backend(Datapath& dp, const net::LinkInfo& bridge, SavedBackend& b,
                                       std::chrono::milliseconds wait = kDefaultContainerWait,
                                       bool active = true);

// Takes a backend out of service without forgetting it (its container stopped): marks it
// "down" and clears its datapath entry. The caller rebuilds the ring.
Status mark_down(Datapath& dp, SavedBackend& b, const std::string& why);

// Installs every backend of `state` (attach after a reboot or detach); one line of report per
// backend. One that cannot be installed is marked down and reported, not fatal.
std::vector<std::string> program_backends(Datapath& dp, const net::LinkInfo& bridge,
                                          BridgeState& state);

// The saved backends a user means: a container name (one entry per address family), or
// ADDR[:PORT] (one entry). An error names what is missing and where to look.
Result<std::vector<size_t>> find_backends(const BridgeState& state, const std::string& target);

// "10.0.3.11:80" or "web1 (10.0.3.11:80)".
std::string describe(const SavedBackend& b);

}  // namespace xdplb
