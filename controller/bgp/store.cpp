#include "bgp/store.h"

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
  for (const auto& n : c.neighbors) neighbors.push_back({{"address", n.address.to_string()}, {"asn", n.asn}});
  return {{"asn", c.asn},
          {"router_id", c.router_id.family ? c.router_id.to_string() : ""},
          {"neighbors", neighbors},
          {"bird_socket", c.bird_socket},
          {"include", c.include},
          {"announce", c.announce}};
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
      c.neighbors.push_back({*a, n.at("asn").get<uint32_t>()});
    }
    c.bird_socket = j.value("bird_socket", std::string(kDefaultBirdSocket));
    c.include = j.value("include", std::string(kDefaultInclude));
    c.announce = j.value("announce", std::map<std::string, bool>());
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
