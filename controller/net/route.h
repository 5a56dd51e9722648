// Routes, read only: which interfaces carry the default route. Those are the uplinks XDP
// attaches to by default. Nothing here ever changes a route.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace xdplb::net {

// Names of the interfaces that carry an IPv4 or IPv6 default route in the main table of the
// calling thread's namespace (multipath next hops included), sorted, without duplicates.
Result<std::vector<std::string>> default_route_interfaces();

}  // namespace xdplb::net
