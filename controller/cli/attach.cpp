// attach / detach: bring a bridge's datapath up from its arguments and saved state, and take
// it down again.
#include <sys/socket.h>

#include <iostream>

#include "cli/commands.h"
#include "core/parse.h"
#include "core/state.h"
#include "datapath/datapath.h"
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

  auto vips = service_vips(state.uplinks);
  if (!vips) return fail(vips.error());
  if (vips->empty())
    return fail("the uplinks have no IPv4 address to serve on: give them one, or pick another --uplink");

  auto bpffs = ensure_bpffs();
  if (!bpffs) return fail(bpffs.error());
  if (!bpffs->empty()) std::cout << *bpffs << "\n";
  auto fwd = net::enable_ip_forward();
  if (!fwd) return fail(fwd.error());
  if (*fwd) std::cout << "enabled net.ipv4.ip_forward (the pass path routes through the kernel)\n";

  AttachSpec spec{pin_dir, a.bridge, bridge->ifindex, *uplinks, *mode};
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
  if (auto s = save_state(g.state_dir(), state); !s) {
    (void)Datapath::detach(pin_dir);
    return fail(s.error());
  }

  for (const auto& [name, m] : state.xdp_modes)
    std::cout << "attached XDP (" << m << ") to " << name << "\n";
  std::cout << "attached TC ingress to " << a.bridge << " (reply path)\n";
  for (const auto& vip : *vips)
    std::cout << "serving " << Endpoint{vip, state.port}.to_string() << " ("
              << (state.tcp && state.udp ? "tcp+udp" : state.tcp ? "tcp" : "udp") << ") -> backends port "
              << state.backend_port << "\n";
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
