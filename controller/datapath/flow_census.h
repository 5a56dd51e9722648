// Flows per backend from the flow table: all forward entries, and those that saw a packet in
// the last `recent` (the datapath never deletes entries on FIN/RST — the LRU evicts them — so
// "recent" is what a drain waits on). last_seen is refreshed at most once a second per flow.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "core/result.h"
#include "datapath/datapath.h"

namespace xdplb {

struct FlowsOfBackend {
  uint64_t total = 0;
  uint64_t recent = 0;
};

inline constexpr std::chrono::seconds kRecentFlowWindow{5};

Result<std::map<uint32_t, FlowsOfBackend>> flows_per_backend(
    Datapath& dp, std::chrono::nanoseconds recent = kRecentFlowWindow);

// What a drain waits for, per backend: its entries in both flow tables (external clients and
// hairpin: containers calling a VIP), and of those the open ones - a TCP connection not seen
// closing (FIN both ways or an RST), however long it has been idle, or a UDP flow with a
// packet within `udp_recent`.
struct OpenFlows {
  uint64_t flows = 0;
  uint64_t open = 0;
};
Result<std::map<uint32_t, OpenFlows>> open_flows_per_backend(
    Datapath& dp, std::chrono::nanoseconds udp_recent = kRecentFlowWindow);

}  // namespace xdplb
