// The `bgp:` section of the config as a value: this node's BGP identity, its neighbours (and
// what each is sent), where its BIRD 2 is, which services it announces, and the return routes:
// the prefixes this node announces as the way back for its backends' replies. Read from the
// YAML (config/yaml_config.cpp), kept in <state dir>/bgp.json by `xdplb apply` (bgp/store.h),
// used by the daemon (announcer.h) and `xdplb detach` (withdraw.h) and shown by `status`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.h"
#include "core/result.h"

namespace xdplb::bgp {

// An IPv4 or IPv6 prefix, e.g. 10.1.100.0/24, 0.0.0.0/0, 2001:db8::/48 (no host bits set).
struct Prefix {
  IpAddress addr;
  unsigned len = 0;
  std::string to_string() const { return addr.to_string() + "/" + std::to_string(len); }
  auto operator<=>(const Prefix&) const = default;
};
// "ADDR/LEN"; an error that says what to write instead (host bits set, length too long, no /LEN).
Result<Prefix> parse_prefix(std::string_view text);

struct Neighbor {
  IpAddress address;
  uint32_t asn = 0;
  // What this neighbour is sent (`exports:` in the YAML; default: the VIPs only, as before
  // there were return routes). A router facing the backends takes the return routes; one facing
  // the clients the VIPs; one facing both, both.
  bool vips = true;
  bool return_routes = false;
  bool operator==(const Neighbor&) const = default;
};

inline constexpr const char* kDefaultBirdSocket = "/run/bird/bird.ctl";
inline constexpr const char* kDefaultInclude = "/etc/bird/xdplb.conf";
// After BIRD has stopped exporting a withdrawn route, how long `detach` and a stopping daemon
// wait before the datapath goes: the peer's UPDATE processing and FIB change (a few ms on a
// software router, hundreds of ms on some hardware ones) and the replies already on the wire.
inline constexpr std::chrono::milliseconds kDefaultWithdrawHold{1000};

struct BgpConfig {
  uint32_t asn = 0;       // this node's AS
  IpAddress router_id;    // IPv4; family 0: left to BIRD's own config
  std::vector<Neighbor> neighbors;
  std::string bird_socket = kDefaultBirdSocket;  // BIRD's control socket (birdc -s)
  std::string include = kDefaultInclude;         // the file xdplb writes; BIRD's config includes it
  std::map<std::string, bool> announce;          // per service; a service not listed is announced
  std::vector<Prefix> return_routes;             // announced while the datapath is attached
  std::chrono::milliseconds withdraw_hold = kDefaultWithdrawHold;
  bool operator==(const BgpConfig&) const = default;

  bool announces(const std::string& service) const {
    auto it = announce.find(service);
    return it == announce.end() || it->second;
  }
};

// What the YAML and bgp.json readers check beyond syntax: each return route reaches a
// neighbour of its family that takes return routes (a session carries one family), each such
// neighbour has a return route of its family, every neighbour is sent something.
Status check_bgp(const BgpConfig& config);

}  // namespace xdplb::bgp
