// The desired BridgeState of a bridge from its config and its saved state: services kept (same
// slot) or added, backends kept (same id, health, drain as written) or added or removed. Pure:
// resolving the new backends (containers through LXD/LXC) is the caller's job, for the entries
// listed in `resolve`.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "core/state.h"

namespace xdplb::config {

struct Reconciled {
  BridgeState state;            // the state to save
  std::vector<size_t> resolve;  // indices into state.backends: new or changed, resolve them
  std::set<uint32_t> new_ids;   // ids given to new backends
  std::set<uint32_t> removed;   // ids of backends gone
};

// `container_families`: the address families a container on this bridge serves (4 and/or 6).
Result<Reconciled> reconcile(const BridgeState& now, const BridgeSpec& want,
                             const std::vector<int>& container_families);

}  // namespace xdplb::config
