// The bpf links a bridge's pin directory holds (XDP on each uplink, TC on the bridge): how their
// pins are named, and the programs they run now.
#pragma once

#include <string>
#include <vector>

#include "core/fd.h"
#include "core/result.h"

namespace xdplb {

// Pins named link_xdp_<uplink> and link_tc_<bridge>; every other pin is a map's.
inline constexpr const char* kLinkPrefix = "link_";

// The program a link runs now.
Result<UniqueFd> link_program(int link_fd);
// The program each pinned link of pin_dir runs (several links may run one program).
Result<std::vector<UniqueFd>> linked_programs(const std::string& pin_dir);

}  // namespace xdplb
