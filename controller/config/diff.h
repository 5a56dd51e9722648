// The difference between what runs on a bridge and what the config asks for, as lines for
// `apply --dry-run` (and for `apply` to say what it changed). Order of services and backends
// does not matter; a container is matched by name, an address backend by address and port.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace xdplb::config {

// Empty when nothing would change. Lines start with "+ ", "- " or "~ ".
// The backend of `v` named like `like` (backend_key), or nullptr.
const BackendSpec* find_backend(const std::vector<BackendSpec>& v, const BackendSpec& like);

std::vector<std::string> diff_bridge(const BridgeSpec& now, const BridgeSpec& want);

}  // namespace xdplb::config
