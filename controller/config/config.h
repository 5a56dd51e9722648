// The declarative configuration (`xdplb apply -f FILE`, `xdplb export`): what the user wants
// each bridge to run, as values. Parsed from YAML (yaml_config.h), compared with what runs
// (diff.h) and turned into the desired BridgeState (reconcile.h). Names are enums here, as in
// the typed model; text appears only in the YAML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bgp/bgp_config.h"
#include "core/ip.h"
#include "core/model.h"
#include "core/state.h"

namespace xdplb::config {

// One backend of a service: a container (by name) or an address.
struct BackendSpec {
  std::string container;          // "" for a backend given by address
  IpAddress address;              // family 0 for a container
  uint16_t port = 0;              // the backend's port (the service's backend_port if not written)
  BackendSource source = BackendSource::Auto;  // containers: auto, lxd or lxc
  std::string lxcpath;            // classic LXC: where the container lives ("" = liblxc's default)
  uint32_t weight = 1;
  bool backup = false;
  bool drain = false;             // no new flows; existing flows stay
  bool fast_path = true;          // false: always the XDP_PASS path
  int line = 0;                   // where it was written (1-based; 0: not from a file)
  bool operator==(const BackendSpec& o) const;  // all but line
};

// "web1" or "10.0.3.11:80": how a backend is named in messages and matched against the state.
std::string backend_key(const BackendSpec& b);

// A service and its backends. `service.slot` is not part of the config (kept or allocated).
struct ServiceSpec {
  ServiceConfig service;
  std::vector<BackendSpec> backends;
  int line = 0;
};

struct BridgeSpec {
  std::string name;
  std::vector<std::string> uplinks;  // empty: the interfaces with a default route
  XdpMode xdp_mode = XdpMode::Auto;
  AttachSettings attach;  // flow_table, hairpin_ports, host_local
  std::vector<ServiceSpec> services;
  int line = 0;
};

struct ConfigFile {
  std::vector<BridgeSpec> bridges;
  std::optional<bgp::BgpConfig> bgp = std::nullopt;  // the node's BGP announcements (bgp/); none: no BGP
};

// What runs on a bridge now, as a config (export, and the "before" side of apply's diff). A
// container served on two address families is one backend here.
BridgeSpec spec_of_state(const BridgeState& state);

}  // namespace xdplb::config
