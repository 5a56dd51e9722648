// Which source addresses belong to the bridge and the host, and so may not be claimed by
// others. Pure: the caller reads the addresses (net/address.h) and writes the result.
//  - Uplink guard: a packet arriving on an uplink from the bridge's subnets, one of the host's
//    own addresses or loopback is spoofed (it would create reverse entries that capture the
//    replies of hairpin flows); the datapath drops such new flows (XDPLB_R_DROP_SPOOFED).
//  - Container addresses: a container reports its own eth0 addresses, and root inside it may
//    claim anything; only an address inside the bridge's subnet that is not the host's may
//    become a backend address.
#pragma once

#include <string>
#include <vector>

#include "core/ip.h"
#include "core/prefix.h"
#include "core/result.h"

namespace xdplb {

// The source prefixes the uplinks must never see: the bridge subnets, every host address
// (/32, /128) and loopback (127.0.0.0/8, ::1/128). Sorted, no duplicates.
std::vector<IpPrefix> uplink_spoofed_sources(const std::vector<IpPrefix>& bridge_subnets,
                                             const std::vector<IpAddress>& host_addresses);

// Whether `container` may use `addr` as its backend address on `bridge`; the error says what
// is wrong and what to do.
Status check_container_address(const std::string& container, const IpAddress& addr,
                               const std::string& bridge, const std::vector<IpPrefix>& bridge_subnets,
                               const std::vector<IpAddress>& host_addresses);

// The addresses of `candidates` that check_container_address accepts, in their order; if none
// is accepted, the error of the first (or "no address" for an empty list).
Result<std::vector<IpAddress>> acceptable_container_addresses(
    const std::string& container, const std::vector<IpAddress>& candidates, const std::string& bridge,
    const std::vector<IpPrefix>& bridge_subnets, const std::vector<IpAddress>& host_addresses);

}  // namespace xdplb
