#include "bgp/bgp_config.h"

#include <charconv>

namespace xdplb::bgp {

namespace {

const char* family_name(const IpAddress& a) { return a.is_v6() ? "IPv6" : "IPv4"; }

}  // namespace

Result<Prefix> parse_prefix(std::string_view text) {
  const std::string shown(text);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return make_error("'" + shown + "' is not a prefix: write ADDRESS/LENGTH, like 10.1.100.0/24 or 2001:db8::/48");
  auto a = IpAddress::parse(text.substr(0, slash));
  if (!a) return make_error("'" + shown + "': " + a.error());
  const std::string_view len_text = text.substr(slash + 1);
  const unsigned max = a->is_v6() ? 128 : 32;
  unsigned len = 0;
  const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() || len > max)
    return make_error("'" + shown + "': the length after '/' is a number from 0 to " + std::to_string(max) + " for " +
                      family_name(*a));
  Prefix p{*a, len};
  const unsigned bytes = max / 8;
  for (unsigned i = 0; i < bytes; ++i) {
    const unsigned keep = len >= (i + 1) * 8 ? 8 : len > i * 8 ? len - i * 8 : 0;
    p.addr.bytes[i] &= static_cast<uint8_t>(0xff00u >> keep);
  }
  if (p.addr != *a) return make_error("'" + shown + "' has bits set after its length: write " + p.to_string());
  return p;
}

Status check_bgp(const BgpConfig& c) {
  for (const auto& n : c.neighbors)
    if (!n.vips && !n.return_routes)
      return make_error("bgp: neighbour " + n.address.to_string() +
                        " is sent nothing: write exports: [vips], [return_routes] or both");
  for (const auto& p : c.return_routes) {
    bool taken = false;
    for (const auto& n : c.neighbors) taken |= n.return_routes && n.address.is_v6() == p.addr.is_v6();
    if (!taken)
      return make_error(std::string("bgp: return_routes: ") + p.to_string() + " is " + family_name(p.addr) + ", but no " +
                        family_name(p.addr) + " neighbour takes return routes: add exports: [return_routes] to one " +
                        "(a BGP session here carries its neighbour's address family only)");
  }
  for (const auto& n : c.neighbors) {
    if (!n.return_routes) continue;
    bool has = false;
    for (const auto& p : c.return_routes) has |= n.address.is_v6() == p.addr.is_v6();
    if (!has)
      return make_error("bgp: neighbour " + n.address.to_string() + " takes return routes, but return_routes has no " +
                        family_name(n.address) + " prefix: add one (e.g. the clients' prefix, or " +
                        (n.address.is_v6() ? "::/0" : "0.0.0.0/0") + ")");
  }
  return {};
}

}  // namespace xdplb::bgp
