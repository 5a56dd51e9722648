// BGP: which VIPs a node announces (health, drain, per-service switch, no datapath), its return
// routes (while attached), the BIRD includes that announce them (the node's sessions and what
// each neighbour is sent, each bridge's routes), and the `bgp:` config section (YAML and
// bgp.json, prefixes and their families checked).
#include <gtest/gtest.h>

#include <fstream>

#include "saved_backend.h"

#include "bgp/announce.h"
#include "bgp/store.h"
#include "bgp/withdraw.h"
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

Prefix prefix(const char* text) { return *parse_prefix(text); }

TEST(BirdInclude, EachBridgeHasItsOwnStaticProtocols) {
  const Announcement routes = {{{addr("192.0.2.10"), "web"}, {addr("2001:db8::10"), "web"}},
                               {prefix("10.9.100.0/24"), prefix("2001:db8:100::/48")}};
  EXPECT_EQ(bird_bridge_include("lxd-br.0", routes),
            "# Written by xdplb: the VIPs and return routes bridge lxd-br.0 announces. Do not edit; xdplb rewrites it.\n"
            "protocol static xdplb_v4_lxd_br_0 {\n  ipv4;\n  route 192.0.2.10/32 blackhole;  # service web\n}\n"
            "protocol static xdplb_v6_lxd_br_0 {\n  ipv6;\n  route 2001:db8::10/128 blackhole;  # service web\n}\n"
            "protocol static xdplb_rt4_lxd_br_0 {\n  ipv4;\n  route 10.9.100.0/24 blackhole;  # return route\n}\n"
            "protocol static xdplb_rt6_lxd_br_0 {\n  ipv6;\n  route 2001:db8:100::/48 blackhole;  # return route\n}\n");
  EXPECT_EQ(bridge_protocols("lxd-br.0"),
            (V{"xdplb_v4_lxd_br_0", "xdplb_v6_lxd_br_0", "xdplb_rt4_lxd_br_0", "xdplb_rt6_lxd_br_0"}));
  // Withdrawn: the static protocols stay, empty (BIRD withdraws their routes, sessions stay up).
  const std::string none = bird_bridge_include("br1", {});
  EXPECT_NE(none.find("protocol static xdplb_v4_br1 {\n  ipv4;\n}\n"), std::string::npos) << none;
  EXPECT_NE(none.find("protocol static xdplb_rt4_br1 {\n  ipv4;\n}\n"), std::string::npos) << none;
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
                         "(keys: asn, router_id, neighbors, bird_socket, include, announce, return_routes, "
                         "withdraw_hold_ms)");
  auto no_peer = config::parse_config("bgp:\n  asn: 65001\n", "x.yaml");
  ASSERT_FALSE(no_peer.ok());
  EXPECT_NE(no_peer.error().find("neighbors: give a list"), std::string::npos) << no_peer.error();
  auto v6_id = config::parse_config("bgp:\n  asn: 1\n  router_id: \"fd00::1\"\n  neighbors: [{address: \"10.0.0.1\", asn: 2}]\n", "x.yaml");
  ASSERT_FALSE(v6_id.ok());
  EXPECT_NE(v6_id.error().find("router ids are IPv4"), std::string::npos) << v6_id.error();
}

TEST(ReturnRoutes, AnnouncedWhileAttachedWhateverTheBackends) {
  auto c = config();
  c.return_routes = {prefix("10.9.100.0/24"), prefix("0.0.0.0/0"), prefix("10.9.100.0/24")};
  auto s = node();
  EXPECT_EQ(announcement(s, c, true).returns, (std::vector<Prefix>{prefix("0.0.0.0/0"), prefix("10.9.100.0/24")}));
  for (auto& b : s.backends) b.health = Health::Down;  // no VIP, but replies of placed flows still come
  const auto down = announcement(s, c, true);
  EXPECT_TRUE(down.vips.empty());
  EXPECT_EQ(down.returns.size(), 2u);
  EXPECT_TRUE(announcement(node(), c, /*datapath_attached=*/false).empty());
  EXPECT_TRUE(announcement(node(), config(), true).returns.empty()) << "none configured, none announced";
}

TEST(ReturnRoutes, PrefixesParsedWithErrorsThatSayWhatToWrite) {
  EXPECT_EQ(prefix("10.9.100.0/24").to_string(), "10.9.100.0/24");
  EXPECT_EQ(prefix("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(prefix("2001:db8:100::/48").to_string(), "2001:db8:100::/48");
  EXPECT_EQ(prefix("10.9.100.7/32").to_string(), "10.9.100.7/32");
  EXPECT_EQ(parse_prefix("10.9.100.5/24").error(), "'10.9.100.5/24' has bits set after its length: write 10.9.100.0/24");
  EXPECT_EQ(parse_prefix("2001:db8::1/64").error(), "'2001:db8::1/64' has bits set after its length: write 2001:db8::/64");
  EXPECT_EQ(parse_prefix("10.9.100.0/33").error(), "'10.9.100.0/33': the length after '/' is a number from 0 to 32 for IPv4");
  EXPECT_EQ(parse_prefix("10.9.100.0/").error(), "'10.9.100.0/': the length after '/' is a number from 0 to 32 for IPv4");
  EXPECT_EQ(parse_prefix("10.9.100.0").error(),
            "'10.9.100.0' is not a prefix: write ADDRESS/LENGTH, like 10.1.100.0/24 or 2001:db8::/48");
  EXPECT_NE(parse_prefix("clients/24").error().find("is not an IPv4 or IPv6 address"), std::string::npos);
}

TEST(BirdInclude, EachNeighbourIsSentWhatItTakes) {
  auto c = config();
  c.neighbors = {{addr("10.9.0.1"), 65000},                       // VIPs only (the default)
                 {addr("10.9.1.1"), 65100, false, true},          // the backends' router
                 {addr("fd00::1"), 65000, true, true}};           // both
  c.return_routes = {prefix("10.9.100.0/24"), prefix("::/0")};
  ASSERT_TRUE(check_bgp(c).ok()) << check_bgp(c).error();
  const std::string text = bird_include(c);
  EXPECT_NE(text.find("neighbor 10.9.0.1 as 65000;\n  ipv4 {\n    import none;\n    export where proto ~ \"xdplb_v4_*\";\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("neighbor 10.9.1.1 as 65100;\n  ipv4 {\n    import none;\n    export where proto ~ \"xdplb_rt4_*\";\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("neighbor fd00::1 as 65000;\n  ipv6 {\n    import none;\n"
                      "    export where proto ~ \"xdplb_v6_*\" || proto ~ \"xdplb_rt6_*\";\n"),
            std::string::npos) << text;
  EXPECT_EQ(peer_protocols(c), (V{"xdplb_peer1", "xdplb_peer2", "xdplb_peer3"}));
}

TEST(ReturnRoutes, FamiliesAndExportsChecked) {
  const std::string head = "bgp:\n  asn: 65001\n  neighbors:\n    - address: \"10.9.0.1\"\n      asn: 65000\n";
  auto err = [](const std::string& text) {
    auto c = config::parse_config(text, "x.yaml");
    return c.ok() ? std::string("(accepted)") : c.error();
  };
  EXPECT_EQ(err(head + "      exports: [vips, return_routes]\n  return_routes: [\"2001:db8::/48\"]\n"),
            "x.yaml:2: bgp: return_routes: 2001:db8::/48 is IPv6, but no IPv6 neighbour takes return routes: add "
            "exports: [return_routes] to one (a BGP session here carries its neighbour's address family only)");
  EXPECT_EQ(err(head + "  return_routes: [\"10.9.100.0/24\"]\n"),
            "x.yaml:2: bgp: return_routes: 10.9.100.0/24 is IPv4, but no IPv4 neighbour takes return routes: add "
            "exports: [return_routes] to one (a BGP session here carries its neighbour's address family only)");
  EXPECT_EQ(err(head + "      exports: [return_routes]\n"),
            "x.yaml:2: bgp: neighbour 10.9.0.1 takes return routes, but return_routes has no IPv4 prefix: add one "
            "(e.g. the clients' prefix, or 0.0.0.0/0)");
  EXPECT_EQ(err(head + "      exports: []\n"),
            "x.yaml:2: bgp: neighbour 10.9.0.1 is sent nothing: write exports: [vips], [return_routes] or both");
  EXPECT_EQ(err(head + "      exports: [vip]\n"),
            "x.yaml:6: exports: 'vip' is not vips or return_routes; write exports: [vips, return_routes]");
  EXPECT_EQ(err(head + "      exports: [return_routes]\n  return_routes: [\"10.9.100.1/24\"]\n"),
            "x.yaml:7: bgp: return_routes: '10.9.100.1/24' has bits set after its length: write 10.9.100.0/24");
}

const char* kYamlReturn = R"(bgp:
  asn: 65001
  neighbors:
    - address: "10.9.0.1"
      asn: 65000
      exports: [vips, return_routes]
    - address: "10.9.1.1"
      asn: 65100
      exports: [return_routes]
  return_routes: ["0.0.0.0/0", "10.9.100.0/24"]
  withdraw_hold_ms: 250
bridges: []
)";

TEST(ReturnRoutes, YamlAndStoreRoundTrip) {
  auto c = config::parse_config(kYamlReturn, "node.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c->bgp.has_value());
  EXPECT_EQ(c->bgp->neighbors[0], (Neighbor{addr("10.9.0.1"), 65000, true, true}));
  EXPECT_EQ(c->bgp->neighbors[1], (Neighbor{addr("10.9.1.1"), 65100, false, true}));
  EXPECT_EQ(c->bgp->return_routes, (std::vector<Prefix>{prefix("0.0.0.0/0"), prefix("10.9.100.0/24")}));
  EXPECT_EQ(c->bgp->withdraw_hold, std::chrono::milliseconds(250));
  EXPECT_EQ(config::config_to_yaml(*c), kYamlReturn);
  test::TempDir dir;
  ASSERT_TRUE(save_bgp(dir.path(), c->bgp).ok());
  auto back = load_bgp(dir.path());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(**back, *c->bgp);
  // A bgp.json from before return routes: its neighbours take the VIPs, nothing else.
  auto old = from_json(nlohmann::json::parse(R"({"asn": 65001, "neighbors": [{"address": "10.9.0.1", "asn": 65000}]})"),
                       "bgp.json");
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ(old->neighbors[0], (Neighbor{addr("10.9.0.1"), 65000, true, false}));
  EXPECT_TRUE(old->return_routes.empty());
  EXPECT_EQ(old->withdraw_hold, kDefaultWithdrawHold);
}

TEST(ReturnRoutes, BirdsExportListingReadByProtocol) {
  const std::string shown = "Table master4:\n"
                            "10.9.100.0/24        blackhole [xdplb_rt4_br0 23:01:02.123] * (200)\n"
                            "192.0.2.10/32        blackhole [xdplb_v4_br10 23:01:02.123] * (200)\n";
  EXPECT_TRUE(lists_route_of(shown, bridge_protocols("br0")));
  EXPECT_TRUE(lists_route_of(shown, bridge_protocols("br10")));
  EXPECT_FALSE(lists_route_of(shown, bridge_protocols("br1"))) << "br1 is not br10";
  EXPECT_FALSE(lists_route_of("Table master4:\n", bridge_protocols("br0")));
}

TEST(ReturnRoutes, DetachsMarkHoldsTheDaemonOffWhileItsProcessLives) {
  test::TempDir dir;
  EXPECT_FALSE(withdrawing(dir.path(), "br0"));
  {
    const WithdrawingMark mark(dir.path(), "br0");
    EXPECT_TRUE(withdrawing(dir.path(), "br0"));
    EXPECT_FALSE(withdrawing(dir.path(), "br1")) << "another bridge's daemon announces on";
  }
  EXPECT_FALSE(withdrawing(dir.path(), "br0")) << "removed with the mark";
  // A mark left by a process that is gone (a detach killed halfway) holds nothing off.
  std::ofstream(withdrawing_file(dir.path(), "br0")) << "999999999\n";
  EXPECT_FALSE(withdrawing(dir.path(), "br0"));
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
