#include "datapath_target.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/reasons.h"
#include "derived.h"
#include "lb/address_guard.h"
#include "prog_run.h"
#include "scenario.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::fuzz {

namespace {

// The namespace the programs run in: a bridge with the backends and containers as permanent
// neighbours, an uplink with a route and a neighbour for the clients (as the packet tests);
// the bridge's MTU below the frames' 1600 bytes, so big hairpin requests are answered with an
// ICMP error (lib/frag_needed.h) and checked (check_frag_needed).
constexpr const char* kNetnsSetup[] = {
    "ip link set lo up",
    "ip link add gdbr0 address 02:00:00:00:00:01 type bridge",
    "ip addr add 10.1.0.1/24 dev gdbr0",
    "ip addr add fd00:2::1/64 dev gdbr0 nodad",
    "ip link add gdport0 type veth peer name gdport1",
    "ip link set gdport0 master gdbr0 up",
    "ip link set gdport1 up",
    "ip link set gdbr0 mtu 1400",  // a hairpin request of 1401+ IP bytes gets the VIP's ICMP error
    "ip link set gdbr0 up",
    "ip neigh add 10.1.0.11 lladdr 02:00:00:00:00:11 dev gdbr0 nud permanent",
    "ip neigh add 10.1.0.12 lladdr 02:00:00:00:00:12 dev gdbr0 nud permanent",
    "ip neigh add 10.1.0.13 lladdr 02:00:00:00:00:13 dev gdbr0 nud permanent",
    "ip neigh add 10.1.0.50 lladdr 02:00:00:00:00:50 dev gdbr0 nud permanent",
    "ip neigh add fd00:2::11 lladdr 02:00:00:00:00:21 dev gdbr0 nud permanent",
    "ip neigh add fd00:2::50 lladdr 02:00:00:00:00:50 dev gdbr0 nud permanent",
    "ip link add gdup0 address 02:00:00:00:01:01 type veth peer name gdup1",
    "ip addr add 192.168.1.1/24 dev gdup0",
    "ip addr add fd00:1::1/64 dev gdup0 nodad",
    "ip link set gdup0 up",
    "ip link set gdup1 up",
    "ip neigh add 192.168.1.2 lladdr 02:00:00:00:00:c2 dev gdup0 nud permanent",
    // the routed backend's network behind the uplink's router (client 192.168.1.3: no neighbour)
    "ip neigh add 192.168.1.254 lladdr 02:00:00:00:01:fe dev gdup0 nud permanent",
    "ip route add 172.16.0.0/24 via 192.168.1.254",
    "ip neigh add fd00:1::2 lladdr 02:00:00:00:00:c2 dev gdup0 nud permanent",
    "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
};

// Services beyond the packet tests' scenario (10.0.0.10 on pool 0 over three backends by
// maglev, 10.0.0.20 on an empty pool 1): an IPv6 VIP by least-conn on pool 2 and an IPv4 VIP
// by round-robin on pool 3.
constexpr uint32_t kPool6 = 2, kPoolRr = 3;
const std::string kVip6 = "fd00::10", kVipRr = "10.0.0.30";
constexpr uint16_t kRangePort = 30003, kRangeBackendPort = 8003;
struct Backend6 {
  uint32_t id;
  const char* addr;
  test::Mac mac;
};
const Backend6 kBackends6[] = {{10, "fd00:2::11", {2, 0, 0, 0, 0, 0x21}},
                               {11, "fd00:2::12", {2, 0, 0, 0, 0, 0x22}}};
// A backend with no route to it (no subnet of the namespace holds it), alone in pool 4
// behind 10.0.0.40: a hairpin request to it finds no source address (tc_hairpin_no_source).
constexpr uint32_t kPoolNoRoute = 4;
const std::string kVipNoRoute = "10.0.0.40";
const test::TestBackend kNoRoute{3, "10.9.0.13", 80, false, {0x02, 0, 0, 0, 0, 0x14}};
// A routed backend (outside the bridge's subnets: reached through the uplink's router), alone in
// pool 5 behind 10.0.0.50; the settings say the bridge has one (routed replies looked up).
constexpr uint32_t kPoolRouted = 5;
const std::string kVipRouted = "10.0.0.50";
const test::TestBackend kRouted{4, "172.16.0.10", 80, false, {0x02, 0, 0, 0, 0x01, 0xfe}};
const test::Mac kUplinkMac{0x02, 0, 0, 0, 0x01, 0x01}, kRouterMac{0x02, 0, 0, 0, 0x01, 0xfe};
// One hairpin SNAT port: a second hairpin flow to the same backend finds none
// (tc_hairpin_no_port) while the first lives.
Tunables fuzz_tunables() {
  Tunables t;
  t.hairpin_port_min = t.hairpin_port_max = XDPLB_HAIRPIN_PORT_MIN;
  return t;
}
// Reasons no input can reach here, and why (README "Fuzzer"):
//   flow_table_full: the flow tables are LRU maps, which evict instead of failing
//     (TcTest.IdleConnectionsKeepTheirBackendThroughAFlood asserts it stays 0 under a flood
//     of 3x the table, with every eviction counted as flow_evicted);
//   flow_evicted, flow_restored: need a full table, and every input starts from an empty one;
//   tc_drop_rewrite: a failed skb helper or an unfilled tail-call table, neither of which a
//     frame can cause once the lengths are checked against the frame;
//   routed_reply_stateless, icmp_from_routed_stateless: the harness writes no reply_nats entry
//     (a routed backend shared by several nodes); packet_routed_test's tables cover them.
constexpr std::string_view kUnreachable[] = {"flow_table_full",        "flow_evicted",
                                             "flow_restored",          "tc_drop_rewrite",
                                             "routed_reply_stateless", "icmp_from_routed_stateless"};
bool listed(std::string_view reason, const auto& list) {
  return std::find(std::begin(list), std::end(list), reason) != std::end(list);
}
bool unreachable(std::string_view reason) { return listed(reason, kUnreachable); }

std::array<uint8_t, 16> addr_bytes(const std::string& text) {
  auto a = IpAddress::parse(text);
  std::array<uint8_t, 16> b{};
  if (a) std::memcpy(b.data(), a->bytes.data(), a->is_v4() ? 4 : 16);
  return b;
}

// The backends a control frame can act on (fuzz_input.h), and the pools they are members of.
constexpr uint32_t kControlIds[] = {0, 1, 2, 10, 11};
struct PoolSpec {
  uint32_t pool;
  std::vector<PoolMember> members;
};
const PoolSpec kPools[] = {{test::kPool, {{0, 1}, {1, 1}, {2, 1}}},
                           {kPool6, {{10, 1}, {11, 2}}},
                           {kPoolRr, {{1, 1}, {2, 1}}},
                           {kPoolNoRoute, {{kNoRoute.id, 1}}},
                           {kPoolRouted, {{kRouted.id, 1}}}};

Status put_fuzz_backend(Datapath& dp, uint32_t id, bool active) {
  for (const auto& b : {test::kB0, test::kB1, test::kB2, kNoRoute})
    if (b.id == id) return test::put_backend(dp, b, active);
  if (id == kRouted.id) {
    BackendEntry e;
    e.addr = *IpAddress::parse(kRouted.addr);
    e.port = kRouted.port;
    e.active = active;
    e.routed = true;
    return dp.put_backend(id, e);
  }
  for (const auto& b : kBackends6) {
    if (b.id != id) continue;
    BackendEntry e;
    e.addr = *IpAddress::parse(b.addr);
    e.port = 80;
    e.active = active;
    e.dmac = b.mac;
    e.smac = test::kBridgeMac;
    return dp.put_backend(b.id, e);
  }
  return make_error("no fuzz backend " + std::to_string(id));
}

// The ring and member list of every pool that has backend `of` (every pool for
// XDPLB_NO_BACKEND), with it or (drain) without it. A ring costs milliseconds to write.
Status write_pools(Datapath& dp, uint32_t of, bool drain) {
  for (const auto& p : kPools) {
    if (of != XDPLB_NO_BACKEND &&
        std::none_of(p.members.begin(), p.members.end(), [&](const PoolMember& m) { return m.id == of; }))
      continue;
    const uint32_t without = drain ? of : XDPLB_NO_BACKEND;
    std::vector<PoolMember> members;
    std::vector<uint32_t> ids;
    for (const auto& m : p.members)
      if (m.id != without) members.push_back(m), ids.push_back(m.id);
    XDPLB_TRY(dp.write_ring(p.pool, test::ring_of(ids)));
    XDPLB_TRY(dp.write_pool_members(p.pool, members));
  }
  return {};
}

Status program(Datapath& dp) {
  XDPLB_TRY(test::program_scenario(dp));
  for (const auto& b : kBackends6) XDPLB_TRY(put_fuzz_backend(dp, b.id, true));
  XDPLB_TRY(put_fuzz_backend(dp, kNoRoute.id, true));
  XDPLB_TRY(put_fuzz_backend(dp, kRouted.id, true));
  XDPLB_TRY(dp.set_settings(XDPLB_SETTING_ROUTED_REPLIES));
  for (uint32_t id : {test::kB0.id, test::kB1.id, test::kB2.id}) XDPLB_TRY(dp.reset_connections(id));
  XDPLB_TRY(write_pools(dp, XDPLB_NO_BACKEND, false));
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
    XDPLB_TRY(dp.put_service({*IpAddress::parse(kVip6), test::kPort, proto}, kPool6, XDPLB_SCHED_LEAST_CONN));
    XDPLB_TRY(dp.put_service({*IpAddress::parse(kVipRr), test::kPort, proto}, kPoolRr, XDPLB_SCHED_ROUND_ROBIN));
    XDPLB_TRY(dp.put_service({*IpAddress::parse(kVipNoRoute), test::kPort, proto}, kPoolNoRoute, XDPLB_SCHED_MAGLEV));
    XDPLB_TRY(dp.put_service({*IpAddress::parse(kVipRouted), test::kPort, proto}, kPoolRouted, XDPLB_SCHED_MAGLEV));
    // port kRangePort of a range mapped onto a range: to kRangeBackendPort of pool 0's backends
    XDPLB_TRY(dp.put_service({*IpAddress::parse(test::kVip), kRangePort, proto},
                             ServiceValue{test::kPool, XDPLB_SCHED_MAGLEV, 0, kRangeBackendPort}));
  }
  return {};
}

// A control frame: what the controller does while flows run (fuzz_input.h). Returns whether
// it touched the rings (else only backend id's entry).
// f[0] % 8 >= 4: the same on the backend the previous frame was sent to (prev_backend, if
// any), so that [SYN][that backend fails][SYN again] is one short input. f[0] & 8: instead,
// the id is given to a new backend (its generation moves on; same address).
Result<bool> apply_control(Datapath& dp, const Bytes& f, std::optional<uint32_t> prev_backend,
                           uint32_t* touched) {
  uint32_t id = kControlIds[f[1] % std::size(kControlIds)];
  if (f[0] % 8 >= 4 && prev_backend) id = *prev_backend;
  *touched = id;
  Status st;
  if (f[0] & 8) {
    st = dp.take_backend_id(id);
    if (st) st = put_fuzz_backend(dp, id, true);
    if (!st) return make_error(st.error());
    return false;
  }
  switch (f[0] % 4) {
    case 0: st = put_fuzz_backend(dp, id, false); break;  // health check failed
    case 1: st = dp.delete_backend(id); break;             // backend removed
    case 2: st = write_pools(dp, id, true); break;         // drained: out of the rings
    default: st = put_fuzz_backend(dp, id, true); break;   // back in service
  }
  if (!st) return make_error(st.error());
  return f[0] % 4 == 2;
}

bool is_drop_reason(std::string_view name) {
  return name.starts_with("drop_") || name.starts_with("tc_drop_") || name.starts_with("tc_hairpin_no_");
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < b.size() && i < 128; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    s += buf;
  }
  return s;
}

struct xdplb_flow_key key_of(const FrameView& v) {
  struct xdplb_flow_key k;
  std::memset(&k, 0, sizeof k);
  std::memcpy(&k.src, v.src.data(), sizeof k.src);
  std::memcpy(&k.dst, v.dst.data(), sizeof k.dst);
  k.sport = htons(v.sport);
  k.dport = htons(v.dport);
  k.proto = v.proto;
  k.family = v.family == 6 ? XDPLB_AF_INET6 : XDPLB_AF_INET;
  return k;
}

uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 16777619u; }

// Deletes every entry of a hash map (an input leaves a handful).
Status clear_map(const struct bpf_map* map) {
  std::vector<uint8_t> key(bpf_map__key_size(map));
  for (int i = 0; i < 100000; ++i) {
    if (bpf_map__get_next_key(map, nullptr, key.data(), key.size())) return {};
    if (int err = bpf_map__delete_elem(map, key.data(), key.size(), 0); err)
      return make_error(std::string("clearing ") + bpf_map__name(map) + ": " + std::strerror(-err));
  }
  return make_error(std::string("clearing ") + bpf_map__name(map) + " did not end");
}

}  // namespace

Result<std::unique_ptr<DatapathTarget>> DatapathTarget::create() {
  if (::unshare(CLONE_NEWNET) != 0)
    return make_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno) + " (run as root)");
  for (const char* cmd : kNetnsSetup)
    if (std::system((std::string(cmd) + " >/dev/null").c_str()) != 0)
      return make_error(std::string("namespace set-up failed: ") + cmd);
  std::unique_ptr<DatapathTarget> t(new DatapathTarget());
  t->bridge_ifindex_ = static_cast<int>(if_nametoindex("gdbr0"));
  if (t->bridge_ifindex_ <= 0) return make_error("no gdbr0 after the set-up");
  auto dp = Datapath::load_unattached(fuzz_tunables());
  if (!dp) return make_error(dp.error());
  t->dp_ = std::move(*dp);
  XDPLB_TRY(program(*t->dp_));
  auto guard = write_uplink_guard(*t->dp_, t->bridge_ifindex_);  // as attach does
  if (!guard) return make_error(guard.error());
  t->guard_ = *guard;

  for (const auto& vip : {test::kVip, test::kVipNoBackend, kVip6, kVipRr, kVipNoRoute, kVipRouted})
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) t->services_.insert({addr_bytes(vip), test::kPort, proto});
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) t->services_.insert({addr_bytes(test::kVip), kRangePort, proto});
  t->routed_addrs_ = {addr_bytes(kRouted.addr)};
  for (const auto& b : {test::kB0, test::kB1, test::kB2, kNoRoute, kRouted}) {
    for (uint16_t port : {b.port, kRangeBackendPort}) {
      t->backends_.insert({addr_bytes(b.addr), port});
      t->backend_id_[{addr_bytes(b.addr), port}] = b.id;
    }
    t->backend_ids_.push_back(b.id);
  }
  for (const auto& b : kBackends6) {
    t->backends_.insert({addr_bytes(b.addr), 80});
    t->backend_id_[{addr_bytes(b.addr), 80}] = b.id;
    t->backend_ids_.push_back(b.id);
  }
  t->bridge_addrs_ = {addr_bytes("10.1.0.1"), addr_bytes("fd00:2::1")};
  t->uplink_addrs_ = {addr_bytes("192.168.1.1"), addr_bytes("fd00:1::1")};
  for (const auto& [addr, port] : t->backends_) t->backend_addrs_.insert(addr);
  t->bridge_nets_ = {IpPrefix::of(*IpAddress::parse("10.1.0.0"), 24), IpPrefix::of(*IpAddress::parse("fd00:2::"), 64)};
  for (uint32_t r = 0; r < XDPLB_R_MAX; ++r) t->drop_reason_.push_back(is_drop_reason(reason_info(r).name));
  return t;
}

std::string DatapathTarget::reasons_table() {
  auto totals = dp_->reason_counters();
  if (!totals) return totals.error();
  std::string s;
  for (uint32_t r = 0; r < totals->size(); ++r) {
    const std::string name(reason_info(r).name);
    char line[96];
    std::snprintf(line, sizeof line, "  %-26s %12llu%s\n", name.c_str(), static_cast<unsigned long long>((*totals)[r]),
                  unreachable(name) ? "  (unreachable here)" : "");
    s += line;
  }
  return s;
}

std::string DatapathTarget::reasons_missing() {
  auto totals = dp_->reason_counters();
  if (!totals) return totals.error();
  std::string s;
  for (uint32_t r = 0; r < totals->size(); ++r) {
    if (!(*totals)[r] && !unreachable(reason_info(r).name))
      s += std::string(s.empty() ? "" : " ") + std::string(reason_info(r).name);
  }
  return s;
}

Status DatapathTarget::reset_state() {
  // Undo the last input's control frames: backend entries, then the rings they changed.
  for (uint32_t id : touched_backends_) XDPLB_TRY(put_fuzz_backend(*dp_, id, true));
  for (uint32_t id : touched_rings_) XDPLB_TRY(write_pools(*dp_, id, false));
  touched_backends_.clear();
  touched_rings_.clear();
  auto* skel = dp_->skeleton();
  for (const struct bpf_map* m :
       {skel->maps.flows, skel->maps.reverse, skel->maps.reverse_new, skel->maps.hairpin_flows,
        skel->maps.hairpin_reverse, skel->maps.frags})
    XDPLB_TRY(clear_map(m));
  for (uint32_t id : backend_ids_) XDPLB_TRY(dp_->reset_connections(id));
  const uint64_t zero = 0;
  for (uint32_t pool = 0; pool < XDPLB_MAX_POOLS; ++pool)
    if (bpf_map__update_elem(skel->maps.pool_turns, &pool, sizeof pool, &zero, sizeof zero, BPF_ANY))
      return make_error("resetting pool_turns failed");
  return {};
}

// The reason counters summed over CPUs, in one batch syscall (Datapath::reason_counters reads
// them one by one: fine for `xdplb status`, a third of the harness's time per frame).
Result<std::vector<uint64_t>> DatapathTarget::reasons() {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint32_t> keys(XDPLB_R_MAX);
  std::vector<uint64_t> values(static_cast<size_t>(XDPLB_R_MAX) * (cpus > 0 ? cpus : 1));
  uint32_t count = XDPLB_R_MAX, out_batch = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err = bpf_map_lookup_batch(bpf_map__fd(dp_->skeleton()->maps.reasons), nullptr, &out_batch, keys.data(),
                                 values.data(), &count, &opts);
  if ((err && err != -ENOENT) || count != XDPLB_R_MAX) return dp_->reason_counters();
  std::vector<uint64_t> sums(XDPLB_R_MAX, 0);
  for (uint32_t i = 0; i < count; ++i)
    if (keys[i] < XDPLB_R_MAX)
      for (int c = 0; c < cpus; ++c) sums[keys[i]] += values[static_cast<size_t>(i) * cpus + c];
  return sums;
}

Result<DatapathTarget::FrameOutcome> DatapathTarget::run_frame(Hook hook, const Bytes& in) {
  auto before = reasons();
  if (!before) return make_error(before.error());
  auto r = hook == Hook::Xdp ? test::run_xdp(dp_->xdp_prog_fd(), in)
                             : test::run_tc(dp_->tc_prog_fd(), in, bridge_ifindex_);
  if (!r) return make_error(r.error());
  auto after = reasons();
  if (!after) return make_error(after.error());
  FrameOutcome o;
  o.verdict = r->verdict;
  o.out = std::move(r->out);
  o.reasons.resize(after->size());
  for (size_t i = 0; i < after->size(); ++i) o.reasons[i] = (*after)[i] - (*before)[i];
  return o;
}

bool DatapathTarget::translated_by_design(const FrameView& v) {
  return v.ip && (v.fragment || v.proto == 1 /* ICMP */ || v.proto == 58 /* ICMPv6 */);
}

std::string DatapathTarget::check_frag_needed(const FrameView& in, const Bytes& in_bytes, const Bytes& out) {
  const FrameView o = view(out);
  const std::string what = "the error for a too-big hairpin request: ";
  // a whole request to a service, or the first fragment of one (its ports unread here)
  const bool request = in.well_formed ? services_.count({in.dst, in.dport, in.proto}) > 0 : in.fragment;
  if (!in.ip || !request || in.ip_len <= 1280) return what + "sent for a frame that is no big request to a service";
  if (!o.ip || o.proto != (in.family == 6 ? 58 : 1) || o.src != in.dst || o.dst != in.src)
    return what + "not ICMP from the VIP to the sender";
  if (!o.ip_csum_ok) return what + "IPv4 header checksum wrong";
  const size_t quote = in.ihl + 8, at = o.l3 + o.ihl + 8;
  if (out.size() != at + quote || !std::equal(out.begin() + at, out.end(), in_bytes.begin() + in.l3))
    return what + "does not quote the request's IP header and 8 bytes";
  return "";
}

// A reply too big for the uplink goes to the stack untranslated, IPv4 with DF set (and its
// checksum updated), so that the stack tells the backend (lib/forward.h tc_pass_frag_needed).
std::string DatapathTarget::check_pass_frag_needed(const FrameView& in, const Bytes& in_bytes, const FrameOutcome& o) {
  const std::string what = "a reply too big for the uplink: ";
  if (o.verdict != TC_ACT_OK) return what + "not passed to the stack";
  if (o.out.size() != in_bytes.size()) return what + "length changed";
  Bytes want = in_bytes;
  if (in.family == 4) want[in.l3 + 6] |= 0x40, want[in.l3 + 10] = o.out[in.l3 + 10], want[in.l3 + 11] = o.out[in.l3 + 11];
  if (o.out != want) return what + "changed beyond its DF bit";
  if (in.ip_csum_ok && !view(o.out).ip_csum_ok) return what + "IPv4 header checksum wrong after setting DF";
  return "";
}

bool DatapathTarget::ours(Hook hook, const FrameView& v) {
  if (!v.well_formed) return false;
  if (services_.count({v.dst, v.dport, v.proto})) return true;  // XDP: client; TC: hairpin
  auto key = key_of(v);
  auto* skel = dp_->skeleton();
  struct xdplb_reverse rev;
  struct xdplb_hairpin_reverse hrev;
  if (hook == Hook::Xdp) return routed_reply_of_flow(v);
  // A TCP flow's reverse entry waits in reverse_new until the client's packet after its SYN.
  return !bpf_map__lookup_elem(skel->maps.reverse, &key, sizeof key, &rev, sizeof rev, 0) ||
         !bpf_map__lookup_elem(skel->maps.reverse_new, &key, sizeof key, &rev, sizeof rev, 0) ||
         !bpf_map__lookup_elem(skel->maps.hairpin_reverse, &key, sizeof key, &hrev, sizeof hrev, 0);
}

// A routed backend's reply (on an uplink) of a flow the tables hold.
bool DatapathTarget::routed_reply_of_flow(const FrameView& v) {
  if (!v.well_formed || !routed_addrs_.count(v.src)) return false;
  auto key = key_of(v);
  struct xdplb_reverse rev;
  auto* skel = dp_->skeleton();
  return !bpf_map__lookup_elem(skel->maps.reverse, &key, sizeof key, &rev, sizeof rev, 0) ||
         !bpf_map__lookup_elem(skel->maps.reverse_new, &key, sizeof key, &rev, sizeof rev, 0);
}

// The routed paths: a request DNATed to a routed backend leaves by the FIB to the uplink's
// router (its MACs, redirected to the uplink); a routed backend's reply of a live flow is
// translated (from the VIP, to the client's MAC) or dropped, never passed on as it came.
std::string DatapathTarget::check_routed(const Bytes& in, bool reply_of_flow, bool controlled,
                                         const FrameOutcome& o) {
  const FrameView ov = view(o.out);
  auto counted = [&](uint32_t r) { return o.reasons.size() > r && o.reasons[r] > 0; };
  if (counted(XDPLB_R_FWD_ROUTED)) {
    if (o.verdict != XDP_REDIRECT && o.verdict != XDP_TX) return "a routed request did not leave by the FIB";
    if (!std::equal(kRouterMac.begin(), kRouterMac.end(), o.out.begin()) ||
        !std::equal(kUplinkMac.begin(), kUplinkMac.end(), o.out.begin() + 6))
      return "a routed request left without the next hop's MACs";
    // ov.ip, not well_formed: a first fragment goes the same way, and a view reads no ports of
    // a fragment (the fuzzer found that on CI).
    if (!ov.ip || !routed_addrs_.count(ov.dst)) return "a routed request left towards no routed backend";
  }
  if (counted(XDPLB_R_ROUTED_REPLY) && (!ov.well_formed || !services_.count({ov.src, ov.sport, ov.proto})))
    return "a translated routed reply does not come from a VIP";
  if (counted(XDPLB_R_DROP_ROUTED_REPLY) && o.verdict != XDP_DROP) return "drop_routed_reply counted, not dropped";
  if (reply_of_flow && !controlled && o.verdict != XDP_DROP && o.out == in)
    return "a routed backend's reply of a live flow went on untranslated";
  return "";
}

std::string DatapathTarget::check_rewrite(Hook hook, const FrameView& in, const Bytes& out) {
  const FrameView o = view(out);
  if (!o.well_formed) return "the rewritten frame is not well-formed any more";
  if (in.ip_csum_ok && in.l4_csum_ok && !(o.ip_csum_ok && o.l4_csum_ok))
    return std::string("checksums verified before the rewrite and not after (IP ") +
           (o.ip_csum_ok ? "ok" : "bad") + ", L4 " + (o.l4_csum_ok ? "ok" : "bad") + ")";
  const bool to_backend = backends_.count({o.dst, o.dport}) > 0;
  if (hook == Hook::Xdp) {
    const auto src = IpAddress::from_bytes(in.family == 6 ? AF_INET6 : AF_INET, in.src.data());
    for (const auto& p : guard_)
      if (p.contains(src)) return "XDP served a source of the uplink guard (" + p.to_string() + ")";
    const bool routed_reply = routed_addrs_.count(in.src) && services_.count({o.src, o.sport, o.proto});
    return to_backend || routed_reply ? "" : "XDP rewrote a frame towards something that is not a backend "
                                             "nor a routed backend's reply from the VIP";
  }
  const bool from_vip = services_.count({o.src, o.sport, o.proto}) > 0;
  // A hairpin request to a routed backend leaves by the uplink, from the uplink's address.
  const bool hairpin_request = to_backend && (bridge_addrs_.count(o.src) > 0 ||
                                              (routed_addrs_.count(o.dst) > 0 && uplink_addrs_.count(o.src) > 0));
  return from_vip || hairpin_request ? ""
                                     : "TC rewrote a frame to neither a reply from a VIP nor a "
                                       "hairpin request from the bridge to a backend";
}

bool DatapathTarget::counted_drop(const FrameOutcome& o) const {
  for (size_t r = 0; r < o.reasons.size() && r < drop_reason_.size(); ++r)
    if (o.reasons[r] && drop_reason_[r]) return true;
  return false;
}

Status DatapathTarget::control(const FrameIn& f, const Bytes& prev_out, Report& rep) {
  std::optional<uint32_t> prev_backend;
  if (!prev_out.empty()) {
    const FrameView pv = view(prev_out);
    if (auto it = backend_id_.find({pv.dst, pv.dport}); pv.well_formed && it != backend_id_.end())
      prev_backend = it->second;
  }
  uint32_t id = 0;
  auto rings = apply_control(*dp_, f.bytes, prev_backend, &id);
  if (!rings) return make_error("control frame: " + rings.error());
  touched_backends_.insert(id);
  if (*rings) touched_rings_.insert(id);
  rep.features.push_back(7000 + (f.bytes[0] % 16) * 8 + f.bytes[1] % std::size(kControlIds));
  return {};
}

void DatapathTarget::add_features(Hook hook, const FrameOutcome& o, bool rewritten, uint32_t& prev,
                                  Report& rep) {
  const int h = static_cast<int>(hook);
  uint32_t combo = mix(mix(2166136261u, h), o.verdict + 16);
  for (uint32_t r = 0; r < o.reasons.size(); ++r)
    if (o.reasons[r]) {
      rep.features.push_back(h * 128 + (r & 127));
      combo = mix(combo, r);
    }
  combo = mix(combo, rewritten);
  rep.features.push_back(256 + h * 16 + (o.verdict & 15));
  rep.features.push_back(512 + combo % 2048);
  rep.features.push_back(2560 + mix(prev, combo) % 4096);
  prev = combo;
}

std::string DatapathTarget::check_frame(const FrameIn& f, const FrameView& v, bool known,
                                        const FrameOutcome& o) {
  const int drop = f.hook == Hook::Xdp ? XDP_DROP : TC_ACT_SHOT;
  const bool verdict_ok = f.hook == Hook::Xdp
                              ? (o.verdict == XDP_PASS || o.verdict == XDP_DROP || o.verdict == XDP_REDIRECT ||
                                 o.verdict == XDP_TX)
                              : (o.verdict == TC_ACT_OK || o.verdict == TC_ACT_SHOT || o.verdict == TC_ACT_REDIRECT);
  if (!verdict_ok) return "verdict " + std::to_string(o.verdict) + " outside the expected set";
  if (std::none_of(o.reasons.begin(), o.reasons.end(), [](uint64_t n) { return n; }))
    return "verdict " + std::to_string(o.verdict) + " counted under no reason";
  if (o.verdict == drop && !counted_drop(o)) return "dropped without a drop reason counted";
  if (f.hook == Hook::Tc && o.reasons.size() > XDPLB_R_TC_HAIRPIN_FRAG_NEEDED &&
      o.reasons[XDPLB_R_TC_HAIRPIN_FRAG_NEEDED] && o.verdict == TC_ACT_REDIRECT)
    return check_frag_needed(v, f.bytes, o.out);
  if (f.hook == Hook::Tc && o.reasons.size() > XDPLB_R_TC_PASS_FRAG_NEEDED && o.reasons[XDPLB_R_TC_PASS_FRAG_NEEDED])
    return check_pass_frag_needed(v, f.bytes, o);
  if (o.out.size() != f.bytes.size())
    return "length changed from " + std::to_string(f.bytes.size()) + " to " + std::to_string(o.out.size());
  if (o.out == f.bytes) return "";
  const std::string out = "\n  out: " + hex(o.out);
  // ICMP errors about a flow and fragments of a service datagram are translated by design
  // (lib/icmp_flow.h, lib/frag.h). This harness does not model which of them belong to a flow
  // yet: for them it checks the verdict, the reasons, the length and the IPv4 header checksum.
  if (translated_by_design(v)) {
    const FrameView ov = view(o.out);
    if (v.ip_csum_ok && !ov.ip_csum_ok) return "the IPv4 header checksum verified before and not after" + out;
    return "";
  }
  if (!known) return "rewrote a frame that is neither a well-formed frame for a service nor of a known flow" + out;
  if (long at = first_forbidden_change(v, f.bytes, o.out); at >= 0)
    return "changed byte " + std::to_string(at) + ", outside MACs/addresses/ports/checksums" + out;
  if (auto what = check_rewrite(f.hook, v, o.out); !what.empty()) return what + out;
  return "";
}

bool DatapathTarget::inside(const std::array<uint8_t, 16>& addr, int family) const {
  const auto a = IpAddress::from_bytes(family == 6 ? AF_INET6 : AF_INET, addr.data());
  return std::any_of(bridge_nets_.begin(), bridge_nets_.end(), [&](const IpPrefix& p) { return p.contains(a); });
}

bool DatapathTarget::names_backend(const FrameView& v, const std::optional<IcmpView>& iv) const {
  // A routed backend is reached through the uplink: a (hairpin) request may leave towards it.
  if (backend_addrs_.count(v.src) || (backend_addrs_.count(v.dst) && !routed_addrs_.count(v.dst))) return true;
  return iv && (backend_addrs_.count(iv->inner_src) || backend_addrs_.count(iv->inner_dst));
}

// The errors the datapath translates: the receiver of a packet xdplb rewrote answers it with
// an error, from the bridge (a backend about a request, a container about a hairpin reply)
// or from the uplink (about a reply, or a routed backend about a request), about a whole
// TCP/UDP packet without IP options, while no control frame changed the backends.
bool DatapathTarget::must_translate_icmp(Hook hook, const Ran& about, bool controlled) const {
  const FrameView in = view(about.in), out = view(about.out);
  // (translated: a reply too big for the uplink only gets DF, lib/forward.h)
  if (controlled || about.dropped || (in.src == out.src && in.dst == out.dst) || !in.well_formed ||
      !out.well_formed || in.ip_options)
    return false;
  if (hook == Hook::Tc) return inside(out.dst, out.family);
  const auto sender = IpAddress::from_bytes(out.family == 6 ? AF_INET6 : AF_INET, out.dst.data());
  if (about.hook == Hook::Xdp) return routed_addrs_.count(out.dst) > 0;
  // A hairpin request to a routed backend left by the uplink from the uplink's address: its
  // backend's errors come back to that address and are not translated (not modelled).
  if (routed_addrs_.count(out.dst)) return false;
  return about.hook == Hook::Tc && !inside(out.dst, out.family) &&
         std::none_of(guard_.begin(), guard_.end(), [&](const IpPrefix& p) { return p.contains(sender); });
}

std::string DatapathTarget::check_icmp(Hook hook, const Ran& about, bool controlled, const Bytes& in,
                                       const FrameOutcome& o) {
  const std::string out = "\n  about: " + hex(about.in) + "\n  out:   " + hex(o.out);
  if (o.verdict == (hook == Hook::Xdp ? XDP_DROP : TC_ACT_SHOT)) return "";
  if (o.out == in)
    return must_translate_icmp(hook, about, controlled) ? "an ICMP error about a known flow went on untranslated" + out
                                                        : "";
  const FrameView ov = view(o.out), v = view(in);
  const auto iv = icmp_view(ov, o.out), before = icmp_view(v, in);
  if (!iv || !before) return "the translated ICMP error is no ICMP error any more" + out;
  // Checksums are updated, not recomputed: one that was wrong (a fuzzed packet quoted) stays so.
  if ((v.ip_csum_ok && !ov.ip_csum_ok) || (before->icmp_csum_ok && !iv->icmp_csum_ok) ||
      (before->inner_ip_csum_ok && !iv->inner_ip_csum_ok))
    return std::string("checksum wrong in the translated ICMP error (outer IP ") + (ov.ip_csum_ok ? "ok" : "bad") +
           ", ICMP " + (iv->icmp_csum_ok ? "ok" : "bad") + ", quoted IP " + (iv->inner_ip_csum_ok ? "ok" : "bad") + ")" +
           out;
  if (hook == Hook::Tc && !inside(ov.dst, ov.family) && names_backend(ov, iv))
    return "a translated ICMP error leaving for the uplink names a backend" + out;
  if (!must_translate_icmp(hook, about, controlled)) return "";
  // Translated back: the error as the other side of the packet before (as it was sent) sees it.
  const FrameView a = view(about.in);
  if (ov.src != a.dst || ov.dst != a.src) return "the translated error's addresses are not the flow's" + out;
  if (iv->inner_src != a.src || iv->inner_dst != a.dst || iv->inner_sport != a.sport || iv->inner_dport != a.dport)
    return "the translated error quotes other addresses or ports than the flow's packet" + out;
  return "";
}

std::string DatapathTarget::check_later_fragment(Hook hook, const Ran& first, bool controlled, const Bytes& in,
                                                 const FrameOutcome& o) {
  const std::string out = "\n  first out: " + hex(first.out) + "\n  out:       " + hex(o.out);
  const FrameView fo = view(first.out), v = view(in);
  if (o.verdict == (hook == Hook::Xdp ? XDP_DROP : TC_ACT_SHOT)) return "";
  // The first was translated as a fragment (not answered with an ICMP error, not dropped).
  // After a control frame (its backend gone) the rest may go on untranslated.
  const bool translated = !first.dropped && first.hook == hook && first.in != first.out && fo.fragment &&
                          fo.proto == v.proto;
  if (o.out == in)
    return translated && !controlled ? "the later fragment of a translated datagram went on untranslated" + out : "";
  if (!translated) return "a later fragment was rewritten, its first was not" + out;
  const FrameView ov = view(o.out);
  if (!ov.ip_csum_ok) return "the IPv4 header checksum of a translated later fragment is wrong" + out;
  if (ov.src != fo.src || ov.dst != fo.dst) return "the later fragment got other addresses than its first" + out;
  if (long at = first_forbidden_change(v, in, o.out); at >= 0)
    return "changed byte " + std::to_string(at) + " of a later fragment, outside MACs/addresses/checksum" + out;
  if (hook == Hook::Tc && !inside(ov.dst, ov.family) && names_backend(ov, std::nullopt))
    return "a translated later fragment leaving for the uplink names a backend" + out;
  return "";
}

Result<std::string> DatapathTarget::check_again(const FrameIn& f, const FrameOutcome& first) {
  auto again = run_frame(f.hook, f.bytes);
  if (!again) return make_error(again.error());
  if (counted_drop(*again) || again->verdict == (f.hook == Hook::Xdp ? XDP_DROP : TC_ACT_SHOT))
    return "the second packet of a known flow was dropped (verdict " + std::to_string(again->verdict) + ")";
  if (f.hook == Hook::Xdp && again->out != first.out)
    return "the second packet of a known flow was rewritten differently\n  first:  " + hex(first.out) +
           "\n  second: " + hex(again->out);
  return std::string();
}

Report DatapathTarget::run(const uint8_t* data, size_t size) {
  Report rep;
  auto harness = [&](const std::string& what) {
    rep.violation = "harness: " + what;
    return rep;
  };
  if (auto s = reset_state(); !s) return harness(s.error());
  uint32_t prev = 0;
  Bytes prev_out;
  bool controlled = false;        // a control frame ran in this input
  std::optional<Ran> last;        // the frame before
  std::optional<Ran> first_frag;  // a first fragment sent, and the rest of its datagram
  Bytes later_frag;
  for (FrameIn& f : split_input(data, size)) {
    if (f.control) {
      if (auto s = control(f, prev_out, rep); !s) return harness(s.error());
      controlled = true;
      continue;
    }
    enum class Derived { None, Icmp, FirstFragment, LaterFragment } derived = Derived::None;
    // An ICMP error is derived from the frame before; a fragment from this frame (after it
    // became an answer: a reply cut in two) or from the first fragment sent.
    if (f.icmp && last) {
      if (auto e = icmp_error_about(last->out, f.bytes)) f.bytes = std::move(*e), derived = Derived::Icmp;
    } else if (f.fragment && first_frag) {
      f.bytes = later_frag, derived = Derived::LaterFragment;
    } else {
      if (f.answer && !prev_out.empty()) f.bytes = answer(prev_out, std::move(f.bytes));
      if (auto fr = f.fragment ? fragments_of(f.bytes, f.bytes) : std::nullopt) {
        f.bytes = std::move(fr->first), later_frag = std::move(fr->later);
        derived = Derived::FirstFragment;
      }
    }
    auto broken = [&](const std::string& what) {
      rep.violation = std::string(f.hook == Hook::Xdp ? "XDP" : "TC") + ": " + what + "\n  in:  " + hex(f.bytes);
      return rep;
    };
    const FrameView v = view(f.bytes);
    const bool known = ours(f.hook, v);
    const bool routed_reply = f.hook == Hook::Xdp && routed_reply_of_flow(v);
    auto o = run_frame(f.hook, f.bytes);
    // The kernel refuses skbs shorter than the IP header their ethertype announces (EINVAL):
    // such a frame never reaches TC on a real device either.
    if (!o && f.hook == Hook::Tc && f.bytes.size() < kMinFrame + 40) continue;
    if (!o) return harness(o.error());
    add_features(f.hook, *o, o->out != f.bytes, prev, rep);
    if (auto what = check_frame(f, v, known, *o); !what.empty()) return broken(what);
    if (f.hook == Hook::Xdp)
      if (auto what = check_routed(f.bytes, routed_reply, controlled, *o); !what.empty()) return broken(what);
    if (derived == Derived::Icmp)
      if (auto what = check_icmp(f.hook, *last, controlled, f.bytes, *o); !what.empty()) return broken(what);
    if (derived == Derived::LaterFragment)
      if (auto what = check_later_fragment(f.hook, *first_frag, controlled, f.bytes, *o); !what.empty())
        return broken(what);
    prev_out = o->out;
    const bool dropped = o->verdict == (f.hook == Hook::Xdp ? XDP_DROP : TC_ACT_SHOT) || counted_drop(*o);
    last = Ran{f.hook, f.bytes, o->out, dropped};
    if (derived == Derived::FirstFragment) first_frag = last;
    if (derived == Derived::LaterFragment) first_frag.reset();
    if (!known || dropped || !v.ip_csum_ok || !v.l4_csum_ok) continue;
    // The same frame again is a packet of a flow that now exists.
    auto what = check_again(f, *o);
    if (!what) return harness(what.error());
    if (!what->empty()) return broken(*what);
  }
  return rep;
}

}  // namespace xdplb::fuzz
