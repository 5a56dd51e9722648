#include "core/parse.h"

#include "core/model.h"

#include <xdplb/abi.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace xdplb {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string lower(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A decimal number in [lo, hi]. `what` names the value in messages ("port", "weight") and
// `example` is a valid value to suggest.
Result<uint32_t> parse_bounded(std::string_view text, std::string_view what, uint32_t lo,
                               uint32_t hi, std::string_view example) {
  const std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  const std::string hint = ": use a number from " + range + ", e.g. " + std::string(example);
  if (text.empty()) return make_error(std::string(what) + " is empty" + hint);
  // Digits only: from_chars would also take a leading '-' and we want no signs or spaces.
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return make_error(quoted(text) + " is not a " + std::string(what) + hint);
  if (digits != text.size())
    return make_error(quoted(text) + " is not a " + std::string(what) + " (unexpected " +
                      quoted(text.substr(digits)) + " after the number)" + hint);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  (void)end;
  if (ec != std::errc() || value < lo || value > hi)
    return make_error(std::string(what) + " " + std::string(text) + " is out of range" + hint);
  return static_cast<uint32_t>(value);
}

}  // namespace

Result<uint16_t> parse_port(std::string_view text) {
  auto r = parse_bounded(text, "port", 1, 65535, "8000");
  if (!r) return make_error(r.error());
  return static_cast<uint16_t>(*r);
}

Result<uint32_t> parse_weight(std::string_view text) {
  return parse_bounded(text, "weight", 1, XDPLB_MAX_WEIGHT, "1");
}

Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
  const std::string examples = " (e.g. 10.0.3.11, 10.0.3.11:80, fd42::11 or [fd42::11]:80)";
  if (text.empty()) return make_error("address is empty: give an address" + examples);

  std::string_view addr_text = text;
  std::string_view port_text;
  bool has_port = false;

  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos)
      return make_error(quoted(text) + " has '[' without ']': write [fd42::11]:80");
    addr_text = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error(quoted(text) + ": expected ':PORT' after ']', e.g. [fd42::11]:80");
      port_text = rest.substr(1);
      has_port = true;
    }
    auto addr = IpAddress::parse(addr_text);
    if (!addr || !addr->is_v6())
      return make_error(quoted(addr_text) + " in brackets is not an IPv6 address" + examples);
  } else {
    const size_t colons = std::count(text.begin(), text.end(), ':');
    if (colons == 1) {  // IPv4:port; an IPv6 address has at least two colons
      const size_t colon = text.find(':');
      addr_text = text.substr(0, colon);
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }

  auto addr = IpAddress::parse(addr_text);
  if (!addr) {
    std::string msg = quoted(addr_text) + " is not an IPv4 or IPv6 address" + examples;
    if (std::count(text.begin(), text.end(), ':') >= 2 && text.front() != '[')
      msg += "; to give a port with an IPv6 address put the address in brackets: [fd42::11]:80";
    return make_error(msg);
  }
  Endpoint ep{*addr, default_port};
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) return make_error("in " + quoted(text) + ": " + port.error());
    ep.port = *port;
  } else if (default_port == 0) {
    return make_error(quoted(text) + " has no port: write " +
                      Endpoint{*addr, 80}.to_string() + " (with the port you need)");
  }
  return ep;
}

bool looks_like_address(std::string_view text) {
  if (text.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(text.front()))) return true;
  return text.find_first_of(".:[]") != std::string_view::npos;
}

Status check_container_name(std::string_view text) {
  const std::string rule = ": container names are 1-63 letters, digits and '-', start with a letter "
                           "and do not end with '-' (e.g. web1)";
  if (text.empty()) return make_error("container name is empty" + rule);
  if (text.size() > 63) return make_error("container name " + quoted(text) + " is too long" + rule);
  if (!std::isalpha(static_cast<unsigned char>(text.front())))
    return make_error("container name " + quoted(text) + " does not start with a letter" + rule);
  if (text.back() == '-') return make_error("container name " + quoted(text) + " ends with '-'" + rule);
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
      return make_error("container name " + quoted(text) + " contains " + quoted(std::string(1, c)) +
                        rule);
  return {};
}

Status check_interface_name(std::string_view text) {
  const std::string rule = ": interface names are 1-15 characters without '/', ':' or spaces "
                           "(e.g. lxdbr0)";
  if (text.empty()) return make_error("interface name is empty" + rule);
  if (text.size() > 15) return make_error("interface name " + quoted(text) + " is too long" + rule);
  if (text == "." || text == "..") return make_error("interface name " + quoted(text) + " is invalid" + rule);
  for (char c : text)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
        !std::isprint(static_cast<unsigned char>(c)))
      return make_error("interface name " + quoted(text) + " contains an invalid character" + rule);
  return {};
}

Status check_service_name(std::string_view text) {
  const std::string rule = ": service names are 1-32 letters, digits, '-' and '_', starting with a letter "
                           "(e.g. web, dns)";
  if (text.empty()) return make_error("service name is empty" + rule);
  if (text.size() > 32) return make_error("service name " + quoted(text) + " is too long" + rule);
  if (!std::isalpha(static_cast<unsigned char>(text.front())))
    return make_error("service name " + quoted(text) + " does not start with a letter" + rule);
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return make_error("service name " + quoted(text) + " contains " + quoted(std::string(1, c)) + rule);
  return {};
}

Result<PortRange> parse_ports(std::string_view text) {
  const auto dash = text.find('-');
  auto first = parse_port(text.substr(0, dash));
  if (!first) return make_error(first.error());
  if (dash == std::string_view::npos) return PortRange{*first, *first};
  auto last = parse_port(text.substr(dash + 1));
  if (!last) return make_error(last.error());
  if (*first > *last)
    return make_error("port range " + quoted(text) + ": the first port must not be above the last");
  return PortRange{*first, *last};
}

Result<Protocols> parse_proto(std::string_view text) {
  const std::string s = lower(text);
  if (s == "tcp") return Protocols{true, false};
  if (s == "udp") return Protocols{false, true};
  if (s == "both") return Protocols{true, true};
  return make_error("protocol " + quoted(text) + " is not known: use tcp, udp or both");
}

Result<XdpMode> parse_xdp_mode(std::string_view text) {
  if (auto m = parse_name<XdpMode>(lower(text))) return *m;
  return make_error("XDP mode " + quoted(text) +
                    " is not known: use native (in the driver, fast), generic (works on any "
                    "interface, slower) or auto (native, else generic)");
}

const char* xdp_mode_name(XdpMode mode) { return name_of(mode); }

Result<uint32_t> parse_scheduler(std::string_view text) {
  auto s = parse_name<Scheduler>(lower(text));
  if (s) return static_cast<uint32_t>(*s);
  return make_error("scheduler " + quoted(text) +
                    " is not known: use maglev (consistent hash), weighted (turns by weight), "
                    "round-robin (equal turns) or least-conn (fewest active connections)");
}

const char* scheduler_name(uint32_t scheduler) {
  return scheduler < XDPLB_SCHED_MAX ? name_of(static_cast<Scheduler>(scheduler)) : name_of(Scheduler::Maglev);
}

}  // namespace xdplb
