// The xdplb subcommands. Each takes its parsed arguments and returns the process exit code;
// each reports its own errors once (context.h: fail()).
#pragma once

#include <xdplb/abi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "net/link.h"

namespace xdplb::cli {

struct PendingUpgrade;  // cli/upgrade.h

// The options of a service (attach's for the default service, `service add` and `set`); not
// given: as saved (or the defaults for a new service).
struct ServiceOptions {
  std::optional<std::string> port;          // "P" or "P-Q"
  std::optional<std::string> backend_port;
  std::optional<std::string> proto;         // tcp, udp or both
  std::optional<std::vector<std::string>> listen;
  std::optional<std::string> scheduler;
  std::optional<std::string> affinity;
  bool any() const { return port || backend_port || proto || listen || scheduler || affinity; }
};

struct AttachArgs {
  std::string bridge;
  std::vector<std::string> uplinks;  // empty: the interfaces with a default route
  ServiceOptions service;            // given: the service "default" is created or changed
  std::string xdp_mode = "auto";
  bool no_host_local = false;  // skip the cgroup socket hooks for clients on the host itself
  // Not given: as saved for the bridge, else the defaults (61000-65000, XDPLB_MAX_FLOWS).
  std::optional<std::string> hairpin_ports;  // SNAT source ports of containers calling a VIP
  std::optional<uint32_t> flow_table;        // flow table entries (and as many reverse ones)
  std::optional<uint32_t> syn_table;         // reverse_new entries; 0: the flow table's share
  // Given (apply): an in-place upgrade is left pending there (cli/upgrade.h), not committed.
  std::unique_ptr<PendingUpgrade>* pending_upgrade = nullptr;
};
int run_attach(const Globals& g, const AttachArgs& a);

struct DetachArgs {
  std::string bridge;
  bool forget = false;  // also drop the saved backends
};
int run_detach(const Globals& g, const DetachArgs& a);

struct BackendArgs {
  std::string target;  // ADDR[:PORT] or a container name
  std::optional<std::string> bridge;
  std::optional<std::string> service;  // needed when the bridge has several
  bool backup = false;                 // takes new flows only while no primary can
  std::string weight = "1";
  bool no_fast_path = false;
  std::string source = "auto";  // containers: auto, lxd or lxc
  std::string lxcpath;          // classic LXC: container directory ("" = liblxc's default)
  double wait_seconds = 5;      // containers: how long to wait for an address
};
int run_backend_add(const Globals& g, const BackendArgs& a);
// The address families a container on `bridge` serves: those the bridge has global addresses
// of (a container there gets the same), IPv4 when it has none.
std::vector<int> bridge_families(const net::LinkInfo& bridge);
int run_backend_remove(const Globals& g, const BackendArgs& a);
// Re-resolves backends given by container name (all, or the one in a.target).
int run_backend_refresh(const Globals& g, const BackendArgs& a);

struct SchedulerArgs {
  std::optional<std::string> bridge;
  std::optional<std::string> service;
  std::optional<std::string> name;  // not given: show the current one
  bool json = false;
};
// Shows or sets how the bridge's service places new flows.
int run_scheduler(const Globals& g, const SchedulerArgs& a);

struct ShowArgs {
  std::optional<std::string> bridge;
  bool json = false;
};
int run_backend_list(const Globals& g, const ShowArgs& a);

struct ServiceArgs {
  std::string name;
  std::optional<std::string> bridge;
  ServiceOptions options;
};
int run_service_add(const Globals& g, const ServiceArgs& a);
int run_service_set(const Globals& g, const ServiceArgs& a);
int run_service_remove(const Globals& g, const ServiceArgs& a);
int run_service_list(const Globals& g, const ShowArgs& a);

// Applies the options to `svc` (checked; nothing changes on an error).
Status apply_service_options(const ServiceOptions& o, ServiceConfig& svc);
int run_status(const Globals& g, const ShowArgs& a);

// apply -f FILE [--dry-run] / export [--bridge B] (controller/config/).
struct ApplyArgs {
  std::string file;  // "-": stdin
  bool dry_run = false;
};
int run_apply(const Globals& g, const ApplyArgs& a);
// The text of `file` ("-": stdin), or an error naming it.
Result<std::string> read_input(const std::string& file);
int run_export(const Globals& g, const ShowArgs& a);

// import nginx FILE | iptables [FILE] | lxd: the old setup as a config on stdout.
struct ImportArgs {
  std::string kind;  // nginx, iptables or lxd
  std::string file;  // "-": stdin; iptables without one: iptables-save / nft list ruleset
  std::string bridge = "lxdbr0";
};
int run_import(const Globals& g, const ImportArgs& a);

// boot -f FILE: wait for the links, apply, run the daemons (xdplb.service; by hand after a reboot).
struct BootArgs {
  std::string file = "/etc/xdplb/xdplb.yaml";
  double wait_links = 60;  // seconds for the bridges and uplinks to appear
  std::string log_file;    // not under systemd: default <state dir>/boot.log
  std::string metrics = "127.0.0.1:9464";  // the first bridge's /metrics; the next ones on the next ports
  bool metrics_public = false;
};
int run_boot(const Globals& g, const BootArgs& a);

}  // namespace xdplb::cli
