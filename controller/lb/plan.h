// What a bridge's maps must hold for a saved state, as a value: every service entry (each
// service's addresses x ports x protocols) and every pool's members. Pure: the addresses a
// service without --listen answers on are an input, read by the caller. The transaction
// (lb/transaction.h) diffs two plans to find the map writes of a change. Conflicts and limits
// are found here, before anything is written.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "core/ip.h"
#include "core/maglev.h"
#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"

namespace xdplb {

// A pool's members: the ring is built from them (same members, same ring), the member list is
// them in id order.
struct PoolPlan {
  std::vector<MaglevBackend> members;  // id order
  bool operator==(const PoolPlan& o) const;
};

struct MapPlan {
  std::map<ServiceKey, ServiceValue> services;
  // Every routed backend's endpoint (address, the backend port of each service entry, proto)
  // -> the VIP:port its replies get when no reverse entry knows them (another node placed
  // the flow); ambiguous when the endpoint serves several (listen addresses of its family,
  // a port range onto one backend port, two services).
  std::map<ServiceKey, ReplyNat> reply_nats;
  // For each endpoint of reply_nats, the service entries that claim it (the VIP:ports it
  // serves, in plan order): more than one makes it ambiguous. Shown by `status`, written to no map.
  std::map<ServiceKey, std::vector<ServiceKey>> reply_nat_claims;
  std::map<uint32_t, PoolPlan> pools;  // every pool of every service (empty ones too)
  // XDPLB_SETTING_* flags: ROUTED_REPLIES while the state has a routed backend (of any
  // health: its flows' replies still come back on an uplink).
  uint32_t settings = 0;
};

// The weight a backend gets in the ring and member list; empty: its saved weight (the
// daemon's slow start passes a ramp).
using WeightOf = std::function<uint32_t(const SavedBackend&)>;

// Whether a backend may take new flows at all: it has an address, is not down (container
// stopped or failed health checks) and is not drained. The one definition, for the datapath's
// pools, the daemon and `status`.
bool takes_new_flows(const SavedBackend& b);

// Whether a backend could take new flows if its health were ignored: it has an address, its
// container runs and it is not drained.
bool placeable(const SavedBackend& b);

// Panic (the service's health_check.panic_threshold): fewer than that percentage of the
// serving tier's placeable backends of `family` pass their health checks (the primaries, or the
// backups while no primary is placeable; not while a healthy backup can take over). While it lasts, health is
// ignored for placement (pool_backends) and for the entries (the daemon keeps them active).
bool in_panic(const BridgeState& state, const ServiceConfig& svc, int family);

// The backends of a service and family that take new flows now: its primaries that may, or,
// while none may, its backups that may; in panic, health is not asked.
std::vector<const SavedBackend*> pool_backends(const BridgeState& state, const ServiceConfig& svc, int family);

// The identity Maglev hashes for a backend: the container name, else "addr:port". Stable across
// restarts and nodes.
std::string maglev_key(const SavedBackend& b);

// The addresses a service answers on: its listen list, else `defaults`.
const std::vector<IpAddress>& service_listen(const ServiceConfig& svc, const std::vector<IpAddress>& defaults);

// The plan for `state`; an error (and no plan) when two services claim one (address, port,
// protocol), a service uses what the maps cannot hold, or its settings do not go together.
Result<MapPlan> plan_maps(const BridgeState& state, const std::vector<IpAddress>& default_addresses,
                          const WeightOf& weight_of = {});

// "10.0.0.1:8000/tcp".
std::string to_string(const ServiceKey& key);

}  // namespace xdplb
