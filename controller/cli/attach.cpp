// attach / detach: bring a bridge's datapath up from its arguments and saved state, and take
// it down again.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "bgp/announce.h"
#include "bgp/store.h"
#include "bgp/withdraw.h"
#include "cli/commands.h"
#include "cli/upgrade.h"
#include "datapath/meta.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "hostlocal/hostlocal.h"
#include "lb/address_guard.h"
#include "lb/balancer.h"
#include "lb/backends.h"
#include "lb/transaction.h"
#include "net/link.h"
#include "net/route.h"
#include "net/sysctl.h"

namespace xdplb::cli {

namespace {

// The uplinks to attach to: as given, else every interface with a default route.
Result<std::vector<UplinkAttach>> resolve_uplinks(const AttachArgs& a) {
  std::vector<std::string> names = a.uplinks;
  if (names.empty()) {
    auto defaults = net::default_route_interfaces();
    if (!defaults) return make_error(defaults.error());
    names = *defaults;
    if (names.empty())
      return make_error("no interface carries a default route: name the uplink with --uplink IFACE");
  }
  std::vector<UplinkAttach> out;
  for (const auto& name : names) {
    XDPLB_TRY(check_interface_name(name));
    auto link = net::get_link(name);
    if (!link) return make_error("uplink: " + link.error());
    if (name == a.bridge)
      return make_error("the bridge " + name + " cannot be its own uplink: name the interface " +
                        "external clients come in on with --uplink");
    out.push_back({name, link->ifindex});
  }
  return out;
}

// Takes an attached datapath down again unless the attach went through (the pins are the
// datapath: removing them detaches the programs).
class [[nodiscard]] DetachUnlessDone {
 public:
  explicit DetachUnlessDone(std::string pin_dir) : pin_dir_(std::move(pin_dir)) {}
  DetachUnlessDone(const DetachUnlessDone&) = delete;
  DetachUnlessDone& operator=(const DetachUnlessDone&) = delete;
  ~DetachUnlessDone() {
    if (!done_)
      if (auto s = Datapath::detach(pin_dir_); !s) std::cerr << "xdplb: undoing the attach: " << s.error() << "\n";
  }
  void done() { done_ = true; }

 private:
  std::string pin_dir_;
  bool done_ = false;
};

}  // namespace

static_assert(AttachSettings::kMaxFlowTable == kMaxFlowTable);

int run_attach(const Globals& g, const AttachArgs& a) {
  if (auto s = check_interface_name(a.bridge); !s) return fail("bridge: " + s.error());
  ServiceConfig checked;
  if (auto s = apply_service_options(a.service, checked); !s) return fail(s.error());
  auto mode = parse_xdp_mode(a.xdp_mode);
  if (!mode) return fail("--xdp-mode: " + mode.error());
  std::optional<PortRange> hairpin_ports;
  if (a.hairpin_ports) {
    auto p = parse_ports(*a.hairpin_ports);
    if (!p || p->first == p->last)
      return fail("--hairpin-ports: " + (p ? "'" + *a.hairpin_ports + "' is not a range" : p.error()) +
                  ": write MIN-MAX, e.g. 61000-65000");
    hairpin_ports = *p;
  }
  if (auto s = require_root("attach"); !s) return fail(s.error());

  auto bridge = net::get_link(a.bridge);
  if (!bridge) return fail(bridge.error());
  if (bridge->kind != "bridge")
    return fail(a.bridge + " is a " + (bridge->kind.empty() ? "plain" : bridge->kind) +
                " interface, not a bridge: attach to the bridge your containers are on (e.g. lxdbr0)");
  auto uplinks = resolve_uplinks(a);
  if (!uplinks) return fail(uplinks.error());

  auto lock = StateLock::acquire(g.state_dir(), a.bridge);
  if (!lock) return fail(lock.error());
  const std::string pin_dir = g.pin_dir(a.bridge);
  // Sizes fixed at load: as given, else as saved by the last attach (a reboot's bare attach).
  auto saved = load_state(g.state_dir(), a.bridge);
  if (!saved) return fail(saved.error());
  const AttachSettings last = saved->value_or(BridgeState{}).attach;
  Tunables tunables;
  tunables.hairpin_port_min = hairpin_ports ? hairpin_ports->first : last.hairpin_first;
  tunables.hairpin_port_max = hairpin_ports ? hairpin_ports->last : last.hairpin_last;
  tunables.flow_table_size = a.flow_table.value_or(last.flow_table);
  tunables.syn_table_size = a.syn_table.value_or(last.syn_table);
  if (auto s = check_table_sizes(tunables.flow_table_size, tunables.syn_table_size); !s)
    return fail(std::string(a.syn_table ? "--syn-table" : "--flow-table with the bridge's saved --syn-table") + ": " +
                s.error());
  if (Datapath::is_attached(pin_dir)) {
    auto version = read_meta(pin_dir);
    if (!version) return fail(version.error());
    if (version->value_or(0) != abi_version()) {
      UpgradeArgs up{*bridge, {}, version->value_or(0), &*lock};
      up.tunables = tunables;
      up.pending = a.pending_upgrade;
      return run_upgrade(g, up);
    }
    return fail(a.bridge + " is already attached (pins in " + pin_dir + ", the same ABI version " +
                std::to_string(abi_version()) + ": nothing to replace): run `xdplb detach " + a.bridge +
                "` first, or `xdplb status` to see it");
  }

  BridgeState probe;
  probe.bridge = a.bridge;
  for (const auto& u : *uplinks) probe.uplinks.push_back(u.name);
  auto uplink_vips = service_vips(probe.uplinks);
  if (!uplink_vips) return fail(uplink_vips.error());
  if (uplink_vips->empty())
    return fail("the uplinks have no global IPv4 or IPv6 address to serve on: give them one, or pick another --uplink");
  auto vips = service_addresses(probe, bridge->ifindex, !a.no_host_local);
  if (!vips) return fail(vips.error());

  auto bpffs = ensure_bpffs();
  if (!bpffs) return fail(bpffs.error());
  if (!bpffs->empty()) std::cout << *bpffs << "\n";
  auto fwd = net::enable_ip_forward();
  if (!fwd) return fail(fwd.error());
  if (*fwd) std::cout << "enabled net.ipv4.ip_forward (the pass path routes through the kernel)\n";
  if (std::any_of(vips->begin(), vips->end(), [](const IpAddress& v) { return v.is_v6(); })) {
    auto fwd6 = net::enable_ipv6_forwarding(a.bridge, probe.uplinks);
    if (!fwd6) return fail(fwd6.error());
    for (const auto& key : *fwd6)
      std::cout << "enabled " << key << " (IPv6 replies are routed from the bridge; the pass path from the uplinks)\n";
  }

  AttachSpec spec{pin_dir, a.bridge, bridge->ifindex, *uplinks, *mode, tunables};
  AttachResult result;
  auto dp = Datapath::attach(spec, &result);
  if (!dp) return fail("attach " + a.bridge + ": " + dp.error());
  DetachUnlessDone undo_attach(pin_dir);
  // The socket hooks first: they find no service until the transaction writes them.
  if (!a.no_host_local) {
    if (auto s = hostlocal::attach(pin_dir); !s) return fail("host-local clients: " + s.error());
  }

  // Restore every saved service and backend (after a reboot or a detach); the maps are new.
  std::vector<std::string> restored;
  DatapathWriter writer(**dp);
  TransactionOptions tx = bridge_transaction(g.state_dir(), a.bridge, bridge->ifindex, !a.no_host_local, writer);
  tx.fresh_maps = true;
  tx.create = true;
  tx.held = &*lock;
  auto state = run_transaction(tx, [&](BridgeState& s, EntryChanges& entries) -> Status {
    s.uplinks = probe.uplinks;
    s.xdp_mode = *mode;
    s.xdp_modes = result.xdp_modes;
    s.attach = AttachSettings{tunables.flow_table_size, tunables.hairpin_port_min, tunables.hairpin_port_max,
                              !a.no_host_local, tunables.syn_table_size};
    if (s.services.empty() || a.service.any()) {
      ServiceConfig* svc = find_service(s, kDefaultService);
      if (!svc) {
        auto slot = allocate_service_slot(s);
        if (!slot) return make_error(slot.error());
        ServiceConfig fresh;
        fresh.slot = *slot;
        s.services.push_back(fresh);
        svc = &s.services.back();
      }
      XDPLB_TRY(apply_service_options(a.service, *svc));
    }
    restored = resolve_backends(*bridge, s, entries);
    return {};
  });
  if (!state) return fail("programming the services: " + state.error());
  auto guard = write_uplink_guard(**dp, bridge->ifindex);
  if (!guard) return fail("the uplink guard: " + guard.error());
  undo_attach.done();

  for (const auto& [name, m] : state->xdp_modes)
    std::cout << "attached XDP (" << name_of(m) << ") to " << name << "\n";
  std::cout << "attached TC ingress to " << a.bridge << " (reply path)\n";
  std::cout << "uplinks drop new flows from " << guard->size()
            << " source prefixes (bridge subnets, host addresses, loopback)\n";
  if (!a.no_host_local)
    std::cout << "attached socket hooks to the cgroup v2 root (host-local clients of this network namespace)\n";
  for (const auto& svc : state->services) {
    const std::string ports = port_range_text(svc.port, svc.port_last);
    for (const auto& vip : service_listen(svc, *vips))
      std::cout << "serving " << (vip.is_v6() ? "[" + vip.to_string() + "]" : vip.to_string()) << ":" << ports
                << " (" << name_of(svc.protos) << ") -> backends port " << port_range_text(svc.backend_port, svc.backend_port_end()) << ", scheduler "
                << name_of(svc.scheduler) << " (service " << svc.name << ")\n";
  }
  for (const auto& line : restored) std::cout << line << "\n";
  if (state->backends.empty())
    std::cout << "no backends yet: add some with `xdplb backend add ADDR`\n";
  return 0;
}

namespace {

// Before the datapath goes: the bridge's VIPs and return routes withdrawn and the peers given
// time (bgp/withdraw.h), so that no reply still comes here to be forwarded untranslated. Only
// when BGP is configured and this bridge has an include (something announced it); when BIRD
// cannot be asked, a warning and the detach goes on.
void withdraw_before_detach(const Globals& g, const std::string& bridge) {
  auto config = bgp::load_bgp(g.state_dir());
  if (!config) {
    std::cerr << "xdplb: warning: " << config.error() << ": detaching without withdrawing\n";
    return;
  }
  if (!*config || ::access(bgp::bridge_include_path(**config, bridge).c_str(), F_OK) != 0) return;
  auto w = bgp::withdraw_bridge(**config, bridge);
  if (!w) {
    std::cerr << "xdplb: warning: bgp: " << w.error() << ": detaching without waiting for the withdrawal\n";
    return;
  }
  if (!w->was_exported) return;
  std::cout << "withdrew " << bridge << "'s routes: BIRD stopped exporting them after " << w->unexported.count()
            << " ms" << (w->timed_out ? " (gave up waiting)" : "") << ", then held " << w->held.count()
            << " ms for the peers\n";
}

}  // namespace

int run_detach(const Globals& g, const DetachArgs& a) {
  if (auto s = check_interface_name(a.bridge); !s) return fail("bridge: " + s.error());
  if (auto s = require_root("detach"); !s) return fail(s.error());
  auto lock = StateLock::acquire(g.state_dir(), a.bridge);
  if (!lock) return fail(lock.error());
  const std::string pin_dir = g.pin_dir(a.bridge);
  if (!Datapath::is_attached(pin_dir))
    return fail(a.bridge + " is not attached (no pins in " + pin_dir + ")");
  {
    const bgp::WithdrawingMark mark(g.state_dir(), a.bridge);  // the daemon announces nothing meanwhile
    withdraw_before_detach(g, a.bridge);
    if (auto s = Datapath::detach(pin_dir); !s) return fail("detach " + a.bridge + ": " + s.error());
  }
  std::cout << "detached " << a.bridge << ": programs, links, maps and counters removed\n";
  ::rmdir(g.pin_root().c_str());  // the pin root too, once no bridge is left in it
  if (a.forget) {
    if (auto s = remove_state(g.state_dir(), a.bridge); !s) return fail(s.error());
    std::cout << "forgot the saved backends of " << a.bridge << "\n";
  } else {
    std::cout << "saved backends stay in " << state_file(g.state_dir(), a.bridge)
              << " for the next attach (--forget drops them)\n";
  }
  return 0;
}

}  // namespace xdplb::cli
