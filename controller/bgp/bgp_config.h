// The `bgp:` section of the config as a value: this node's BGP identity, its neighbours, where
// its BIRD 2 is, and which services it announces. Read from the YAML (config/yaml_config.cpp),
// kept in <state dir>/bgp.json by `xdplb apply` (bgp/store.h), used by the daemon (announcer.h)
// and shown by `status`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ip.h"

namespace xdplb::bgp {

struct Neighbor {
  IpAddress address;
  uint32_t asn = 0;
  bool operator==(const Neighbor&) const = default;
};

inline constexpr const char* kDefaultBirdSocket = "/run/bird/bird.ctl";
inline constexpr const char* kDefaultInclude = "/etc/bird/xdplb.conf";

struct BgpConfig {
  uint32_t asn = 0;       // this node's AS
  IpAddress router_id;    // IPv4; family 0: left to BIRD's own config
  std::vector<Neighbor> neighbors;
  std::string bird_socket = kDefaultBirdSocket;  // BIRD's control socket (birdc -s)
  std::string include = kDefaultInclude;         // the file xdplb writes; BIRD's config includes it
  std::map<std::string, bool> announce;          // per service; a service not listed is announced
  bool operator==(const BgpConfig&) const = default;

  bool announces(const std::string& service) const {
    auto it = announce.find(service);
    return it == announce.end() || it->second;
  }
};

}  // namespace xdplb::bgp
