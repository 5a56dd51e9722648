// How the datapath reaches one backend: straight into its host-side veth by devmap redirect
// (the fast path), or by XDP_PASS to the kernel's routing (the pass path) — and why.
// The fast path needs the backend's MAC, the bridge port it sits behind, and NAPI on the
// container-side end of that veth (GRO on), which this code turns on when it can.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/result.h"
#include "datapath/datapath.h"
#include "net/address.h"
#include "net/link.h"

namespace xdplb {

struct ForwardingPlan {
  BackendEntry entry;     // what the datapath gets
  std::string via;        // host-side veth name, "" on the pass path without one
  std::string reason;     // why the pass path, or what was done for the fast path
};

struct ForwardingRequest {
  IpAddress addr;
  uint16_t port = 0;
  bool fast_path_disabled = false;
  // Known for containers: their host-side veth and init pid (to reach their namespace).
  int host_ifindex = 0;
  int init_pid = 0;
  std::optional<Mac> mac;
};

// Never fails: anything that rules out the fast path yields the pass path with its reason.
// An address backend outside every subnet of the bridge is routed (no neighbour resolution on
// the bridge: the datapath asks the host's FIB for each packet, and reverse-NATs its replies on
// the uplinks).
ForwardingPlan plan_forwarding(const net::LinkInfo& bridge, const ForwardingRequest& request);

// Pure: is addr outside every subnet of the bridge (its interface addresses)? A bridge with no
// address of addr's family has no subnet to be outside of: false.
bool outside_subnets(const std::vector<net::InterfaceAddress>& bridge_addresses, const IpAddress& addr);


}  // namespace xdplb
