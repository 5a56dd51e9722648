#include "lb/plan.h"

#include <netinet/in.h>

#include <algorithm>

namespace xdplb {

bool PoolPlan::operator==(const PoolPlan& o) const {
  if (members.size() != o.members.size()) return false;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i].id != o.members[i].id || members[i].key != o.members[i].key ||
        members[i].weight != o.members[i].weight)
      return false;
  return true;
}

bool placeable(const SavedBackend& b) {
  return b.addr.family != 0 && b.path != BackendPath::Down && !b.drained;
}

bool takes_new_flows(const SavedBackend& b) { return placeable(b) && b.health != Health::Down; }

namespace {

// The placeable primaries and backups of a service and family, and how many of each are healthy.
struct Tiers {
  std::vector<const SavedBackend*> primaries, backups;
  size_t healthy_primaries = 0, healthy_backups = 0;
};

Tiers tiers_of(const BridgeState& state, const ServiceConfig& svc, int family) {
  Tiers t;
  for (const auto& b : state.backends) {
    if (b.service != svc.name || b.family != family || !placeable(b)) continue;
    const bool healthy = b.health != Health::Down;
    if (b.backup) {
      t.backups.push_back(&b);
      t.healthy_backups += healthy;
    } else {
      t.primaries.push_back(&b);
      t.healthy_primaries += healthy;
    }
  }
  return t;
}

bool below(size_t healthy, size_t all, uint32_t threshold) { return all > 0 && healthy * 100 < threshold * all; }

}  // namespace

// The tier that serves (primaries while any is placeable, else backups) is in panic when its
// healthy share is below the threshold, unless healthy backups can take over from the primaries.
bool in_panic(const BridgeState& state, const ServiceConfig& svc, int family) {
  const uint32_t threshold = svc.health_check.panic_threshold;
  if (threshold == 0 || svc.health_check.type == CheckType::None) return false;
  const Tiers t = tiers_of(state, svc, family);
  if (!t.primaries.empty())
    return t.healthy_backups == 0 && below(t.healthy_primaries, t.primaries.size(), threshold);
  return below(t.healthy_backups, t.backups.size(), threshold);
}

std::vector<const SavedBackend*> pool_backends(const BridgeState& state, const ServiceConfig& svc, int family) {
  if (in_panic(state, svc, family)) {
    Tiers t = tiers_of(state, svc, family);
    return t.primaries.empty() ? t.backups : t.primaries;
  }
  std::vector<const SavedBackend*> primaries, backups;
  for (const auto& b : state.backends) {
    if (b.service != svc.name || b.family != family || !takes_new_flows(b)) continue;
    (b.backup ? backups : primaries).push_back(&b);
  }
  return primaries.empty() ? backups : primaries;
}

std::string maglev_key(const SavedBackend& b) {
  if (!b.name.empty()) return b.name;
  return Endpoint{b.addr, b.port}.to_string();
}

const std::vector<IpAddress>& service_listen(const ServiceConfig& svc, const std::vector<IpAddress>& defaults) {
  return svc.listen.empty() ? defaults : svc.listen;
}

std::string to_string(const ServiceKey& key) {
  return Endpoint{key.vip, key.port}.to_string() + (key.proto == IPPROTO_TCP ? "/tcp" : "/udp");
}

namespace {

Status check_service(const BridgeState& state, const ServiceConfig& svc) {
  const std::string what = "service '" + svc.name + "'";
  if (svc.slot >= XDPLB_MAX_SERVICE_OBJECTS)
    return make_error(what + " has slot " + std::to_string(svc.slot) + "; the maps hold " +
                      std::to_string(XDPLB_MAX_SERVICE_OBJECTS) + " services");
  if (svc.port_last < svc.port) return make_error(what + ": its port range ends below its start");
  if (auto st = check_backend_ports(svc); !st) return make_error(what + ": " + st.error());
  if (svc.affinity == Affinity::Source && svc.scheduler != Scheduler::Maglev)
    return make_error(what + ": --affinity source places clients by the Maglev ring; it cannot go with "
                      "the " + std::string(name_of(svc.scheduler)) + " scheduler (use --scheduler maglev)");
  for (const auto& other : state.services)
    if (&other != &svc && (other.name == svc.name || other.slot == svc.slot))
      return make_error(what + " is there twice (same name or slot)");
  return {};
}

// The routed backends of svc with an address.
std::vector<const SavedBackend*> routed_backends(const BridgeState& state, const ServiceConfig& svc) {
  std::vector<const SavedBackend*> out;
  for (const auto& b : state.backends)
    if (b.service == svc.name && b.path == BackendPath::Routed && (b.addr.is_v4() || b.addr.is_v6()))
      out.push_back(&b);
  return out;
}

// The reply NAT of each routed backend for service entry `entry` (whose new flows go to
// backend_port, 0: each backend's own): an endpoint that two entries claim is ambiguous.
void add_reply_nats(MapPlan& plan, const std::vector<const SavedBackend*>& routed, const ServiceKey& entry,
                    uint16_t backend_port) {
  for (const SavedBackend* b : routed) {
    if (b->addr.is_v6() != entry.vip.is_v6()) continue;
    const ServiceKey endpoint{b->addr, backend_port ? backend_port : b->port, entry.proto};
    const ReplyNat nat{entry.vip, entry.port, false};
    auto [it, fresh] = plan.reply_nats.emplace(endpoint, nat);
    if (!fresh && !(it->second.vip == nat.vip && it->second.vport == nat.vport)) it->second.ambiguous = true;
    plan.reply_nat_claims[endpoint].push_back(entry);
  }
}

}  // namespace

Result<MapPlan> plan_maps(const BridgeState& state, const std::vector<IpAddress>& default_addresses,
                          const WeightOf& weight_of) {
  MapPlan plan;
  std::map<ServiceKey, const ServiceConfig*> owner;
  for (const auto& svc : state.services) {
    XDPLB_TRY(check_service(state, svc));
    const ServiceValue value{0, static_cast<uint32_t>(svc.scheduler),
                             svc.affinity == Affinity::Source ? XDPLB_SERVICE_AFFINITY_SOURCE : 0u};
    const auto routed = routed_backends(state, svc);
    for (const auto& addr : service_listen(svc, default_addresses)) {
      for (uint32_t port = svc.port; port <= svc.port_last; ++port) {
        for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}}) {
          if ((proto == IPPROTO_TCP && !svc.tcp()) || (proto == IPPROTO_UDP && !svc.udp())) continue;
          const ServiceKey key{addr, static_cast<uint16_t>(port), proto};
          auto [it, fresh] = owner.emplace(key, &svc);
          if (!fresh) {
            if (it->second == &svc) continue;  // the same address listed twice
            return make_error("service '" + svc.name + "' and service '" + it->second->name +
                              "' both claim " + to_string(key) +
                              ": give one another port, protocol or --listen address");
          }
          ServiceValue v = value;
          v.pool = pool_of_service(svc, addr.is_v6() ? 6 : 4);
          v.backend_port = entry_backend_port(svc, static_cast<uint16_t>(port));
          plan.services.emplace(key, v);
          add_reply_nats(plan, routed, key, v.backend_port);
        }
      }
    }
    for (int family : {4, 6}) {
      PoolPlan pool;
      for (const SavedBackend* b : pool_backends(state, svc, family))
        pool.members.push_back({b->id, maglev_key(*b), weight_of ? weight_of(*b) : b->weight});
      std::sort(pool.members.begin(), pool.members.end(),
                [](const MaglevBackend& a, const MaglevBackend& b) { return a.id < b.id; });
      if (pool.members.size() > XDPLB_MAX_POOL_MEMBERS)
        return make_error("service '" + svc.name + "' would have " + std::to_string(pool.members.size()) +
                          " IPv" + std::to_string(family) + " backends taking new flows; a pool holds at most " +
                          std::to_string(XDPLB_MAX_POOL_MEMBERS) + " (XDPLB_MAX_POOL_MEMBERS)");
      for (const auto& m : pool.members)
        if (m.weight < 1 || m.weight > XDPLB_MAX_WEIGHT)
          return make_error("backend id " + std::to_string(m.id) + " has weight " + std::to_string(m.weight) +
                            "; weights are 1.." + std::to_string(XDPLB_MAX_WEIGHT));
      plan.pools.emplace(pool_of_service(svc, family), std::move(pool));
    }
  }
  if (plan.services.size() > XDPLB_MAX_SERVICES)
    return make_error("the services of " + state.bridge + " would take " + std::to_string(plan.services.size()) +
                      " service entries (addresses x ports x protocols); the map holds " +
                      std::to_string(XDPLB_MAX_SERVICES) + " (XDPLB_MAX_SERVICES): use fewer ports or --listen addresses");
  if (plan.reply_nats.size() > XDPLB_MAX_REPLY_NATS)
    return make_error("the routed backends of " + state.bridge + " would take " + std::to_string(plan.reply_nats.size()) +
                      " reply NAT entries (backend addresses x backend ports x protocols); the map holds " +
                      std::to_string(XDPLB_MAX_REPLY_NATS) + " (XDPLB_MAX_REPLY_NATS)");
  for (const auto& b : state.backends) {
    if (!find_service(state, b.service))
      return make_error("backend id " + std::to_string(b.id) + " belongs to service '" + b.service +
                        "', which " + state.bridge + " does not have");
    if (b.path == BackendPath::Routed) plan.settings |= XDPLB_SETTING_ROUTED_REPLIES;
  }
  return plan;
}

}  // namespace xdplb
