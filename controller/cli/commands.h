// The xdplb subcommands. Each takes its parsed arguments and returns the process exit code;
// each reports its own errors once (context.h: fail()).
#pragma once

#include <xdplb/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"

namespace xdplb::cli {

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
int run_backend_remove(const Globals& g, const BackendArgs& a);
// Re-resolves backends given by container name (all, or the one in a.target).
int run_backend_refresh(const Globals& g, const BackendArgs& a);

struct SchedulerArgs {
  std::optional<std::string> bridge;
  std::optional<std::string> service;
  std::optional<std::string> name;  // not given: show the current one
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

}  // namespace xdplb::cli
