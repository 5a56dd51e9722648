// The in-place upgrade `attach` does when the bridge's pins are of another ABI version.
#pragma once

#include <cstdint>
#include <memory>

#include "cli/context.h"
#include "datapath/datapath.h"
#include "net/link.h"

namespace xdplb::cli {

// An upgrade whose new programs and maps run, the old ones kept aside: commit() drops them
// (and reloads the host-local hooks over the new maps), undo() puts them back as they were.
struct PendingUpgrade {
  std::string pin_dir;
  bool host_local = false;
  ReplacedDatapath replaced;
  Status commit();
  Status undo() { return replaced.undo(); }
};

struct UpgradeArgs {
  net::LinkInfo bridge;
  Tunables tunables;
  uint32_t found_version = 0;  // what the pins carry (0: made before versions)
  const StateLock* lock = nullptr;
  // Given (apply): the upgrade is left pending there, for the caller to commit or undo with
  // the rest of its change; else it is committed at once.
  std::unique_ptr<PendingUpgrade>* pending = nullptr;
};
int run_upgrade(const Globals& g, const UpgradeArgs& a);

}  // namespace xdplb::cli
