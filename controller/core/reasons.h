// Names of the datapath's outcomes (enum xdplb_reason in <xdplb/abi.h>) as status shows them.
#pragma once

#include <xdplb/abi.h>

namespace xdplb {

struct ReasonInfo {
  const char* name;     // short, stable: also the JSON key
  const char* meaning;  // one line for humans
};

// Info for every reason below XDPLB_R_MAX; {"unknown", ...} for anything else.
const ReasonInfo& reason_info(unsigned reason);

}  // namespace xdplb
