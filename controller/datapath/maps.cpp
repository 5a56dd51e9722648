// Programming the maps. Values are built from the ABI structs of <xdplb/abi.h> directly; maps
// are reached through the skeleton (skel_->maps.<name>), never by name.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "datapath/datapath.h"
#include "datapath/map_walk.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

template <typename K, typename V>
Status update(const struct bpf_map* map, const K& key, const V& value, const char* what) {
  if (int err = bpf_map__update_elem(map, &key, sizeof key, &value, sizeof value, BPF_ANY); err)
    return make_error(std::string("writing ") + what + " failed: " + errno_text(err));
  return {};
}

uint8_t abi_family(const IpAddress& a) { return a.is_v6() ? XDPLB_AF_INET6 : XDPLB_AF_INET; }

Result<struct xdplb_service_key> service_key(const ServiceKey& k) {
  if (!k.vip.is_v4() && !k.vip.is_v6()) return make_error("service without an address");
  if (k.proto != IPPROTO_TCP && k.proto != IPPROTO_UDP) return make_error("service protocol must be TCP or UDP");
  struct xdplb_service_key key;
  std::memset(&key, 0, sizeof key);
  key.vip = k.vip.to_abi();
  key.port = htons(k.port);
  key.proto = k.proto;
  key.family = abi_family(k.vip);
  return key;
}

// Deletes the entry of an endpoint key (a service's VIP, a routed backend's address); one
// that is not there is no error.
Status erase_endpoint(const struct bpf_map* map, const ServiceKey& k, const char* what) {
  auto key = service_key(k);
  if (!key) return make_error(key.error());
  int err = bpf_map__delete_elem(map, &*key, sizeof *key, 0);
  if (err && err != -ENOENT) return make_error(std::string("deleting ") + what + " failed: " + errno_text(err));
  return {};
}

// The entry of backend id as the datapath has it (all zero for an id never used).
Result<struct xdplb_backend> read_backend(const struct bpf_map* map, uint32_t id) {
  struct xdplb_backend be;
  if (int err = bpf_map__lookup_elem(map, &id, sizeof id, &be, sizeof be, 0); err)
    return make_error("reading backend " + std::to_string(id) + " failed: " + errno_text(err));
  return be;
}

int possible_cpus() {
  int n = libbpf_num_possible_cpus();
  return n > 0 ? n : 1;
}

}  // namespace

Status Datapath::put_service(const ServiceKey& k, const ServiceValue& v) {
  if (v.pool >= XDPLB_MAX_POOLS)
    return make_error("pool " + std::to_string(v.pool) + " out of range (max " + std::to_string(XDPLB_MAX_POOLS - 1) + ")");
  if (v.scheduler >= XDPLB_SCHED_MAX) return make_error("scheduler " + std::to_string(v.scheduler) + " out of range");
  auto key = service_key(k);
  if (!key) return make_error(key.error());
  struct xdplb_service svc;
  std::memset(&svc, 0, sizeof svc);
  svc.pool = v.pool;
  svc.scheduler = v.scheduler;
  svc.flags = v.flags;
  svc.backend_port = htons(v.backend_port);
  return update(skel_->maps.services, *key, svc, "a service");
}

Status Datapath::set_scheduler(uint32_t pool, uint32_t scheduler) {
  if (scheduler >= XDPLB_SCHED_MAX) return make_error("scheduler " + std::to_string(scheduler) + " out of range");
  const struct bpf_map* map = skel_->maps.services;
  struct xdplb_service_key key, next;
  struct xdplb_service svc;
  int err = bpf_map__get_next_key(map, nullptr, &next, sizeof next);
  for (uint32_t n = 0; err == 0 && n <= XDPLB_MAX_SERVICES; ++n) {
    key = next;
    if (bpf_map__lookup_elem(map, &key, sizeof key, &svc, sizeof svc, 0) == 0 && svc.pool == pool &&
        svc.scheduler != scheduler) {
      svc.scheduler = scheduler;
      XDPLB_TRY(update(map, key, svc, "a service's scheduler"));
    }
    err = bpf_map__get_next_key(map, &key, &next, sizeof next);
  }
  if (err && err != -ENOENT) return make_error("walking the services failed: " + errno_text(err));
  return {};
}

Status Datapath::delete_service(const ServiceKey& k) { return erase_endpoint(skel_->maps.services, k, "a service"); }

Result<std::map<ServiceKey, ServiceValue>> Datapath::services() {
  const struct bpf_map* map = skel_->maps.services;
  std::map<ServiceKey, ServiceValue> out;
  struct xdplb_service_key key, next;
  struct xdplb_service svc;
  int err = bpf_map__get_next_key(map, nullptr, &next, sizeof next);
  for (uint32_t n = 0; err == 0 && n <= XDPLB_MAX_SERVICES; ++n) {
    key = next;
    if (bpf_map__lookup_elem(map, &key, sizeof key, &svc, sizeof svc, 0) == 0) {
      ServiceKey k{IpAddress::from_abi(key.vip, key.family == XDPLB_AF_INET6 ? AF_INET6 : AF_INET),
                   ntohs(key.port), key.proto};
      out[k] = ServiceValue{svc.pool, svc.scheduler, svc.flags, ntohs(svc.backend_port)};
    }
    err = bpf_map__get_next_key(map, &key, &next, sizeof next);
  }
  if (err && err != -ENOENT) return make_error("walking the services failed: " + errno_text(err));
  return out;
}

Status Datapath::put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) {
  auto key = service_key(endpoint);
  if (!key) return make_error(key.error());
  if (nat.vip.is_v6() != endpoint.vip.is_v6() || (!nat.vip.is_v4() && !nat.vip.is_v6()))
    return make_error("a routed reply's VIP must be of its backend's family");
  struct xdplb_reply_nat value;
  std::memset(&value, 0, sizeof value);
  value.vip = nat.vip.to_abi();
  value.vport = htons(nat.vport);
  value.flags = nat.ambiguous ? XDPLB_REPLY_NAT_AMBIGUOUS : 0;
  return update(skel_->maps.reply_nats, *key, value, "a routed backend's reply NAT");
}

Status Datapath::delete_reply_nat(const ServiceKey& endpoint) {
  return erase_endpoint(skel_->maps.reply_nats, endpoint, "a routed backend's reply NAT");
}

Result<std::map<ServiceKey, ReplyNat>> Datapath::reply_nats() {
  std::map<ServiceKey, ReplyNat> out;
  XDPLB_TRY((walk_map<struct xdplb_service_key, struct xdplb_reply_nat>(
      skel_->maps.reply_nats, "routed reply NATs", [&](const auto& key, const auto& value) {
        const int family = key.family == XDPLB_AF_INET6 ? AF_INET6 : AF_INET;
        out[ServiceKey{IpAddress::from_abi(key.vip, family), ntohs(key.port), key.proto}] =
            ReplyNat{IpAddress::from_abi(value.vip, family), ntohs(value.vport),
                     (value.flags & XDPLB_REPLY_NAT_AMBIGUOUS) != 0};
      })));
  return out;
}

Status Datapath::put_backend(uint32_t id, const BackendEntry& b) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  if (!b.addr.is_v4() && !b.addr.is_v6()) return make_error("backend without an address");
  if (b.fast_path && b.ifindex <= 0) return make_error("fast path needs the backend's host-side ifindex");
  auto old = read_backend(skel_->maps.backends, id);  // an update keeps the generation
  if (!old) return make_error(old.error());
  struct xdplb_backend be;
  std::memset(&be, 0, sizeof be);
  be.addr = b.addr.to_abi();
  be.port = htons(b.port);
  be.family = abi_family(b.addr);
  be.flags = (b.active ? XDPLB_BACKEND_ACTIVE : 0u) | (b.fast_path ? XDPLB_BACKEND_FAST_PATH : 0u) |
             (b.routed ? XDPLB_BACKEND_ROUTED : 0u);
  be.ifindex = static_cast<uint32_t>(b.ifindex);
  be.gen = old->gen;
  std::memcpy(be.dmac, b.dmac.data(), sizeof be.dmac);
  std::memcpy(be.smac, b.smac.data(), sizeof be.smac);
  if (b.fast_path) {
    // The devmap slot first, so the program never sees FAST_PATH without a port to send to.
    // The kernel resolves the ifindex in the caller's network namespace.
    uint32_t ifindex = be.ifindex;
    if (auto s = update(skel_->maps.tx_ports, id, ifindex, "the devmap slot"); !s)
      return make_error(s.error() + " (is ifindex " + std::to_string(ifindex) + " in this network namespace?)");
    return update(skel_->maps.backends, id, be, "a backend");
  }
  XDPLB_TRY(update(skel_->maps.backends, id, be, "a backend"));
  int err = bpf_map__delete_elem(skel_->maps.tx_ports, &id, sizeof id, 0);
  if (err && err != -ENOENT) return make_error("clearing the devmap slot failed: " + errno_text(err));
  return {};
}

Status Datapath::take_backend_id(uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  auto be = read_backend(skel_->maps.backends, id);
  if (!be) return make_error(be.error());
  be->flags = 0;  // not active until put_backend programs the new backend
  be->gen += 1;
  XDPLB_TRY(update(skel_->maps.backends, id, *be, "a backend's generation"));
  return reset_connections(id);
}

uint32_t Datapath::flow_table_size() const { return bpf_map__max_entries(skel_->maps.flows); }
uint32_t Datapath::syn_table_size() const { return bpf_map__max_entries(skel_->maps.reverse_new); }

Result<BackendEntry> Datapath::backend_entry(uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  struct xdplb_backend be;
  if (int err = bpf_map__lookup_elem(skel_->maps.backends, &id, sizeof id, &be, sizeof be, 0); err)
    return make_error("reading backend " + std::to_string(id) + " failed: " + errno_text(err));
  BackendEntry out;
  if (be.family == XDPLB_AF_INET || be.family == XDPLB_AF_INET6)
    out.addr = IpAddress::from_abi(be.addr, be.family == XDPLB_AF_INET6 ? AF_INET6 : AF_INET);
  out.port = ntohs(be.port);
  out.active = be.flags & XDPLB_BACKEND_ACTIVE;
  out.fast_path = be.flags & XDPLB_BACKEND_FAST_PATH;
  out.routed = be.flags & XDPLB_BACKEND_ROUTED;
  out.ifindex = static_cast<int>(be.ifindex);
  std::memcpy(out.dmac.data(), be.dmac, sizeof be.dmac);
  std::memcpy(out.smac.data(), be.smac, sizeof be.smac);
  return out;
}

Status Datapath::delete_backend(uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  // Keep the address: the program still needs it to forget the reverse entries of flows it
  // moves away from this backend. Only the flags go.
  auto be = read_backend(skel_->maps.backends, id);
  if (!be) return make_error(be.error());
  be->flags = 0;
  XDPLB_TRY(update(skel_->maps.backends, id, *be, "a backend"));
  int err = bpf_map__delete_elem(skel_->maps.tx_ports, &id, sizeof id, 0);
  if (err && err != -ENOENT) return make_error("clearing the devmap slot failed: " + errno_text(err));
  std::vector<struct xdplb_backend_stats> zero(possible_cpus());
  std::memset(zero.data(), 0, zero.size() * sizeof zero[0]);
  if (int e = bpf_map__update_elem(skel_->maps.backend_stats, &id, sizeof id, zero.data(),
                                   zero.size() * sizeof zero[0], BPF_ANY); e)
    return make_error("zeroing backend counters failed: " + errno_text(e));
  return {};
}

Status Datapath::write_pool_members(uint32_t pool, const std::vector<PoolMember>& members) {
  if (pool >= XDPLB_MAX_POOLS) return make_error("pool " + std::to_string(pool) + " out of range");
  if (members.size() > XDPLB_MAX_POOL_MEMBERS)
    return make_error("pool " + std::to_string(pool) + " has " + std::to_string(members.size()) +
                      " backends taking new flows; round-robin and least-conn take at most " +
                      std::to_string(XDPLB_MAX_POOL_MEMBERS));
  struct xdplb_pool value;
  std::memset(&value, 0, sizeof value);
  for (const auto& m : members) {
    if (m.id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(m.id) + " out of range");
    if (m.weight < 1 || m.weight > XDPLB_MAX_WEIGHT)
      return make_error("weight " + std::to_string(m.weight) + " of backend " + std::to_string(m.id) + " out of range");
    value.members[value.count++] = {m.id, m.weight};
  }
  return update(skel_->maps.pools, pool, value, "a pool's members");
}

Result<std::vector<PoolMember>> Datapath::pool_members(uint32_t pool) {
  if (pool >= XDPLB_MAX_POOLS) return make_error("pool " + std::to_string(pool) + " out of range");
  struct xdplb_pool value;
  if (int err = bpf_map__lookup_elem(skel_->maps.pools, &pool, sizeof pool, &value, sizeof value, 0); err)
    return make_error("reading the members of pool " + std::to_string(pool) + " failed: " + errno_text(err));
  std::vector<PoolMember> out;
  for (uint32_t i = 0; i < value.count && i < XDPLB_MAX_POOL_MEMBERS; ++i)
    out.push_back({value.members[i].backend, value.members[i].weight});
  return out;
}

Result<std::vector<uint64_t>> Datapath::reason_counters() {
  std::vector<uint64_t> sums(XDPLB_R_MAX, 0);
  std::vector<uint64_t> per_cpu(possible_cpus());
  for (uint32_t r = 0; r < XDPLB_R_MAX; ++r) {
    if (int err = bpf_map__lookup_elem(skel_->maps.reasons, &r, sizeof r, per_cpu.data(),
                                       per_cpu.size() * sizeof per_cpu[0], 0); err)
      return make_error("reading reason counters failed: " + errno_text(err));
    for (uint64_t v : per_cpu) sums[r] += v;
  }
  return sums;
}

namespace {

// A backend's per-CPU counters as the map holds them.
Result<std::vector<struct xdplb_backend_stats>> read_backend_stats(const struct bpf_map* map, uint32_t id) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  std::vector<struct xdplb_backend_stats> per_cpu(possible_cpus());
  if (int err = bpf_map__lookup_elem(map, &id, sizeof id, per_cpu.data(), per_cpu.size() * sizeof per_cpu[0], 0); err)
    return make_error("reading backend counters failed: " + errno_text(err));
  return per_cpu;
}

}  // namespace

Result<BackendCounters> Datapath::backend_counters(uint32_t id) {
  auto per_cpu = read_backend_stats(skel_->maps.backend_stats, id);
  if (!per_cpu) return make_error(per_cpu.error());
  BackendCounters c;
  for (const auto& s : *per_cpu) {
    c.packets += s.packets;
    c.bytes += s.bytes;
    c.new_flows += s.new_flows;
    c.refused += s.refused;
  }
  return c;
}

Result<BackendTally> Datapath::backend_tally(uint32_t id) {
  auto per_cpu = read_backend_stats(skel_->maps.backend_stats, id);
  if (!per_cpu) return make_error(per_cpu.error());
  auto be = read_backend(skel_->maps.backends, id);
  if (!be) return make_error(be.error());
  auto conns = active_connections(id);
  if (!conns) return make_error(conns.error());
  BackendTally t;
  for (const auto& c : *per_cpu) t.stats.insert(t.stats.end(), {c.packets, c.bytes, c.new_flows, c.refused});
  t.connections = *conns;
  t.gen = be->gen;
  return t;
}

Status Datapath::restore_backend_tally(uint32_t id, const BackendTally& t) {
  if (id >= XDPLB_MAX_BACKENDS) return make_error("backend id " + std::to_string(id) + " out of range");
  std::vector<struct xdplb_backend_stats> per_cpu(possible_cpus());
  constexpr size_t kFields = 4;  // packets, bytes, new_flows, refused
  if (t.stats.size() != kFields * per_cpu.size()) return make_error("backend counters of another CPU count");
  for (size_t i = 0; i < per_cpu.size(); ++i)
    per_cpu[i] = {t.stats[kFields * i], t.stats[kFields * i + 1], t.stats[kFields * i + 2], t.stats[kFields * i + 3]};
  if (int err = bpf_map__update_elem(skel_->maps.backend_stats, &id, sizeof id, per_cpu.data(),
                                     per_cpu.size() * sizeof per_cpu[0], BPF_ANY); err)
    return make_error("restoring backend counters failed: " + errno_text(err));
  auto be = read_backend(skel_->maps.backends, id);
  if (!be) return make_error(be.error());
  be->gen = t.gen;
  XDPLB_TRY(update(skel_->maps.backends, id, *be, "a backend's generation"));
  auto conns = connection_counters();
  if (!conns) return make_error(conns.error());
  __atomic_store_n(&(*conns)[id], t.connections, __ATOMIC_RELAXED);
  return {};
}

namespace {

// Entries a hash map of flow keys holds now (walked key by key; entries come and go meanwhile).
Result<uint64_t> count_flow_keys(const struct bpf_map* map, const char* what) {
  struct xdplb_flow_key key, next;
  uint64_t n = 0;
  const uint64_t limit = bpf_map__max_entries(map) + 1ull;
  int err = bpf_map__get_next_key(map, nullptr, &next, sizeof next);
  while (err == 0 && n < limit) {
    ++n;
    key = next;
    err = bpf_map__get_next_key(map, &key, &next, sizeof next);
  }
  if (err && err != -ENOENT) return make_error(std::string("walking the ") + what + " failed: " + errno_text(err));
  return n;
}

}  // namespace

Result<uint64_t> Datapath::flow_count() { return count_flow_keys(skel_->maps.flows, "flow table"); }

Result<uint64_t> Datapath::hairpin_flow_count() {
  return count_flow_keys(skel_->maps.hairpin_flows, "hairpin flow table");
}

uint32_t Datapath::hairpin_table_size() const { return bpf_map__max_entries(skel_->maps.hairpin_flows); }

Result<uint32_t> Datapath::settings() {
  const uint32_t zero = 0;
  struct xdplb_settings v;
  if (int err = bpf_map__lookup_elem(skel_->maps.settings, &zero, sizeof zero, &v, sizeof v, 0); err)
    return make_error("reading the datapath settings failed: " + errno_text(err));
  return v.flags;
}

Status Datapath::set_settings(uint32_t flags) {
  struct xdplb_settings v;
  std::memset(&v, 0, sizeof v);
  v.flags = flags;
  return update(skel_->maps.settings, uint32_t{0}, v, "the datapath settings");
}

}  // namespace xdplb
