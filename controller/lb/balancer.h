// The inputs of a bridge's plan that come from the host (the addresses services answer on) and
// the slow-start weight ramp. Shared by the CLI and the daemon.
#pragma once

#include <chrono>
#include <vector>

#include "core/ip.h"
#include "core/result.h"
#include "core/state.h"
#include "lb/plan.h"
#include "lb/transaction.h"

namespace xdplb {

// The VIPs external clients use: every global IPv4 and IPv6 address of the uplinks.
Result<std::vector<IpAddress>> service_vips(const std::vector<std::string>& uplinks);

// The addresses a service without --listen answers on: the uplinks' (external clients), the
// bridge's own (containers on it — hairpin — and the host), and 127.0.0.1 / ::1 when host-local
// clients are served. Read on every change (addresses come and go).
Result<std::vector<IpAddress>> service_addresses(const BridgeState& state, int bridge_ifindex,
                                                 bool host_local);

// A transaction on an attached bridge, its default addresses read from netlink each time.
TransactionOptions bridge_transaction(const std::string& state_dir, const std::string& bridge,
                                      int bridge_ifindex, bool host_local, MapWriter& maps);

// Slow start: the weight of a backend that came back `elapsed` ago and ramps up over
// `duration`, on a scale where its full weight is weight * scale (a scale above 1 lets a
// backend of weight 1 ramp in steps too; the others then get weight * scale). At least 1, at
// most weight * scale.
uint32_t ramped_weight(uint32_t weight, uint32_t scale, std::chrono::milliseconds elapsed,
                       std::chrono::milliseconds duration);
// The largest scale that keeps every weight of the state within XDPLB_MAX_WEIGHT.
uint32_t ramp_scale(const BridgeState& state);

}  // namespace xdplb
