// Migration from the tutorial's setup: nginx `upstream` blocks, iptables / nft DNAT rules. Each
// importer is pure (text in, a bridge's config and a report out); the CLI prints the config as
// YAML with the report as comments, so its output can go straight to `xdplb apply -f -`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/result.h"

namespace xdplb::config {

struct Imported {
  BridgeSpec bridge;
  // What could not be carried over, and why: "FILE:LINE: directive: why".
  std::vector<std::string> report;
};

// nginx: `upstream` blocks (server lines with weight, max_fails, fail_timeout, backup, down;
// least_conn, hash $remote_addr consistent, ip_hash, round-robin) and the `listen` of the
// `server` blocks that proxy_pass to them (http and stream contexts).
Result<Imported> import_nginx(std::string_view text, const std::string& origin, const std::string& bridge);

// `iptables-save` or `nft list ruleset` text: DNAT rules for a port become services, their
// destinations backends, their input interfaces uplinks.
Result<Imported> import_dnat(std::string_view text, const std::string& origin, const std::string& bridge);

// LXD: the network forwards of `bridge` (GET /1.0/networks/BRIDGE/forwards?recursion=1) and
// the proxy devices of its instances (GET /1.0/instances?recursion=1), as LXD's metadata.
Result<Imported> import_lxd(const nlohmann::json& forwards, const nlohmann::json& instances, const std::string& bridge);

// The imported config as YAML for `apply -f`, the report and where it came from as comments.
std::string imported_yaml(const Imported& imported, const std::string& what);

}  // namespace xdplb::config
