// Where the daemon serves /metrics: `--metrics ADDR:PORT` (default 127.0.0.1:9464) or `off`.
// Pure: a non-loopback address is refused unless --metrics-public is given (metrics name every
// backend and count every client's packets: not for the world by accident).
#pragma once

#include <optional>
#include <string>

#include "core/ip.h"
#include "core/result.h"

namespace xdplb::observe {

inline constexpr const char* kDefaultMetricsAddress = "127.0.0.1:9464";
inline constexpr uint16_t kDefaultMetricsPort = 9464;

// nullopt: off.
Result<std::optional<Endpoint>> parse_metrics_address(const std::string& text, bool allow_public);

bool is_loopback(const IpAddress& a);

}  // namespace xdplb::observe
