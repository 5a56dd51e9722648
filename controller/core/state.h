// The saved configuration of one attached bridge, as JSON in the state dir
// (<dir>/<bridge>.json), so later commands and a restarted daemon can rebuild the datapath's
// maps. Forward compatible: unknown keys are ignored, missing keys take their defaults, and a
// "version" field marks incompatible changes. Version 1 (one implicit service, its settings at
// the top level) loads as a bridge with one service named "default". StateLock serialises the read-modify-write of
// concurrent CLI commands and the daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xdplb/abi.h>

#include "core/fd.h"
#include "core/ip.h"
#include "core/model.h"
#include "core/result.h"
#include "core/table_sizes.h"

namespace xdplb {

inline constexpr int kStateVersion = 2;

// The service of a bridge made by `attach` without services, and the one of version-1 files.
inline constexpr const char* kDefaultService = "default";

// One entry per (service, backend): a container serving two services is two entries (per
// family), each with its own id, health, drain, weight and counters.
struct SavedBackend {
  uint32_t id = 0;
  std::string service = kDefaultService;  // the ServiceConfig it belongs to
  std::string name;              // container name, or "" for a backend given by address
  BackendSource source = BackendSource::Addr;  // a container: Auto until resolved
  IpAddress addr;                // may be unset (family 0) for a container not yet running
  // The address family this entry serves: 4 or 6. A container on a dual-stack bridge is two
  // entries with the same name, one per family, each with its own id, pool (ring) and health,
  // since its two addresses can fail separately. A backend given by address: its address's.
  int family = 4;
  uint16_t port = 80;
  uint32_t weight = 1;
  bool fast_path_disabled = false;
  std::string lxcpath;           // classic LXC: where the container lives ("" = default)
  // How the datapath reaches it, as last installed (for status; recomputed on every install).
  BackendPath path = BackendPath::Unknown;  // Down: container stopped, not in the ring
  std::string via;          // host-side veth, if known
  std::string path_reason;  // why that path
  // Set by `xdplb backend drain`: out of the ring for new flows, existing flows stay.
  bool drained = false;
  // How the drain ended, set by the daemon ("" while it goes on): no open flow left, or its
  // --drain-timeout passed (the connections left were cut).
  std::string drain_end;
  // When the drain began (wall clock, ms since the epoch; 0: not known yet, the daemon stamps
  // it when it sees the drain). Saved, so --drain-timeout ends it at the same time whether or
  // not the daemon restarted meanwhile.
  int64_t drain_started_ms = 0;
  // Takes new flows only while no primary backend of its service and family does.
  bool backup = false;
  // Written by the daemon's health checks: Unchecked (not yet), Up, or Down (out of the
  // ring, entry inactive so its flows are re-placed), and why.
  Health health = Health::Unchecked;
  std::string health_reason;
  bool operator==(const SavedBackend&) const = default;
};

// The wall clock as SavedBackend::drain_started_ms keeps it (ms since the epoch).
inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// AF_INET or AF_INET6 for a backend's family (4 or 6).
inline int socket_family(const SavedBackend& b) { return b.family == 6 ? 10 /* AF_INET6 */ : 2 /* AF_INET */; }

// Active health checks of a service's backends (the daemon runs them).
struct HealthCheckConfig {
  CheckType type = CheckType::Tcp;  // connect, GET with a status in range, or none
  std::string http_path = "/";
  uint16_t expect_min = 200, expect_max = 399;  // HTTP status range that counts as healthy
  uint32_t interval_ms = 1000;                  // between probes of one backend (>= 100)
  uint32_t timeout_ms = 1000;                   // a probe that takes longer failed
  uint32_t rise = 2;  // consecutive successes that bring a down backend back
  uint32_t fall = 3;  // consecutive failures that take an up backend out
  // Slow start: a backend that comes back up ramps from a small share of new flows to its full
  // weight over this long (0: full weight at once). Run by the daemon.
  uint32_t slow_start_ms = 0;
  // Panic threshold (Envoy's): while fewer than this percentage of a service's backends of one
  // family are healthy, health is ignored for placement and new flows spread over all of them
  // (probes that fail for a reason of their own must not take a working service out). 0: off.
  uint32_t panic_threshold = 50;
  // Passive health: this many new connections refused (the backend's RST to a SYN, counted by
  // the datapath) with no refusal-free look in between take an up backend out at once, without
  // waiting for the probes; the probes bring it back. 0: off.
  uint32_t refusals = 3;
  bool operator==(const HealthCheckConfig&) const = default;
};
inline constexpr uint32_t kMinHealthIntervalMs = 100;

// A service: ports and protocols on a set of addresses -> its own backends. Ports are a
// range (first..last, one entry per port). With one backend port every port maps to it (to
// the backend's own port, as saved with it, when the backend was given as ADDR:PORT); with a
// backend port range of the same length (LXD forwards allow both) port + i maps to
// backend_port + i of every backend.
struct ServiceConfig {
  std::string name = kDefaultService;
  // Its pools: 2 * slot (IPv4 backends) and 2 * slot + 1 (IPv6). Fixed while it lives.
  uint32_t slot = 0;
  uint16_t port = 8000, port_last = 8000;  // inclusive range; port_last == port: one port
  uint16_t backend_port = 80;               // default port of its backends
  uint16_t backend_port_last = 0;           // 0: one port; else a range, port + i -> backend_port + i
  ProtoSet protos = ProtoSet::Both;
  // Where it answers: empty = the default addresses (the uplinks', the bridge's, loopback).
  std::vector<IpAddress> listen;
  Scheduler scheduler = Scheduler::Maglev;
  Affinity affinity = Affinity::None;
  HealthCheckConfig health_check;  // a UDP-only service starts with CheckType::None
  bool maps_range() const { return backend_port_last > backend_port; }
  uint16_t backend_port_end() const { return backend_port_last ? backend_port_last : backend_port; }
  bool tcp() const { return protos != ProtoSet::Udp; }
  bool udp() const { return protos != ProtoSet::Tcp; }
  bool operator==(const ServiceConfig&) const = default;
};

// Whether the backend port range fits the port range: one port, or as many ports as the
// service has (an error says which lengths differ).
Status check_backend_ports(const ServiceConfig& s);

// The port a service entry for `port` DNATs to: backend_port + the offset of `port` in a range
// mapped onto a range, else 0 (each backend's own port).
uint16_t entry_backend_port(const ServiceConfig& s, uint16_t port);

// "8000" or "30000-30009".
std::string port_range_text(uint16_t first, uint16_t last);

inline uint32_t pool_of_service(const ServiceConfig& s, int family) {
  return 2 * s.slot + (family == 6 ? 1 : 0);
}

// What `attach` fixes for as long as a bridge is attached: the flow table's size, the source
// ports of hairpin SNAT, the cgroup hooks for host-local clients, the SYN table's size
// (--flow-table, --hairpin-ports, --no-host-local, --syn-table).
struct AttachSettings {
  static constexpr uint32_t kMaxFlowTable = xdplb::kMaxFlowTable;  // core/table_sizes.h
  uint32_t flow_table = XDPLB_MAX_FLOWS;
  uint16_t hairpin_first = 61000, hairpin_last = 65000;
  bool host_local = true;
  // Entries of reverse_new (SYN-only flows); 0: 1/XDPLB_SYN_TABLE_SHARE of the flow table.
  uint32_t syn_table = 0;
  bool operator==(const AttachSettings&) const = default;
};
std::string hairpin_text(const AttachSettings& a);  // "61000-65000"

struct BridgeState {
  std::string bridge;
  std::vector<std::string> uplinks;
  std::vector<std::pair<std::string, XdpMode>> xdp_modes;  // uplink -> Native|Generic, as attached
  XdpMode xdp_mode = XdpMode::Auto;                        // as asked
  AttachSettings attach;                                   // as attached
  std::vector<ServiceConfig> services;
  std::vector<SavedBackend> backends;
  // One past the highest id handed out so far; informational (allocate_backend_id reuses the
  // smallest free id and does not depend on it).
  uint32_t next_backend_id = 0;
  bool operator==(const BridgeState&) const = default;
};

// The service named `name`, or nullptr.
const ServiceConfig* find_service(const BridgeState& state, std::string_view name);
ServiceConfig* find_service(BridgeState& state, std::string_view name);
// The service a command means: the one named, else the only one; with several and none named,
// an error listing them.
Result<const ServiceConfig*> choose_service(const BridgeState& state, const std::optional<std::string>& name);
// The smallest slot no service of `state` uses, or an error at the limit.
Result<uint32_t> allocate_service_slot(const BridgeState& state);

// The state dir, made (0700) if missing: it must be a directory owned by this user that no one
// else may write to (a lock, pid or state file put there by another user could steer xdplb).
Status ensure_state_dir(const std::string& dir);

// Opens (creating, 0600) a file of the state dir without following a symlink in its place.
Result<UniqueFd> open_private_file(const std::string& path, int flags);

// <dir>/<bridge>.json
std::string state_file(const std::string& dir, const std::string& bridge);

// The mark of a change whose map writes may have stopped halfway (<dir>/.<bridge>.rings-unsure):
// set before a change writes the maps, cleared once they are as planned (committed or rolled
// back). While it is set, the next change does not trust the rings to be what their member
// lists say and writes them whole. No fsync: the maps do not outlive the machine either.
Status mark_rings_unsure(const std::string& dir, const std::string& bridge);
bool rings_unsure(const std::string& dir, const std::string& bridge);
void clear_rings_unsure(const std::string& dir, const std::string& bridge);

// JSON text <-> state. `origin` names the source in error messages (usually the file).
std::string state_to_json(const BridgeState& state);
Result<BridgeState> state_from_json(std::string_view text, const std::string& origin);

// The saved state of `bridge`, or nullopt if none is saved.
Result<std::optional<BridgeState>> load_state(const std::string& dir, const std::string& bridge);
// Atomic: written to a temp file in `dir`, fsynced, renamed over the old file; creates `dir`.
Status save_state(const std::string& dir, const BridgeState& state);
// The same, of a file's text as it was read (putting a state file back byte for byte).
Status save_state_text(const std::string& dir, const std::string& bridge, const std::string& text);
// Bridges with a saved state, sorted; empty if `dir` does not exist.
Result<std::vector<std::string>> list_bridges(const std::string& dir);
// Removes the saved state; fine if there is none.
Status remove_state(const std::string& dir, const std::string& bridge);

// The smallest id below XDPLB_MAX_BACKENDS no backend of `state` uses.
Result<uint32_t> allocate_backend_id(const BridgeState& state);

// Exclusive flock on <dir>/<bridge>.lock, held until destroyed. Waits at most `timeout` for
// another holder (which is named by pid in the error).
class StateLock {
 public:
  static Result<StateLock> acquire(const std::string& dir, const std::string& bridge,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& path() const { return path_; }

 private:
  StateLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace xdplb
