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
#include "lb/transaction.h"
#include "net/link.h"

namespace xdplb {

// How long a container that is starting may take to get its address.
inline constexpr std::chrono::milliseconds kDefaultContainerWait{5000};

// How to look a named backend up: LXD, LXC, or both (Auto; also for Addr, which has no name).
ContainerSource container_source(BackendSource s);

// The container's first address of `family` (4 or 6), if it has one.
std::optional<IpAddress> address_of_family(const ContainerInfo& info, int family);

// A container reports its own addresses (root in it may claim the bridge's or another's):
// keeps only the ones of `family` (4 or 6) inside the bridge's subnet that are not the host's;
// an error that says why if it had some and none is left.
Status keep_claimable_addresses(ContainerInfo& info, const net::LinkInfo& bridge, int family);

// Resolves and plans one backend; records address (containers), path, via and reason in `b`.
// A named backend is resolved again: its veth changes on every restart. Writes nothing: the
// caller puts plan.entry through a transaction (`active` false: an inactive entry — the daemon:
// a backend still failing its health checks, so flows pinned to it are re-placed).
Result<ForwardingPlan> resolve_backend(const net::LinkInfo& bridge, SavedBackend& b,
                                       std::chrono::milliseconds wait = kDefaultContainerWait,
                                       bool active = true);

// Takes a backend out of service without forgetting it (its container stopped): marks it
// down and asks for its entry to be cleared.
void mark_down(SavedBackend& b, const std::string& why, EntryChanges& entries);

// Resolves every backend of `state` (attach after a reboot or detach) into `entries`; one line
// of report per backend. One that cannot be resolved is marked down and reported, not fatal.
std::vector<std::string> resolve_backends(const net::LinkInfo& bridge, BridgeState& state, EntryChanges& entries);

// The saved backends of service `svc` a user means: a container name (one entry per address
// family), or ADDR[:PORT] (one entry). An error names what is missing and where to look.
Result<std::vector<size_t>> find_backends(const BridgeState& state, const ServiceConfig& svc,
                                          const std::string& target);

// "10.0.3.11:80" or "web1 (10.0.3.11:80)".
std::string describe(const SavedBackend& b);

}  // namespace xdplb
