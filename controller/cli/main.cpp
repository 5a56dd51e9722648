// xdplb: the command line. Parses arguments with CLI11 and hands them to the commands.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

using namespace xdplb::cli;

int main(int argc, char** argv) {
  CLI::App app{
      "xdplb: an XDP/eBPF L4 load balancer for LXC/LXD container hosts.\n"
      "Serves a port of the host's uplink addresses (default 8000) from backends on a bridge."};
  app.require_subcommand(1);
  Globals g;
  app.add_flag("-v,--verbose", g.verbose, "debug logs");
  app.add_option("--pin-root", g.pin_root_flag,
                 "bpffs directory for pinned maps and links (env XDPLB_PIN_ROOT; default /sys/fs/bpf/xdplb)");
  app.add_option("--state-dir", g.state_dir_flag,
                 "directory for saved state (env XDPLB_STATE_DIR; default /var/lib/xdplb)");

  AttachArgs attach;
  auto* c_attach = app.add_subcommand("attach", "load and attach the datapath to a bridge and its uplinks");
  c_attach->add_option("bridge", attach.bridge, "the bridge the backends are on (e.g. lxdbr0)")->required();
  c_attach->add_option("--uplink", attach.uplinks,
                       "interface external clients come in on; repeat for several (default: those with a default route)");
  c_attach->add_option("--port", attach.port, "service port on the uplink addresses")->capture_default_str();
  c_attach->add_option("--backend-port", attach.backend_port, "port of the backends")->capture_default_str();
  c_attach->add_option("--proto", attach.proto, "tcp, udp or both")->capture_default_str();
  c_attach->add_option("--xdp-mode", attach.xdp_mode, "auto, native or generic")->capture_default_str();

  DetachArgs detach;
  auto* c_detach = app.add_subcommand("detach", "detach the datapath from a bridge and remove its pins");
  c_detach->add_option("bridge", detach.bridge, "the attached bridge")->required();
  c_detach->add_flag("--forget", detach.forget, "also drop the saved backends");

  auto* c_backend = app.add_subcommand("backend", "add, remove and list backends");
  c_backend->require_subcommand(1);
  BackendArgs add, remove;
  auto* c_add = c_backend->add_subcommand("add", "add a backend to the pool");
  c_add->add_option("target", add.target,
                    "a container name (LXD or LXC), or ADDR[:PORT] (port default: the attach's --backend-port)")
      ->required();
  c_add->add_option("--weight", add.weight, "share of new flows, 1-1000")->capture_default_str();
  c_add->add_option("--bridge", add.bridge, "which attached bridge (needed when several are)");
  c_add->add_flag("--no-fast-path", add.no_fast_path, "always use the XDP_PASS path for this backend");
  c_add->add_option("--source", add.source, "containers: auto, lxd or lxc")->capture_default_str();
  c_add->add_option("--lxcpath", add.lxcpath, "classic LXC container directory (default: liblxc's)");
  c_add->add_option("--wait", add.wait_seconds, "seconds to wait for a starting container's address")
      ->capture_default_str();
  auto* c_remove = c_backend->add_subcommand("remove", "remove a backend; its flows move on their next packet");
  c_remove->add_option("target", remove.target, "container name or ADDR[:PORT]")->required();
  c_remove->add_option("--bridge", remove.bridge, "which attached bridge");
  BackendArgs refresh;
  auto* c_refresh = c_backend->add_subcommand(
      "refresh", "re-resolve container backends (after a restart their veth, maybe their address, change)");
  c_refresh->add_option("name", refresh.target, "one container (default: all)");
  c_refresh->add_option("--bridge", refresh.bridge, "which attached bridge");
  c_refresh->add_option("--wait", refresh.wait_seconds, "seconds to wait for a starting container's address")
      ->capture_default_str();
  ShowArgs list;
  auto* c_list = c_backend->add_subcommand("list", "list backends with their path and counters");
  c_list->add_option("--bridge", list.bridge, "which attached bridge");
  c_list->add_flag("--json", list.json, "machine-readable output");

  ShowArgs status;
  auto* c_status = app.add_subcommand("status", "what is attached, the service, backends and datapath counters");
  c_status->add_option("--bridge", status.bridge, "which attached bridge");
  c_status->add_flag("--json", status.json, "machine-readable output");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_pattern("xdplb %^%l%$: %v");

  if (*c_attach) return run_attach(g, attach);
  if (*c_detach) return run_detach(g, detach);
  if (*c_add) return run_backend_add(g, add);
  if (*c_remove) return run_backend_remove(g, remove);
  if (*c_refresh) return run_backend_refresh(g, refresh);
  if (*c_list) return run_backend_list(g, list);
  if (*c_status) return run_status(g, status);
  return 1;
}
