#include "observe/endpoint.h"

#include "core/parse.h"

namespace xdplb::observe {

bool is_loopback(const IpAddress& a) {
  if (a.is_v4()) return a.bytes[0] == 127;
  if (!a.is_v6()) return false;
  for (int i = 0; i < 15; ++i)
    if (a.bytes[i]) return false;
  return a.bytes[15] == 1;
}

Result<std::optional<Endpoint>> parse_metrics_address(const std::string& text, bool allow_public) {
  if (text == "off") return std::optional<Endpoint>{};
  auto ep = parse_endpoint(text, kDefaultMetricsPort);
  if (!ep) return make_error("--metrics: " + ep.error() + " (give ADDR:PORT, e.g. " + kDefaultMetricsAddress + ", or off)");
  if (ep->port == 0) return make_error("--metrics: give a port from 1 to 65535");
  if (!is_loopback(ep->addr) && !allow_public)
    return make_error("--metrics " + text + ": not a loopback address; metrics show every backend and its traffic, "
                      "so serving them beyond this host needs --metrics-public as well");
  return std::optional<Endpoint>{*ep};
}

}  // namespace xdplb::observe
