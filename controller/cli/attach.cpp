// attach / detach: bring a bridge's datapath up from its arguments and saved state, and take
// it down again.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "hostlocal/hostlocal.h"
#include "lb/address_guard.h"
#include "lb/balancer.h"
#include "lb/backends.h"
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

// "MIN-MAX" -> the hairpin SNAT port range.
Result<std::pair<uint16_t, uint16_t>> parse_port_range(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos)
    return make_error("'" + text + "' is not a range: write MIN-MAX, e.g. 61000-65000");
  auto lo = parse_port(text.substr(0, dash));
  if (!lo) return make_error(lo.error());
  auto hi = parse_port(text.substr(dash + 1));
  if (!hi) return make_error(hi.error());
  if (*lo > *hi) return make_error("'" + text + "': the first port must not be above the second");
  return std::make_pair(static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi));
}

}  // namespace

int run_attach(const Globals& g, const AttachArgs& a) {
  if (auto s = check_interface_name(a.bridge); !s) return fail("bridge: " + s.error());
  auto port = parse_port(a.port);
  if (!port) return fail("--port: " + port.error());
  auto backend_port = parse_port(a.backend_port);
  if (!backend_port) return fail("--backend-port: " + backend_port.error());
  auto protos = parse_proto(a.proto);
  if (!protos) return fail("--proto: " + protos.error());
  auto mode = parse_xdp_mode(a.xdp_mode);
  if (!mode) return fail("--xdp-mode: " + mode.error());
  auto hairpin_ports = parse_port_range(a.hairpin_ports);
  if (!hairpin_ports) return fail("--hairpin-ports: " + hairpin_ports.error());
  std::optional<uint32_t> scheduler;
  if (a.scheduler) {
    auto s = parse_scheduler(*a.scheduler);
    if (!s) return fail("--scheduler: " + s.error());
    scheduler = *s;
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
  if (Datapath::is_attached(pin_dir))
    return fail(a.bridge + " is already attached (pins in " + pin_dir + "): run `xdplb detach " +
                a.bridge + "` first, or `xdplb status` to see it");

  auto saved = load_state(g.state_dir(), a.bridge);
  if (!saved) return fail(saved.error());
  BridgeState state = saved->value_or(BridgeState{});
  state.bridge = a.bridge;
  state.uplinks.clear();
  for (const auto& u : *uplinks) state.uplinks.push_back(u.name);
  state.port = *port;
  state.backend_port = *backend_port;
  state.tcp = protos->tcp;
  state.udp = protos->udp;
  state.xdp_mode = xdp_mode_name(*mode);
  if (scheduler) state.scheduler = scheduler_name(*scheduler);

  auto uplink_vips = service_vips(state.uplinks);
  if (!uplink_vips) return fail(uplink_vips.error());
  if (uplink_vips->empty())
    return fail("the uplinks have no global IPv4 or IPv6 address to serve on: give them one, or pick another --uplink");
  auto vips = service_addresses(state, bridge->ifindex, !a.no_host_local);
  if (!vips) return fail(vips.error());

  auto bpffs = ensure_bpffs();
  if (!bpffs) return fail(bpffs.error());
  if (!bpffs->empty()) std::cout << *bpffs << "\n";
  auto fwd = net::enable_ip_forward();
  if (!fwd) return fail(fwd.error());
  if (*fwd) std::cout << "enabled net.ipv4.ip_forward (the pass path routes through the kernel)\n";
  if (std::any_of(vips->begin(), vips->end(), [](const IpAddress& v) { return v.is_v6(); })) {
    auto fwd6 = net::enable_ipv6_forwarding(a.bridge, state.uplinks);
    if (!fwd6) return fail(fwd6.error());
    for (const auto& key : *fwd6)
      std::cout << "enabled " << key << " (IPv6 replies are routed from the bridge; the pass path from the uplinks)\n";
  }

  AttachSpec spec{pin_dir, a.bridge, bridge->ifindex, *uplinks, *mode};
  spec.hairpin_port_min = hairpin_ports->first;
  spec.hairpin_port_max = hairpin_ports->second;
  AttachResult result;
  auto dp = Datapath::attach(spec, &result);
  if (!dp) return fail("attach " + a.bridge + ": " + dp.error());
  state.xdp_modes.clear();
  for (const auto& [name, m] : result.xdp_modes) state.xdp_modes.emplace_back(name, xdp_mode_name(m));

  // Restore the saved backends (after a reboot or a detach): resolve each again.
  auto restored = program_backends(**dp, *bridge, state);
  if (auto s = program_services(**dp, state, *vips); !s) {
    (void)Datapath::detach(pin_dir);
    return fail("programming the services: " + s.error());
  }
  auto guard = write_uplink_guard(**dp, bridge->ifindex);
  if (!guard) {
    (void)Datapath::detach(pin_dir);
    return fail("the uplink guard: " + guard.error());
  }
  if (!a.no_host_local) {
    if (auto s = hostlocal::attach(pin_dir); !s) {
      (void)Datapath::detach(pin_dir);
      return fail("host-local clients: " + s.error());
    }
  }
  if (auto s = save_state(g.state_dir(), state); !s) {
    (void)Datapath::detach(pin_dir);
    return fail(s.error());
  }

  for (const auto& [name, m] : state.xdp_modes)
    std::cout << "attached XDP (" << m << ") to " << name << "\n";
  std::cout << "attached TC ingress to " << a.bridge << " (reply path)\n";
  std::cout << "uplinks drop new flows from " << guard->size()
            << " source prefixes (bridge subnets, host addresses, loopback)\n";
  if (!a.no_host_local)
    std::cout << "attached socket hooks to the cgroup v2 root (host-local clients of this network namespace)\n";
  for (const auto& vip : *vips)
    std::cout << "serving " << Endpoint{vip, state.port}.to_string() << " ("
              << (state.tcp && state.udp ? "tcp+udp" : state.tcp ? "tcp" : "udp") << ") -> backends port "
              << state.backend_port << ", scheduler " << state.scheduler << "\n";
  for (const auto& line : restored) std::cout << line << "\n";
  if (state.backends.empty())
    std::cout << "no backends yet: add some with `xdplb backend add ADDR`\n";
  return 0;
}

int run_detach(const Globals& g, const DetachArgs& a) {
  if (auto s = check_interface_name(a.bridge); !s) return fail("bridge: " + s.error());
  if (auto s = require_root("detach"); !s) return fail(s.error());
  auto lock = StateLock::acquire(g.state_dir(), a.bridge);
  if (!lock) return fail(lock.error());
  const std::string pin_dir = g.pin_dir(a.bridge);
  if (!Datapath::is_attached(pin_dir))
    return fail(a.bridge + " is not attached (no pins in " + pin_dir + ")");
  if (auto s = Datapath::detach(pin_dir); !s) return fail("detach " + a.bridge + ": " + s.error());
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
