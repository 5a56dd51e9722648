// Packet trace records (xdplb_trace_event from the datapath's trace_ring) as JSON and as a
// line for people, with ids resolved against the saved state: service, backend, scheduler,
// the flow's fate and the named reasons. Pure; the CLI (cli/trace.cpp) reads the ring.
#pragma once

#include <xdplb/abi.h>

#include <string>
#include <vector>

#include "core/state.h"
#include "observe/shapes.h"

namespace xdplb::observe {

// {"ts_ns", "hook": xdp|xdp_icmp|xdp_fragment|tc_reply|tc_hairpin|tc_icmp|tc_fragment|tc_hairpin_fragment|connect|sendmsg,
//  "proto", "src" (null for connect/sendmsg: no source yet), "dst", "service": name|null,
//  "scheduler", "flow": new|hit|reselected|midstream|none, "backend_id", "backend": label|null,
//  "verdict" (allow for connect/sendmsg), "reasons": [names]}
Json trace_json(const struct xdplb_trace_event& e, const BridgeState& state);

// "xdp tcp 10.0.1.2:40000 -> 10.0.1.1:8000 service default (maglev) flow new -> 10.0.0.11:80
//  redirect [fwd_redirect new_flow]"
std::string trace_text(const Json& j);

// Does `--client ADDR` name this host (a loopback address or one of `local`, its interfaces'
// addresses)? Then the host's own calls to a service (the cgroup hooks) are that client's.
bool trace_client_is_host(const IpAddress& client, const std::vector<IpAddress>& local);

}  // namespace xdplb::observe
