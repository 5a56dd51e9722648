#include "bgp/store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/state.h"

namespace xdplb::bgp {

std::string bgp_file(const std::string& state_dir) { return state_dir + "/bgp.json"; }

nlohmann::json to_json(const BgpConfig& c) {
  nlohmann::json neighbors = nlohmann::json::array();
  for (const auto& n : c.neighbors) {
    nlohmann::json exports = nlohmann::json::array();
    if (n.vips) exports.push_back("vips");
    if (n.return_routes) exports.push_back("return_routes");
    neighbors.push_back({{"address", n.address.to_string()}, {"asn", n.asn}, {"exports", exports}});
  }
  nlohmann::json returns = nlohmann::json::array();
  for (const auto& p : c.return_routes) returns.push_back(p.to_string());
  return {{"asn", c.asn},
          {"router_id", c.router_id.family ? c.router_id.to_string() : ""},
          {"neighbors", neighbors},
          {"bird_socket", c.bird_socket},
          {"include", c.include},
          {"announce", c.announce},
          {"return_routes", returns},
          {"withdraw_hold_ms", c.withdraw_hold.count()}};
}

Result<BgpConfig> from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    BgpConfig c;
    c.asn = j.at("asn").get<uint32_t>();
    if (const auto id = j.value("router_id", std::string()); !id.empty()) {
      auto a = IpAddress::parse(id);
      if (!a) return make_error(origin + ": router_id: " + a.error());
      c.router_id = *a;
    }
    for (const auto& n : j.at("neighbors")) {
      auto a = IpAddress::parse(n.at("address").get<std::string>());
      if (!a) return make_error(origin + ": neighbor: " + a.error());
      Neighbor neighbor{*a, n.at("asn").get<uint32_t>()};
      if (n.contains("exports")) {  // absent in files from before return routes: the VIPs only
        const auto exports = n.at("exports").get<std::vector<std::string>>();
        auto has = [&](const char* what) { return std::find(exports.begin(), exports.end(), what) != exports.end(); };
        neighbor.vips = has("vips");
        neighbor.return_routes = has("return_routes");
      }
      c.neighbors.push_back(neighbor);
    }
    c.bird_socket = j.value("bird_socket", std::string(kDefaultBirdSocket));
    c.include = j.value("include", std::string(kDefaultInclude));
    c.announce = j.value("announce", std::map<std::string, bool>());
    for (const auto& text : j.value("return_routes", std::vector<std::string>())) {
      auto p = parse_prefix(text);
      if (!p) return make_error(origin + ": return_routes: " + p.error());
      c.return_routes.push_back(*p);
    }
    c.withdraw_hold = std::chrono::milliseconds(j.value("withdraw_hold_ms", kDefaultWithdrawHold.count()));
    if (auto st = check_bgp(c); !st) return make_error(origin + ": " + st.error());
    return c;
  } catch (const nlohmann::json::exception& e) {
    return make_error(origin + ": " + e.what() + " (write it again with `xdplb apply`)");
  }
}

Status save_bgp(const std::string& state_dir, const std::optional<BgpConfig>& config) {
  const std::string path = bgp_file(state_dir);
  if (!config) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return make_error("cannot remove " + path + ": " + std::strerror(errno));
    return {};
  }
  XDPLB_TRY(ensure_state_dir(state_dir));
  return write_file_atomic(path, to_json(*config).dump(2) + "\n");
}

Result<std::optional<BgpConfig>> load_bgp(const std::string& state_dir) {
  const std::string path = bgp_file(state_dir);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<BgpConfig>();
    return make_error("cannot read " + path + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return make_error(path + ": not valid JSON (write it again with `xdplb apply`)");
  auto c = from_json(j, path);
  if (!c) return make_error(c.error());
  return std::optional<BgpConfig>(std::move(*c));
}

}  // namespace xdplb::bgp
