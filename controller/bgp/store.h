// <state dir>/bgp.json: the `bgp:` section of the last `xdplb apply`, for the daemon and
// `status`. Absent: no BGP (nothing is announced, BIRD is never asked).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "bgp/bgp_config.h"
#include "core/result.h"

namespace xdplb::bgp {

std::string bgp_file(const std::string& state_dir);

nlohmann::json to_json(const BgpConfig& c);
Result<BgpConfig> from_json(const nlohmann::json& j, const std::string& origin);

Status save_bgp(const std::string& state_dir, const std::optional<BgpConfig>& config);  // nullopt: removes it
Result<std::optional<BgpConfig>> load_bgp(const std::string& state_dir);

}  // namespace xdplb::bgp
