// The in-place upgrade `attach` does when the bridge's pins are of another ABI version.
#pragma once

#include <cstdint>

#include "cli/context.h"
#include "datapath/datapath.h"
#include "net/link.h"

namespace xdplb::cli {

struct UpgradeArgs {
  net::LinkInfo bridge;
  Tunables tunables;
  uint32_t found_version = 0;  // what the pins carry (0: made before versions)
  const StateLock* lock = nullptr;
};
int run_upgrade(const Globals& g, const UpgradeArgs& a);

}  // namespace xdplb::cli
