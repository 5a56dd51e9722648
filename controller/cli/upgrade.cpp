// attach on a bridge whose pins are of another ABI version (an installed newer package): the
// programs and maps are replaced in one step, without a moment where an interface has no
// program. The new maps are filled from the saved state first (services, rings, backends,
// guard), then every XDP/TC link is swapped to the new programs. The old programs and maps are
// kept aside until the upgrade commits (at once for attach, with the rest of the file for
// apply), so a failure after the swap can put them back. The flow table starts empty:
// flows are placed again by the ring, so under maglev established connections keep their
// backend; round-robin and least-conn may move them.
#include <iostream>

#include "cli/commands.h"
#include "cli/upgrade.h"
#include "datapath/meta.h"
#include "hostlocal/hostlocal.h"
#include "lb/address_guard.h"
#include "lb/backends.h"
#include "lb/balancer.h"

namespace xdplb::cli {

Status PendingUpgrade::commit() {
  replaced.commit();
  // The socket hooks read the maps they were loaded with: loaded again over the new ones.
  if (!host_local) return {};
  if (auto s = hostlocal::detach(pin_dir); !s) return make_error("upgrading the host-local hooks: " + s.error());
  if (auto s = hostlocal::attach(pin_dir); !s) return make_error("upgrading the host-local hooks: " + s.error());
  return {};
}

int run_upgrade(const Globals& g, const UpgradeArgs& a) {
  const std::string pin_dir = g.pin_dir(a.bridge.name), staged_dir = pin_dir + "_upgrade";  // bpffs takes no "." in names
  auto staged = Datapath::load_staged(staged_dir, a.tunables);
  if (!staged) return fail("upgrading " + a.bridge.name + ": " + staged.error() + " (the running datapath is untouched)");
  // Until the take-over, failing leaves the old datapath as it was and removes the new maps.
  struct DropStaged {
    std::string dir;
    bool keep = false;
    ~DropStaged() {
      if (!keep) (void)Datapath::detach(dir);
    }
  } drop{staged_dir};

  const bool host_local = hostlocal::is_attached(pin_dir);
  std::vector<std::string> restored;
  DatapathWriter writer(**staged);
  TransactionOptions tx = bridge_transaction(g.state_dir(), a.bridge.name, a.bridge.ifindex, host_local, writer);
  tx.fresh_maps = true;
  tx.held = a.lock;
  auto state = run_transaction(tx, [&](BridgeState& s, EntryChanges& entries) -> Status {
    restored = resolve_backends(a.bridge, s, entries);
    return {};
  });
  if (!state) return fail("upgrading " + a.bridge.name + ": filling the new maps: " + state.error() + " (the running datapath is untouched)");
  auto guard = write_uplink_guard(**staged, a.bridge.ifindex);
  if (!guard) return fail("upgrading " + a.bridge.name + ": the uplink guard: " + guard.error() + " (the running datapath is untouched)");
  auto replaced = (*staged)->take_over(staged_dir, pin_dir, pin_dir + "_replaced");
  if (!replaced) return fail("upgrading " + a.bridge.name + ": " + replaced.error() + " (the old datapath is back in place)");
  drop.keep = true;
  auto pending = std::make_unique<PendingUpgrade>(PendingUpgrade{pin_dir, host_local, std::move(*replaced)});
  if (a.pending) *a.pending = std::move(pending);
  else if (auto s = pending->commit(); !s) return fail(s.error());
  std::cout << "replaced the programs and maps of " << a.bridge.name << " (ABI version " << a.found_version
            << ") with this xdplb's (version " << abi_version()
            << ") in one step: each link swapped its program atomically; the flow table is new, so flows are "
               "placed again by the ring (under maglev established connections keep their backend)\n";
  for (const auto& line : restored) std::cout << line << "\n";
  std::cout << "a running `xdplb daemon` still holds the old maps: restart it\n";
  return 0;
}

}  // namespace xdplb::cli
