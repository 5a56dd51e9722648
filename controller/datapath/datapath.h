// Datapath: the loaded BPF programs and maps of one attached bridge, owned through the
// generated skeleton. It is the only code that touches the kernel's BPF objects; the CLI and
// the daemon program it through this interface, and the packet tests use the same calls.
//
// Lifetime model: `attach` loads the programs, attaches XDP to each uplink and TC ingress to
// the bridge through bpf links, and pins links and maps under a pin directory, so the datapath
// keeps running after the process exits. Later commands call `open` to reach the pinned maps
// (programs are not loaded again). `detach` unpins everything, which detaches the programs.
#pragma once

#include <xdplb/abi.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "core/ip.h"
#include "core/prefix.h"
#include "core/result.h"
#include "core/table_sizes.h"
#include "core/xdp_mode.h"
#include "datapath/map_mapping.h"

struct xdplb_bpf;  // generated skeleton (xdplb_bpf.skel.h)

namespace xdplb {

// enum class XdpMode { Auto, Native, Generic } lives in core/xdp_mode.h.
const char* to_string(XdpMode m);

using Mac = std::array<uint8_t, 6>;

struct UplinkAttach {
  std::string name;
  int ifindex = 0;
};

// What the programs and maps are sized and tuned with at load (rodata and max_entries).
struct Tunables {
  // Hairpin SNAT source ports (inclusive, host order): containers calling a VIP appear to the
  // backend as the bridge address with a port from this range.
  uint16_t hairpin_port_min = XDPLB_HAIRPIN_PORT_MIN;
  uint16_t hairpin_port_max = XDPLB_HAIRPIN_PORT_MAX;
  // Entries of the flow table and of its reverse table (XDPLB_MIN_FLOWS..kMaxFlowTable).
  uint32_t flow_table_size = XDPLB_MAX_FLOWS;
  // Entries of reverse_new (SYN-only flows' reverse entries; XDPLB_MIN_FLOWS..flow_table_size);
  // 0: syn_table_entries' share of the flow table.
  uint32_t syn_table_size = 0;
  // How long a TCP flow's entries outlive its end (FIN both ways or RST).
  uint64_t flow_linger_ns = XDPLB_FLOW_LINGER_NS;
};
// reverse_new's size for t (core/table_sizes.h).
inline uint32_t syn_table_entries(const Tunables& t) {
  return syn_table_entries(t.flow_table_size, t.syn_table_size);
}

struct AttachSpec {
  std::string pin_dir;  // e.g. /sys/fs/bpf/xdplb/lxdbr0 (created; must not exist yet)
  std::string bridge;
  int bridge_ifindex = 0;
  std::vector<UplinkAttach> uplinks;
  XdpMode xdp_mode = XdpMode::Auto;
  Tunables tunables;
};

// What `attach` did, per uplink: the mode the kernel accepted.
struct AttachResult {
  std::vector<std::pair<std::string, XdpMode>> xdp_modes;  // uplink name -> Native/Generic
};

struct ServiceKey {
  IpAddress vip;
  uint16_t port = 0;  // host order
  uint8_t proto = 0;  // IPPROTO_TCP / IPPROTO_UDP
  auto operator<=>(const ServiceKey&) const = default;
};

// A service entry's value: its pool, scheduler (enum xdplb_scheduler), XDPLB_SERVICE_* and
// the backend port its new flows go to (host order; 0: each backend's own).
struct ServiceValue {
  uint32_t pool = 0;
  uint32_t scheduler = XDPLB_SCHED_MAGLEV;
  uint32_t flags = 0;
  uint16_t backend_port = 0;
  bool operator==(const ServiceValue&) const = default;
};

// What a routed backend's replies get as their source when no reverse entry knows them (map
// reply_nats, keyed by the backend's endpoint as a ServiceKey: address, backend port, proto):
// the one VIP:port the endpoint serves, or `ambiguous` (it serves several: such replies are
// dropped).
struct ReplyNat {
  IpAddress vip;
  uint16_t vport = 0;  // host order
  bool ambiguous = false;
  bool operator==(const ReplyNat&) const = default;
};

struct BackendEntry {
  IpAddress addr;
  uint16_t port = 0;      // host order
  bool active = true;     // may receive new and existing flows
  bool fast_path = false; // devmap redirect into ifindex (needs ifindex + MACs)
  bool routed = false;    // outside the bridge's subnets: the host's routes (FIB) reach it
  int ifindex = 0;        // host-side veth of the backend
  Mac dmac{};             // backend MAC
  Mac smac{};             // bridge MAC
};

struct BackendCounters {
  uint64_t packets = 0, bytes = 0, new_flows = 0;
  uint64_t refused = 0;  // TCP connections it refused (RST to the SYN): passive health
};

// What giving an id to a new backend (take_backend_id) or removing one (delete_backend) resets,
// as a value: a transaction reads it first and writes it back if it rolls back.
struct BackendTally {
  std::vector<uint64_t> stats;  // per CPU: packets, bytes, new_flows, refused (xdplb_backend_stats)
  int64_t connections = 0;      // backend_conns
  uint32_t gen = 0;             // xdplb_backend.gen
  bool operator==(const BackendTally&) const = default;
};

// One backend of a pool's member list (round-robin and least-conn walk it).
struct PoolMember {
  uint32_t id = 0;
  uint32_t weight = 1;  // 1..XDPLB_MAX_WEIGHT
};

// What uncount_idle_flows found.
struct IdleSweep {
  uint64_t uncounted = 0;  // flows (external and hairpin) taken out of their backend's count
};

// How long a trace stays on without being renewed.
inline constexpr std::chrono::milliseconds kTraceLease{3000};

// Which packets a trace reports (xdplb_trace_conf): all, or those of a client and/or a service.
struct TraceFilter {
  std::optional<IpAddress> client;
  std::optional<uint32_t> service_slot;  // ServiceConfig::slot
  std::vector<uint32_t> service_backends;  // its backend ids (replies are matched by backend)
  bool client_is_host = false;  // the client is this host: its host-local calls match too
};

// Makes sure /sys/fs/bpf is a bpf filesystem (pins live there), mounting one if it is not.
// Returns what it did for the user ("" if it was already mounted).
Result<std::string> ensure_bpffs();

// What an in-place upgrade (Datapath::take_over) replaced: the old programs (each link's, held
// by fd) and the old maps (their pins moved to old_dir), kept until commit() drops them or undo()
// puts them back as they were: every link runs its old program again, over the old maps, under
// the old names. Dropped without either, it commits.
class ReplacedDatapath {
 public:
  ReplacedDatapath(std::string pin_dir, std::string old_dir) : pin_dir_(std::move(pin_dir)), old_dir_(std::move(old_dir)) {}
  ReplacedDatapath(ReplacedDatapath&& o) noexcept
      : pin_dir_(std::move(o.pin_dir_)), old_dir_(std::move(o.old_dir_)), swapped_(std::move(o.swapped_)),
        moved_in_(std::move(o.moved_in_)), done_(std::exchange(o.done_, true)) {}  // the moved-from drops nothing
  ReplacedDatapath& operator=(ReplacedDatapath&&) = delete;
  ReplacedDatapath(const ReplacedDatapath&) = delete;
  ~ReplacedDatapath() { commit(); }
  void commit();
  Status undo();

 private:
  friend class Datapath;
  std::string pin_dir_, old_dir_;
  std::vector<std::pair<UniqueFd, UniqueFd>> swapped_;  // link, its old program (XDP first)
  std::vector<std::string> moved_in_;  // the new pins moved into pin_dir so far
  bool done_ = false;
};

class Datapath {
 public:
  // Load + attach + pin. Fails (and leaves nothing behind) if pin_dir already exists, an
  // interface cannot take XDP in the asked mode, or the kernel refuses a program.
  static Result<std::unique_ptr<Datapath>> attach(const AttachSpec& spec, AttachResult* result);
  // Reach the pinned maps of an attached bridge.
  static Result<std::unique_ptr<Datapath>> open(const std::string& pin_dir);
  // Load the programs and maps without attaching or pinning: for BPF_PROG_TEST_RUN tests and
  // benchmarks.
  static Result<std::unique_ptr<Datapath>> load_unattached(const Tunables& tunables = {});
  // In-place upgrade, step 1: the programs and fresh maps of this build, maps pinned in
  // staged_dir (no links), for the caller to fill before step 2.
  static Result<std::unique_ptr<Datapath>> load_staged(const std::string& staged_dir, const Tunables& tunables);
  // Step 2: the XDP and TC links pinned in pin_dir run this datapath's programs (an atomic
  // swap per link), the old map pins move to old_dir and the staged ones take their names
  // (with the meta of this version). Fails with the old programs and pins back in place.
  Result<ReplacedDatapath> take_over(const std::string& staged_dir, const std::string& pin_dir, const std::string& old_dir);
  // Unpin links (which detaches the programs) and maps, remove pin_dir.
  static Status detach(const std::string& pin_dir);
  static bool is_attached(const std::string& pin_dir);

  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  Status put_service(const ServiceKey& key, const ServiceValue& value);
  Status put_service(const ServiceKey& key, uint32_t pool, uint32_t scheduler = XDPLB_SCHED_MAGLEV) {
    return put_service(key, ServiceValue{pool, scheduler, 0});
  }
  // Sets the scheduler (enum xdplb_scheduler) of every service of `pool` (tests, benchmarks).
  Status set_scheduler(uint32_t pool, uint32_t scheduler);
  Status delete_service(const ServiceKey& key);
  // Every service entry the map holds.
  Result<std::map<ServiceKey, ServiceValue>> services();
  // A routed backend's endpoint -> what its replies without a reverse entry get (reply_nats).
  Status put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat);
  Status delete_reply_nat(const ServiceKey& endpoint);
  Result<std::map<ServiceKey, ReplyNat>> reply_nats();
  Status put_backend(uint32_t id, const BackendEntry& b);
  // The backend entry as the map holds it (an unused id: no address, inactive).
  Result<BackendEntry> backend_entry(uint32_t id);
  // Marks the backend inactive, removes its devmap slot and zeroes its counters.
  Status delete_backend(uint32_t id);
  // Write a pool's Maglev ring (size XDPLB_MAGLEV_RING_SIZE; XDPLB_NO_BACKEND = empty slot).
  Status write_ring(uint32_t pool, const std::vector<uint32_t>& ring);
  // The same, but with `before` (what the map holds now, same size) only the slots that
  // differ are written. The ring is mmapped: a slot is one aligned 4-byte store (the datapath
  // reads a slot with one load), no syscall per slot. Fails only before the first slot (the
  // ring cannot be mapped), never halfway. Returns how many slots were written.
  Result<uint32_t> write_ring_changes(uint32_t pool, const std::vector<uint32_t>& ring,
                                      const std::vector<uint32_t>* before);
  // Write a pool's member list (at most XDPLB_MAX_POOL_MEMBERS), in the order given.
  Status write_pool_members(uint32_t pool, const std::vector<PoolMember>& members);
  Result<std::vector<PoolMember>> pool_members(uint32_t pool);

  // Active connections of a backend as the datapath counts them (lib/conns.h); may be
  // briefly negative when a decrement overtakes its increment.
  // A new backend starts with no connections: its id may have served another backend whose
  // flows were still counted (ids are reused). Those flows' later FINs may take it below 0,
  // which placement reads as 0.
  Status reset_connections(uint32_t id);
  // Gives id to a new backend: no counted connections (reset_connections) and the next
  // generation (xdplb_backend.gen), so flows the id's previous backend still has entries for
  // are re-placed and their replies no longer matched. put_backend keeps the generation.
  Status take_backend_id(uint32_t id);
  Result<int64_t> active_connections(uint32_t id);
  Result<BackendTally> backend_tally(uint32_t id);
  // Puts back what backend_tally read (the entry's flags and address stay as they are).
  Status restore_backend_tally(uint32_t id, const BackendTally& tally);
  // Flows with no packet for longer than their protocol's idle time leave their backend's
  // count (marked XDPLB_FLOW_IDLE: a later packet counts them again). The entries stay, so an
  // idle connection keeps its backend.
  Result<IdleSweep> uncount_idle_flows(std::chrono::nanoseconds tcp_idle,
                                       std::chrono::nanoseconds udp_idle);

  // Replaces the uplink guard (lib/guard.h) with these source prefixes
  // (core/address_policy.h uplink_spoofed_sources); at most XDPLB_MAX_GUARD_PREFIXES.
  Status set_uplink_guard(const std::vector<IpPrefix>& prefixes);
  Result<std::vector<IpPrefix>> uplink_guard();

  // The bridge's settings: XDPLB_SETTING_* flags (abi.h xdplb_settings), written by the
  // transactions (lb/plan.h MapPlan::settings).
  Result<uint32_t> settings();
  Status set_settings(uint32_t flags);

  Result<std::vector<uint64_t>> reason_counters();  // indexed by enum xdplb_reason
  Result<BackendCounters> backend_counters(uint32_t id);
  Result<uint64_t> flow_count();  // forward entries currently in the flow table
  uint32_t flow_table_size() const;  // max entries of the flow table (set at attach)
  uint32_t syn_table_size() const;   // max entries of reverse_new (set at attach)
  // Packet trace (lib/trace.h): start clears the per-CPU reasons noted so far, then turns
  // the trace on with the filter for `lease`; renew moves the lease's end to now + lease (the
  // trace command does it while it runs, so a killed one stops within a lease); stop turns it
  // off. Each also sets the programs' trace switch (lib/trace_switch.h): renew sets it again,
  // for programs an upgrade put in since. trace_ring_fd() is the ring buffer the programs write xdplb_trace_event records to.
  Status start_trace(const TraceFilter& filter, std::chrono::milliseconds lease = kTraceLease);
  Status renew_trace(std::chrono::milliseconds lease = kTraceLease);
  Status stop_trace();
  int trace_ring_fd() const;
  Result<uint64_t> hairpin_flow_count();  // entries of the hairpin (container -> VIP) flow table
  uint32_t hairpin_table_size() const;

  // For tests and benchmarks: program fds to run through BPF_PROG_TEST_RUN.
  int xdp_prog_fd() const;
  int tc_prog_fd() const;
  struct ::xdplb_bpf* skeleton() { return skel_; }

 private:
  Datapath() = default;
  // backend_conns, mmapped on first use so the controller can decrement atomically.
  Result<int64_t*> connection_counters();
  // Sets the trace switch of the programs this datapath runs (trace.cpp).
  Status set_trace_switch(bool on);
  struct ::xdplb_bpf* skel_ = nullptr;
  std::string pin_dir_;  // set by open(): the programs are the ones its links run
  MapMapping conns_;  // backend_conns
  // The pages of each pool's Maglev ring, mapped at the pool's first ring write.
  std::array<MapMapping, XDPLB_MAX_POOLS> rings_;
};

}  // namespace xdplb
