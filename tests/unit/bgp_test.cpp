// BGP: which VIPs a node announces (health, drain, per-service switch, no datapath), the BIRD
// includes that announce them (the node's sessions, each bridge's routes), and the `bgp:` config section (YAML and bgp.json).
#include <gtest/gtest.h>

#include "saved_backend.h"

#include "bgp/announce.h"
#include "bgp/store.h"
#include "config/yaml_config.h"
#include "temp_dir.h"

namespace xdplb::bgp {
namespace {

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

ServiceConfig service(const char* name, uint32_t slot, std::vector<IpAddress> listen) {
  ServiceConfig s = test::service_config(name, slot, 8000);
  s.listen = std::move(listen);
  return s;
}

SavedBackend backend(uint32_t id, const char* service, const char* address, bool backup = false) {
  return test::saved_backend(id, service, address, backup);
}

BridgeState node() {
  BridgeState s;
  s.bridge = "bgbr0";
  s.services = {service("web", 0, {addr("192.0.2.10"), addr("2001:db8::10")}),
                service("api", 1, {addr("192.0.2.20")}), service("local", 2, {})};
  s.backends = {backend(0, "web", "10.0.3.11"), backend(1, "web", "10.0.3.12"), backend(2, "api", "10.0.3.21"),
                backend(3, "local", "10.0.3.31")};
  return s;
}

BgpConfig config() {
  BgpConfig c;
  c.asn = 65001;
  c.router_id = addr("10.9.0.2");
  c.neighbors = {{addr("10.9.0.1"), 65000}};
  return c;
}

std::vector<std::string> vips(const std::vector<VipRoute>& routes) {
  std::vector<std::string> out;
  for (const auto& r : routes) out.push_back(r.vip.to_string() + " " + r.service);
  return out;
}

using V = std::vector<std::string>;

TEST(VipRoutes, ListenAddressesOfServicesThatCanServe) {
  // web has no IPv6 backend: its IPv6 VIP cannot serve. local has no VIP of its own.
  EXPECT_EQ(vips(vip_routes(node(), config())), (V{"192.0.2.10 web", "192.0.2.20 api"}));
  auto s = node();
  s.backends.push_back(backend(4, "web", "fd42::11"));
  EXPECT_EQ(vips(vip_routes(s, config())), (V{"192.0.2.10 web", "192.0.2.20 api", "2001:db8::10 web"}));
}

TEST(VipRoutes, WithdrawnWhenNoBackendTakesNewFlows) {
  auto s = node();
  s.backends[2].health = Health::Down;  // api's only backend
  EXPECT_EQ(vips(vip_routes(s, config())), (V{"192.0.2.10 web"}));
  s.backends[0].drained = true;  // web keeps one
  EXPECT_EQ(vips(vip_routes(s, config())), (V{"192.0.2.10 web"}));
  s.backends[1].path = BackendPath::Down;  // its container stopped
  EXPECT_EQ(vips(vip_routes(s, config())), V{});
}

TEST(VipRoutes, PerServiceSwitchAndNoDatapath) {
  auto c = config();
  c.announce["api"] = false;
  c.announce["web"] = true;
  EXPECT_EQ(vips(vip_routes(node(), c)), (V{"192.0.2.10 web"}));
  EXPECT_EQ(vips(vip_routes(node(), config(), /*datapath_attached=*/false)), V{});
}

TEST(BirdInclude, TheNodesSessionsExportEveryBridgesRoutes) {
  auto c = config();
  c.include = "/etc/bird/xdplb.conf";
  c.neighbors.push_back({addr("fd00::1"), 65000});
  EXPECT_EQ(bird_include(c),
            "# Written by xdplb: this node's BGP sessions; each bridge's VIPs are in /etc/bird/xdplb.d. "
            "Do not edit; xdplb rewrites it.\n"
            "router id 10.9.0.2;\n"
            "protocol device xdplb_device {\n}\n"
            "include \"/etc/bird/xdplb.d/*.conf\";\n"
            "protocol bgp xdplb_peer1 {\n  local as 65001;\n  neighbor 10.9.0.1 as 65000;\n"
            "  ipv4 {\n    import none;\n    export where proto ~ \"xdplb_v4_*\";\n  };\n}\n"
            "protocol bgp xdplb_peer2 {\n  local as 65001;\n  neighbor fd00::1 as 65000;\n"
            "  ipv6 {\n    import none;\n    export where proto ~ \"xdplb_v6_*\";\n  };\n}\n");
  EXPECT_EQ(bridge_include_dir(c), "/etc/bird/xdplb.d");
  EXPECT_EQ(bridge_include_path(c, "lxdbr0"), "/etc/bird/xdplb.d/lxdbr0.conf");
  c.include = "/run/bird/vips";  // no .conf to strip
  EXPECT_EQ(bridge_include_path(c, "br1"), "/run/bird/vips.d/br1.conf");
}

TEST(BirdInclude, EachBridgeHasItsOwnStaticProtocols) {
  const std::vector<VipRoute> routes = {{addr("192.0.2.10"), "web"}, {addr("2001:db8::10"), "web"}};
  EXPECT_EQ(bird_bridge_include("lxd-br.0", routes),
            "# Written by xdplb: the VIPs bridge lxd-br.0 announces. Do not edit; xdplb rewrites it.\n"
            "protocol static xdplb_v4_lxd_br_0 {\n  ipv4;\n  route 192.0.2.10/32 blackhole;  # service web\n}\n"
            "protocol static xdplb_v6_lxd_br_0 {\n  ipv6;\n  route 2001:db8::10/128 blackhole;  # service web\n}\n");
  // Withdrawn: the static protocols stay, empty (BIRD withdraws their routes, sessions stay up).
  const std::string none = bird_bridge_include("br1", {});
  EXPECT_NE(none.find("protocol static xdplb_v4_br1 {\n  ipv4;\n}\n"), std::string::npos) << none;
  EXPECT_EQ(none.find("route "), std::string::npos) << none;
}

const char* kYaml = R"(bgp:
  asn: 65001
  router_id: "10.9.0.2"
  neighbors:
    - address: "10.9.0.1"
      asn: 65000
  bird_socket: "/run/bg/bird.ctl"
  include: "/run/bg/xdplb.conf"
  announce:
    api: false
bridges: []
)";

TEST(BgpConfigText, YamlRoundTripAndErrors) {
  auto c = config::parse_config(kYaml, "node.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c->bgp.has_value());
  BgpConfig want = config();
  want.bird_socket = "/run/bg/bird.ctl";
  want.include = "/run/bg/xdplb.conf";
  want.announce = {{"api", false}};
  EXPECT_EQ(*c->bgp, want);
  EXPECT_EQ(config::config_to_yaml(*c), kYaml);
  auto bad = config::parse_config("bgp:\n  asn: 65001\n  neighbours: []\n", "x.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "x.yaml:3: unknown key 'neighbours' in bgp; did you mean 'neighbors'? "
                         "(keys: asn, router_id, neighbors, bird_socket, include, announce)");
  auto no_peer = config::parse_config("bgp:\n  asn: 65001\n", "x.yaml");
  ASSERT_FALSE(no_peer.ok());
  EXPECT_NE(no_peer.error().find("neighbors: give a list"), std::string::npos) << no_peer.error();
  auto v6_id = config::parse_config("bgp:\n  asn: 1\n  router_id: \"fd00::1\"\n  neighbors: [{address: \"10.0.0.1\", asn: 2}]\n", "x.yaml");
  ASSERT_FALSE(v6_id.ok());
  EXPECT_NE(v6_id.error().find("router ids are IPv4"), std::string::npos) << v6_id.error();
}

TEST(BgpStore, SavedLoadedRemoved) {
  test::TempDir dir;
  auto none = load_bgp(dir.path());
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());
  auto c = config();
  c.announce = {{"web", false}};
  ASSERT_TRUE(save_bgp(dir.path(), c).ok());
  auto back = load_bgp(dir.path());
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, c);
  ASSERT_TRUE(save_bgp(dir.path(), std::nullopt).ok());
  EXPECT_FALSE(load_bgp(dir.path())->has_value());
}

}  // namespace
}  // namespace xdplb::bgp
