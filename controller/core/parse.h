// Parsing of user input (CLI arguments, config values): text in, value or a message that says
// what was wrong and what to type instead out. No I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/ip.h"
#include "core/result.h"
#include "core/xdp_mode.h"

namespace xdplb {

// A TCP/UDP port, 1-65535.
Result<uint16_t> parse_port(std::string_view text);

// A backend weight, 1..XDPLB_MAX_WEIGHT.
Result<uint32_t> parse_weight(std::string_view text);

// "ADDR", "ADDR:PORT", "[V6ADDR]:PORT", "[V6ADDR]" or "V6ADDR". Without a port the result has
// default_port; default_port 0 means a port is required.
Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port);

// Whether a backend argument is meant as an address (possibly mistyped) rather than a
// container name. Container names are [A-Za-z0-9-]+ and do not start with a digit, so
// anything with '.', ':' or '[' or a leading digit is an address: "10.0.3.300" then fails as
// a bad address instead of as a missing container.
bool looks_like_address(std::string_view text);

// A container name as LXD accepts it: 1-63 of [A-Za-z0-9-], starting with a letter, not
// ending with '-'.
Status check_container_name(std::string_view text);

// A network interface name (bridge, uplink): 1-15 bytes, no '/', whitespace or ':', not
// "." or "..". Also safe as a file name.
Status check_interface_name(std::string_view text);

// A service name: 1-32 of [A-Za-z0-9_-], starting with a letter.
Status check_service_name(std::string_view text);

// "P" or "P-Q" (inclusive, P <= Q).
struct PortRange {
  uint16_t first = 0, last = 0;
  uint32_t size() const { return uint32_t{last} - first + 1; }
};
Result<PortRange> parse_ports(std::string_view text);

struct Protocols {
  bool tcp = false;
  bool udp = false;
};
// "tcp", "udp" or "both".
Result<Protocols> parse_proto(std::string_view text);

// "maglev", "weighted", "round-robin" or "least-conn" -> enum xdplb_scheduler.
Result<uint32_t> parse_scheduler(std::string_view text);
const char* scheduler_name(uint32_t scheduler);  // "maglev" for an unknown value

// "auto", "native" or "generic".
Result<XdpMode> parse_xdp_mode(std::string_view text);
const char* xdp_mode_name(XdpMode mode);  // "auto" / "native" / "generic"

}  // namespace xdplb
