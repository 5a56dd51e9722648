#include "core/table_sizes.h"

#include <string>

namespace xdplb {

Status check_table_sizes(uint32_t flow_table, uint32_t syn_table) {
  if (flow_table < XDPLB_MIN_FLOWS || flow_table > kMaxFlowTable)
    return make_error("flow table size " + std::to_string(flow_table) + " is out of range (" +
                      std::to_string(XDPLB_MIN_FLOWS) + ".." + std::to_string(kMaxFlowTable) + ")");
  if (syn_table == 0) return {};
  if (syn_table < XDPLB_MIN_FLOWS)
    return make_error("SYN table size " + std::to_string(syn_table) + " is below " + std::to_string(XDPLB_MIN_FLOWS) +
                      ": give " + std::to_string(XDPLB_MIN_FLOWS) + ".." + std::to_string(flow_table) +
                      ", or 0 for 1/" + std::to_string(XDPLB_SYN_TABLE_SHARE) + " of the flow table (" +
                      std::to_string(syn_table_entries(flow_table, 0)) + ")");
  if (syn_table > flow_table)
    return make_error("SYN table size " + std::to_string(syn_table) + " is larger than the flow table (" +
                      std::to_string(flow_table) + " entries): give at most the flow table's size, a larger " +
                      "flow table, or 0 for 1/" + std::to_string(XDPLB_SYN_TABLE_SHARE) + " of it (" +
                      std::to_string(syn_table_entries(flow_table, 0)) + ")");
  return {};
}

}  // namespace xdplb
