// The JSON shapes of the read commands' --json output (status, backend list, service list,
// health, scheduler). Pure: values in, JSON out, so the shapes are pinned by unit tests and
// documented in the README ("JSON output"). Keys are only ever added, never renamed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/state.h"
#include "datapath/datapath.h"

namespace xdplb::observe {

using Json = nlohmann::ordered_json;

// What the datapath says about one backend (counters, flows, connections, placement).
struct BackendLive {
  uint64_t packets = 0, bytes = 0, new_flows = 0;
  int64_t connections = 0;     // least-conn's count (never below 0 here)
  uint64_t flow_entries = 0;   // forward entries in the flow table
  uint64_t active_flows = 0;   // of those, with a packet lately
  uint32_t placement_weight = 0;  // weight in the member list now (slow start), 0: not in it
  bool in_ring = false;           // takes new flows (a backup only while no primary can)
};

// One backend in `status` and `backend list`.
Json backend_json(const SavedBackend& b, const BackendLive& live);

// One service in `status` (addresses resolved against the defaults); `panic`: health is
// ignored for placement now (too few healthy backends, lb/plan.h's in_panic).
Json service_status_json(const ServiceConfig& s, const std::vector<IpAddress>& defaults, bool panic);

// A service's health checks (`health --json`, and inside `service list`).
Json health_check_json(const HealthCheckConfig& h);

// One service in `service list`: its settings and its backends as saved.
Json service_list_json(const BridgeState& state, const ServiceConfig& s, const std::vector<IpAddress>& defaults);

// `health --json`: {bridge, service, checks, backends: [{id, name, address, health, reason}]}.
Json health_json(const BridgeState& state, const ServiceConfig& s);

// `scheduler --json`: {bridge, service, scheduler, affinity, meaning}.
Json scheduler_json(const std::string& bridge, const ServiceConfig& s, const std::string& meaning);

// One entry of a bridge's map reply_nats in `status` (what its datapath does with a routed
// backend's replies and ICMP errors that no reverse entry knows): the backend's endpoint, the
// VIP:port they get (vip "" and vport 0 when ambiguous: dropped) and `serves`, the VIP:ports
// that claim the endpoint (plan_maps' reply_nat_claims; empty if the plan does not have it).
Json reply_nat_json(const ServiceKey& endpoint, const ReplyNat& nat, const std::vector<ServiceKey>& serves);

// "P" or "P-Q".
std::string ports_text(const ServiceConfig& s);

}  // namespace xdplb::observe
