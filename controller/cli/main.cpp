// xdplb: the command line. Parses arguments with CLI11 and hands them to the commands.
#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/handoff.h"
#include "cli/observe.h"
#include "cli/top.h"
#include "datapath/datapath.h"
#include "version.h"

namespace xdplb::cli {

namespace {

// The options of a service, for attach (the default service), `service add` and `service set`.
void add_service_options(CLI::App* c, ServiceOptions& o, const std::string& whose) {
  c->add_option("--port", o.port, whose + "port on its addresses, or a range P-Q (default 8000)");
  c->add_option("--backend-port", o.backend_port, "port of its backends (default 80), or a range as long as --port's (P-Q): each port goes to the same offset");
  c->add_option("--proto", o.proto, "tcp, udp or both (default both)");
  c->add_option("--listen", o.listen,
                "answer only on this address (IPv4 or IPv6; repeat for several; default: the uplinks', the bridge's and loopback)");
  c->add_option("--scheduler", o.scheduler, "how new flows are placed: maglev, weighted, round-robin or least-conn");
  c->add_option("--affinity", o.affinity, "none, or source: every connection of a client address to one backend");
}

// --help-all: the help of every command and subcommand in turn, each under its full name.
void print_all_help(const CLI::App& app, const std::string& path = "xdplb") {
  if (path == "xdplb") std::cout << app.help();
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string name = path + " " + sub->get_name();
    std::cout << "\n" << name << "\n" << sub->help();
    print_all_help(*sub, name);
  }
}

}  // namespace

int run_command_line(const std::vector<std::string>& args, bool in_daemon) {
  CLI::App app{
      "xdplb: an XDP/eBPF L4 load balancer for LXC/LXD container hosts.\n"
      "Serves a port of the host's uplink addresses (default 8000) from backends on a bridge."};
  app.name("xdplb");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("xdplb ") + XDPLB_VERSION + " (git " + XDPLB_GIT_REVISION + ")",
                       "print the version and the git revision it was built from");
  app.add_flag_callback("--help-all", [&app] {
    print_all_help(app);
    throw CLI::Success();
  }, "print the help of every command and subcommand (xdplb(8) has it too)");
  Globals g;
  g.in_daemon = in_daemon;
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
  add_service_options(c_attach, attach.service, "the default service's ");
  c_attach->add_option("--xdp-mode", attach.xdp_mode, "auto, native or generic")->capture_default_str();
  c_attach->add_flag("--no-host-local", attach.no_host_local,
                     "do not balance clients on the host itself (curl localhost:8000); no cgroup hooks");
  c_attach->add_option("--hairpin-ports", attach.hairpin_ports,
                       "MIN-MAX: source ports containers calling a VIP get (they appear as the bridge address); "
                       "keep it outside net.ipv4.ip_local_port_range (default 61000-65000, or as "
                       "the bridge was last attached)");
  c_attach->add_option("--flow-table", attach.flow_table,
                       "flow table entries: connections remembered at once (when full, the least "
                       "recently used makes room; counted as flow_evicted; default 262144, or as the "
                       "bridge was last attached)")
      ->check(CLI::Range(static_cast<uint32_t>(XDPLB_MIN_FLOWS), xdplb::kMaxFlowTable));
  c_attach->add_option("--syn-table", attach.syn_table,
                       "entries for the replies of TCP flows that have sent only their SYN (a SYN flood "
                       "evicts there first): 256 to the --flow-table size; default (or 0) 1/8 of the "
                       "flow table, or as the bridge was last attached");

  DetachArgs detach;
  auto* c_detach = app.add_subcommand("detach", "detach the datapath from a bridge and remove its pins (with bgp:, its routes are withdrawn first)");
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
  c_add->add_option("--service", add.service, "which service (needed when the bridge has several)");
  c_add->add_flag("--backup", add.backup, "take new flows only while no primary backend of the service can");
  c_add->add_flag("--no-fast-path", add.no_fast_path, "always use the XDP_PASS path for this backend");
  c_add->add_option("--source", add.source, "containers: auto, lxd or lxc")->capture_default_str();
  c_add->add_option("--lxcpath", add.lxcpath, "classic LXC container directory (default: liblxc's)");
  c_add->add_option("--wait", add.wait_seconds, "seconds to wait for a starting container's address")
      ->capture_default_str();
  auto* c_remove = c_backend->add_subcommand("remove", "remove a backend; its flows move on their next packet");
  c_remove->add_option("target", remove.target, "container name or ADDR[:PORT]")->required();
  c_remove->add_option("--bridge", remove.bridge, "which attached bridge");
  c_remove->add_option("--service", remove.service, "which service (needed when the bridge has several)");
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

  TopArgs top;
  auto* c_top = app.add_subcommand("top", "live view of packets/s, bits/s, new flows/s and flows per backend");
  c_top->add_option("--bridge", top.bridge, "which attached bridge");
  c_top->add_option("--interval", top.interval, "seconds between refreshes")->capture_default_str();
  c_top->add_option("--count", top.count, "refreshes before exiting (default: until Ctrl-C; 1 if stdout is not a terminal)");

  DrainArgs drain, undrain;
  undrain.undrain = true;
  auto* c_drain = c_backend->add_subcommand("drain", "no new flows for a backend; its existing flows stay");
  c_drain->add_option("target", drain.target, "container name or ADDR[:PORT]")->required();
  c_drain->add_option("--bridge", drain.bridge, "which attached bridge");
  c_drain->add_option("--service", drain.service, "which service (needed when the bridge has several)");
  auto* c_undrain = c_backend->add_subcommand("undrain", "let a drained backend take new flows again");
  c_undrain->add_option("target", undrain.target, "container name or ADDR[:PORT]")->required();
  c_undrain->add_option("--bridge", undrain.bridge, "which attached bridge");
  c_undrain->add_option("--service", undrain.service, "which service (needed when the bridge has several)");

  DaemonArgs daemon;
  auto* c_daemon = app.add_subcommand("daemon", "health checks, container lifecycle and drains for a bridge");
  c_daemon->add_option("--bridge", daemon.bridge, "which attached bridge");
  c_daemon->add_flag("--foreground", daemon.foreground, "stay in the foreground, log to stderr (systemd, tests)");
  c_daemon->add_option("--log-file", daemon.log_file, "background: log file (default <state dir>/<bridge>.daemon.log)");
  c_daemon->add_option("--metrics", daemon.metrics, "ADDR:PORT to serve Prometheus /metrics on, or off")
      ->capture_default_str();
  c_daemon->add_flag("--metrics-public", daemon.metrics_public,
                     "allow --metrics on a non-loopback address (metrics name every backend and its traffic)");
  c_daemon->add_flag("--withdraw-on-stop", daemon.withdraw_on_stop,
                     "with bgp: in the config, withdraw this node's VIP and return routes when the daemon stops "
                     "(it exits once BIRD exports none of them, plus bgp: withdraw_hold_ms)");
  c_daemon->add_option("--drain-timeout", daemon.drain_timeout,
                       "seconds a drained backend's open connections may last before they are cut (default 300)");

  HealthArgs health;
  auto* c_health = app.add_subcommand("health", "show or set the health checks the daemon runs");
  c_health->add_option("--bridge", health.bridge, "which attached bridge");
  c_health->add_option("--service", health.service, "which service (needed when the bridge has several)");
  c_health->add_option("--type", health.type, "tcp (connect), http (GET) or none");
  c_health->add_option("--path", health.path, "http: the path to GET (default /)");
  c_health->add_option("--expect", health.expect, "http: healthy status range (default 200-399)");
  c_health->add_option("--interval", health.interval, "seconds between probes of a backend (default 1, min 0.1)");
  c_health->add_option("--timeout", health.timeout, "seconds a probe may take (default 1)");
  c_health->add_option("--rise", health.rise, "good probes in a row that bring a backend back (default 2)");
  c_health->add_option("--fall", health.fall, "failed probes in a row that take it out (default 3)");
  c_health->add_option("--slow-start", health.slow_start,
                       "seconds over which a backend back up ramps to its full weight (default 0: off)");
  c_health->add_flag("--json", health.json, "machine-readable output (the checks and each backend's health)");
  c_health->add_option("--panic-threshold", health.panic_threshold,
                       "percent: while fewer of the service's backends are healthy, health is ignored "
                       "and all take new flows (default 50, 0: off)");
  c_health->add_option("--refusals", health.refusals,
                       "passive: new connections a backend refuses (RST to a SYN, seen by the datapath) "
                       "that take it out before the next probe (default 3, 0: off)");

  SchedulerArgs scheduler;
  auto* c_scheduler = app.add_subcommand("scheduler", "show or set how the service places new flows");
  c_scheduler->add_option("name", scheduler.name, "maglev, weighted, round-robin or least-conn (none: show)");
  c_scheduler->add_option("--bridge", scheduler.bridge, "which attached bridge");
  c_scheduler->add_option("--service", scheduler.service, "which service (needed when the bridge has several)");
  c_scheduler->add_flag("--json", scheduler.json, "machine-readable output");

  auto* c_service = app.add_subcommand("service", "add, change, remove and list a bridge's services");
  c_service->require_subcommand(1);
  ServiceArgs svc_add, svc_set, svc_remove;
  auto* c_svc_add = c_service->add_subcommand("add", "a new service: ports and protocols on addresses -> its backends");
  c_svc_add->add_option("name", svc_add.name, "its name (e.g. web, dns)")->required();
  c_svc_add->add_option("--bridge", svc_add.bridge, "which attached bridge");
  add_service_options(c_svc_add, svc_add.options, "its ");
  auto* c_svc_set = c_service->add_subcommand("set", "change a service in place; flows keep their backend");
  c_svc_set->add_option("name", svc_set.name, "the service")->required();
  c_svc_set->add_option("--bridge", svc_set.bridge, "which attached bridge");
  add_service_options(c_svc_set, svc_set.options, "its ");
  auto* c_svc_remove = c_service->add_subcommand("remove", "remove a service and its backends; the others stay");
  c_svc_remove->add_option("name", svc_remove.name, "the service")->required();
  c_svc_remove->add_option("--bridge", svc_remove.bridge, "which attached bridge");
  ShowArgs svc_list;
  auto* c_svc_list = c_service->add_subcommand("list", "the services with their settings and backends");
  c_svc_list->add_option("--bridge", svc_list.bridge, "which attached bridge");
  c_svc_list->add_flag("--json", svc_list.json, "machine-readable output");

  ApplyArgs apply;
  auto* c_apply = app.add_subcommand("apply", "make the bridges of a YAML config run exactly what it says (one change: every bridge or none)");
  c_apply->add_option("-f,--file", apply.file, "the config (YAML; - reads stdin), e.g. /etc/xdplb/xdplb.yaml")->required();
  c_apply->add_flag("--dry-run", apply.dry_run, "print the difference against what runs now; change nothing");
  ShowArgs export_args;
  auto* c_export = app.add_subcommand("export", "print what runs now as a config for `xdplb apply -f`");
  c_export->add_option("--bridge", export_args.bridge, "only this bridge (default: every attached one)");

  auto* c_import = app.add_subcommand("import", "print the tutorial's setup (nginx, iptables/nft, LXD) as an xdplb config");
  c_import->require_subcommand(1);
  ImportArgs imp_nginx, imp_dnat, imp_lxd;
  imp_nginx.kind = "nginx";
  imp_dnat.kind = "iptables";
  imp_lxd.kind = "lxd";
  auto* c_imp_nginx = c_import->add_subcommand("nginx", "upstream blocks and the listen of the server blocks that proxy_pass to them");
  c_imp_nginx->add_option("file", imp_nginx.file, "nginx config file (- reads stdin)")->required();
  auto* c_imp_dnat = c_import->add_subcommand("iptables", "DNAT rules of iptables-save or nft list ruleset");
  c_imp_dnat->add_option("file", imp_dnat.file, "their output saved (- reads stdin; default: run iptables-save, then nft)");
  auto* c_imp_lxd = c_import->add_subcommand("lxd", "LXD network forwards of the bridge and proxy devices of its instances");
  const std::pair<CLI::App*, ImportArgs*> imports[] = {{c_imp_nginx, &imp_nginx}, {c_imp_dnat, &imp_dnat}, {c_imp_lxd, &imp_lxd}};
  for (const auto& [c, args] : imports)
    c->add_option("--bridge", args->bridge, "the bridge of the config it prints")->capture_default_str();

  BootArgs boot;
  auto* c_boot = app.add_subcommand("boot", "wait for the config's bridges, apply it, run their daemons (xdplb.service)");
  c_boot->add_option("-f,--file", boot.file, "the config")->capture_default_str();
  c_boot->add_option("--wait-links", boot.wait_links, "seconds to wait for the bridges and uplinks to appear")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  c_boot->add_option("--log-file", boot.log_file, "not under systemd: rotating log file (default <state dir>/boot.log)");
  c_boot->add_option("--metrics", boot.metrics,
                     "ADDR:PORT of the first bridge's /metrics (the file's order; the next bridges on the next ports), or off")
      ->capture_default_str();
  c_boot->add_flag("--metrics-public", boot.metrics_public, "allow --metrics on a non-loopback address");

  EventsArgs events;
  auto* c_events = app.add_subcommand("events", "follow the daemon's state changes (backend up/down, drains, containers, services)");
  c_events->add_option("--bridge", events.bridge, "which attached bridge");
  c_events->add_flag("--json", events.json, "one JSON object per line");
  c_events->add_option("--count", events.count, "exit after this many events (default: follow until Ctrl-C)");

  TraceArgs trace;
  auto* c_trace = app.add_subcommand(
      "trace", "what the datapath decides for matching packets: service, flow, backend, verdict, reasons");
  c_trace->add_option("--bridge", trace.bridge, "which attached bridge");
  c_trace->add_option("--service", trace.service, "only packets of this service (its replies too)");
  c_trace->add_option("--client", trace.client, "only packets from this client address (and replies to it)");
  c_trace->add_option("--count", trace.count, "stop after this many packets");
  c_trace->add_option("--timeout", trace.timeout, "stop after this many seconds");
  c_trace->add_flag("--json", trace.json, "one JSON object per packet");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // The backend changes a running daemon can make (cli/handoff.h); in the daemon, only those.
  const std::optional<std::string>* handed_bridge = *c_add ? &add.bridge : *c_remove ? &remove.bridge
                                                  : *c_drain ? &drain.bridge : *c_undrain ? &undrain.bridge : nullptr;
  if (in_daemon) {
    if (!handed_bridge) return fail("the daemon runs only backend add, remove, drain and undrain");
  } else {
    spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);
    spdlog::set_pattern("xdplb %^%l%$: %v");
    if (handed_bridge)
      if (auto code = hand_to_daemon(g, *handed_bridge, args)) return *code;
  }

  // Whatever escapes a command (an exception from a library) ends it with one line.
  try {
    if (*c_attach) return run_attach(g, attach);
    if (*c_detach) return run_detach(g, detach);
    if (*c_add) return run_backend_add(g, add);
    if (*c_remove) return run_backend_remove(g, remove);
    if (*c_refresh) return run_backend_refresh(g, refresh);
    if (*c_list) return run_backend_list(g, list);
    if (*c_status) return run_status(g, status);
    if (*c_drain) return run_backend_drain(g, drain);
    if (*c_undrain) return run_backend_drain(g, undrain);
    if (*c_daemon) return run_daemon_cmd(g, daemon);
    if (*c_health) return run_health(g, health);
    if (*c_scheduler) return run_scheduler(g, scheduler);
    if (*c_top) return run_top(g, top);
    if (*c_svc_add) return run_service_add(g, svc_add);
    if (*c_svc_set) return run_service_set(g, svc_set);
    if (*c_svc_remove) return run_service_remove(g, svc_remove);
    if (*c_svc_list) return run_service_list(g, svc_list);
    if (*c_apply) return run_apply(g, apply);
    if (*c_export) return run_export(g, export_args);
    if (*c_imp_nginx) return run_import(g, imp_nginx);
    if (*c_imp_dnat) return run_import(g, imp_dnat);
    if (*c_imp_lxd) return run_import(g, imp_lxd);
    if (*c_boot) return run_boot(g, boot);
    if (*c_events) return run_events(g, events);
    if (*c_trace) return run_trace(g, trace);
  } catch (const std::exception& e) {
    std::cerr << "xdplb: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "xdplb: unexpected failure\n";
    return 1;
  }
  return 1;
}

}  // namespace xdplb::cli

int main(int argc, char** argv) {
  return xdplb::cli::run_command_line(std::vector<std::string>(argv + 1, argv + argc), false);
}
