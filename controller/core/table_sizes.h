// The flow tables' sizes fixed at attach (--flow-table, --syn-table): their limits, the size of
// reverse_new (the reverse entries of TCP flows that have sent only their SYN) and the check
// every entry point (command line, YAML config, state file, loader) applies.
#pragma once

#include <xdplb/abi.h>

#include <cstdint>

#include "core/result.h"

namespace xdplb {

inline constexpr uint32_t kMaxFlowTable = 1u << 24;

// reverse_new's entries: syn_table if given (non-zero), else 1/XDPLB_SYN_TABLE_SHARE of the
// flow table, at least XDPLB_MIN_FLOWS.
inline uint32_t syn_table_entries(uint32_t flow_table, uint32_t syn_table) {
  if (syn_table) return syn_table;
  const uint32_t share = flow_table / XDPLB_SYN_TABLE_SHARE;
  return share < XDPLB_MIN_FLOWS ? XDPLB_MIN_FLOWS : share;
}

// The flow table within XDPLB_MIN_FLOWS..kMaxFlowTable; the SYN table 0 (the share) or within
// XDPLB_MIN_FLOWS..flow_table (a SYN-only flow holds a forward entry too, so more SYN entries
// than flow entries would never be used). The errors name the option to change.
Status check_table_sizes(uint32_t flow_table, uint32_t syn_table);

}  // namespace xdplb
