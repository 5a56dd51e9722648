// Migration (controller/config/import_*.cpp) on the tutorial's own nginx config and iptables
// rule (tests/unit/data), nft's form of the rule, and LXD's forwards and proxy devices.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/import.h"
#include "config/yaml_config.h"

using namespace xdplb;
using namespace xdplb::config;

namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(XDPLB_TEST_DATA) + "/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool reported(const Imported& im, const std::string& part) {
  for (const auto& line : im.report)
    if (line.find(part) != std::string::npos) return true;
  return false;
}

// The printed config is one `apply -f` takes, and says the same.
void parses_back(const Imported& im) {
  auto again = parse_config(imported_yaml(im, "test"), "out.yaml");
  ASSERT_TRUE(again.ok()) << again.error() << "\n" << imported_yaml(im, "test");
  ASSERT_EQ(again->bridges.size(), 1u);
  EXPECT_EQ(config_to_yaml(*again), config_to_yaml(ConfigFile{{im.bridge}}));
}

}  // namespace

TEST(ImportNginx, TheTutorialsUpstream) {
  auto im = import_nginx(data("tutorial-nginx.conf"), "nginx.conf", "lxdbr0");
  ASSERT_TRUE(im.ok()) << im.error();
  const auto& svcs = im->bridge.services;
  ASSERT_EQ(svcs.size(), 3u);
  const auto& web = svcs[0];
  EXPECT_EQ(web.service.name, "web_cluster");
  EXPECT_EQ(web.service.port, 80) << "the listen of the server block that proxies to it";
  EXPECT_EQ(web.service.protos, ProtoSet::Tcp);
  EXPECT_EQ(web.service.scheduler, Scheduler::LeastConn);
  EXPECT_EQ(web.service.health_check.type, CheckType::Tcp);
  EXPECT_EQ(web.service.health_check.fall, 3u) << "max_fails=3";
  EXPECT_EQ(web.service.health_check.interval_ms, 10000u) << "fail_timeout=30s over 3 failures";
  ASSERT_EQ(web.backends.size(), 5u);
  EXPECT_EQ(web.backends[0].address.to_string(), "10.0.3.11");
  EXPECT_EQ(web.backends[0].weight, 3u);
  EXPECT_EQ(web.backends[2].container, "web3") << "web3.lxd is the LXD container web3";
  EXPECT_EQ(web.backends[2].port, 80);
  EXPECT_TRUE(web.backends[3].backup);
  EXPECT_TRUE(web.backends[4].drain) << "down";

  const auto& sticky = svcs[1];
  EXPECT_EQ(sticky.service.scheduler, Scheduler::Maglev);
  EXPECT_EQ(sticky.service.affinity, Affinity::Source) << "hash $remote_addr consistent";
  EXPECT_EQ(sticky.service.port, 8080);
  ASSERT_EQ(sticky.service.listen.size(), 1u);
  EXPECT_EQ(sticky.service.listen[0].to_string(), "10.0.3.100");
  EXPECT_EQ(sticky.service.backend_port, 8080);
  EXPECT_EQ(svcs[2].service.affinity, Affinity::Source) << "ip_hash";

  EXPECT_TRUE(reported(*im, "nginx.conf:37: proxy_set_header: has no L4 meaning"));
  EXPECT_TRUE(reported(*im, "nginx.conf:18: keepalive:"));
  EXPECT_TRUE(reported(*im, "nginx.conf:28: ip_hash: carried as affinity: source (nginx hashes the first three bytes"));
  EXPECT_TRUE(reported(*im, "upstream legacy: no server block with a listen proxies to it"));
  parses_back(*im);
}

TEST(ImportNginx, RoundRobinWithWeightsStreamUdpAndErrors) {
  auto im = import_nginx(R"(stream {
  upstream dns { server 10.0.3.5:53 weight=2; server 10.0.3.6:53; }
  server { listen 53 udp; proxy_pass dns; }
}
http { upstream plain { server 10.0.3.7; } server { listen 8000; location / { proxy_pass http://plain; } } })",
                         "s.conf", "br0");
  ASSERT_TRUE(im.ok()) << im.error();
  ASSERT_EQ(im->bridge.services.size(), 2u);
  EXPECT_EQ(im->bridge.services[0].service.protos, ProtoSet::Udp);
  EXPECT_EQ(im->bridge.services[0].service.scheduler, Scheduler::Weighted) << "weights: weighted turns";
  EXPECT_EQ(im->bridge.services[0].service.health_check.type, CheckType::None);
  EXPECT_EQ(im->bridge.services[1].service.scheduler, Scheduler::RoundRobin);
  parses_back(*im);

  EXPECT_EQ(import_nginx("http { server { listen 80; } }", "x.conf", "br0").error(),
            "x.conf: no upstream block: nothing to import (xdplb reads upstream { server ...; } and the server blocks "
            "that proxy_pass to it)");
  EXPECT_EQ(import_nginx("http {\n upstream a { server 10.0.0.1 }\n", "x.conf", "br0").error(),
            "x.conf:2: unexpected '}' after server");
}

TEST(ImportDnat, TheTutorialsIptablesRule) {
  auto im = import_dnat(data("tutorial-iptables.rules"), "rules", "lxdbr0");
  ASSERT_TRUE(im.ok()) << im.error();
  EXPECT_EQ(im->bridge.uplinks, std::vector<std::string>{"eth0"});
  ASSERT_EQ(im->bridge.services.size(), 1u);
  const auto& s = im->bridge.services[0];
  EXPECT_EQ(s.service.port, 80);
  EXPECT_EQ(s.service.protos, ProtoSet::Tcp);
  ASSERT_EQ(s.backends.size(), 1u);
  EXPECT_EQ(backend_key(s.backends[0]), "10.0.3.100:80");
  EXPECT_TRUE(im->report.empty()) << im->report.front();
  parses_back(*im);
}

TEST(ImportDnat, NftRulesetAndWhatItCannotCarry) {
  auto im = import_dnat(R"(table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth0" tcp dport 8000 counter packets 0 bytes 0 dnat to 10.0.3.11:80
		iifname "eth0" tcp dport 8000 dnat ip to 10.0.3.12:80
		ip daddr 192.0.2.1 udp dport 53 dnat to 10.0.3.53
		tcp dport 9000 ip saddr 198.51.100.0/24 dnat to 10.0.3.13:80
	}
})",
                        "nft", "lxdbr0");
  ASSERT_TRUE(im.ok()) << im.error();
  ASSERT_EQ(im->bridge.services.size(), 3u);
  EXPECT_EQ(im->bridge.services[0].backends.size(), 2u) << "two rules for 8000: one service, two backends";
  EXPECT_EQ(im->bridge.services[1].service.protos, ProtoSet::Udp);
  EXPECT_EQ(im->bridge.services[1].service.listen[0].to_string(), "192.0.2.1");
  EXPECT_EQ(backend_key(im->bridge.services[1].backends[0]), "10.0.3.53:53");
  EXPECT_TRUE(reported(*im, "nft:7: ip: a match xdplb cannot express")) << im->report.size();
  EXPECT_FALSE(import_dnat("*filter\n-A INPUT -j ACCEPT\n", "f", "b").ok());
}

TEST(ImportLxd, ForwardsAndProxyDevices) {
  auto forwards = nlohmann::json::parse(R"([{"listen_address": "192.0.2.10", "config": {},
    "ports": [{"protocol": "tcp", "listen_port": "80", "target_address": "10.0.3.11", "target_port": "8080"},
              {"protocol": "tcp", "listen_port": "80", "target_address": "10.0.3.12", "target_port": "8080"}]}])");
  auto instances = nlohmann::json::parse(R"([{"name": "web1", "expanded_devices": {
    "eth0": {"type": "nic"}, "http": {"type": "proxy", "listen": "tcp:0.0.0.0:8000", "connect": "tcp:127.0.0.1:80"}}}])");
  auto im = import_lxd(forwards, instances, "lxdbr0");
  ASSERT_TRUE(im.ok()) << im.error();
  ASSERT_EQ(im->bridge.services.size(), 2u);
  const auto& fw = im->bridge.services[0];
  EXPECT_EQ(fw.service.port, 80);
  EXPECT_EQ(fw.service.listen[0].to_string(), "192.0.2.10");
  EXPECT_EQ(fw.backends.size(), 2u);
  EXPECT_EQ(fw.backends[0].port, 8080);
  const auto& px = im->bridge.services[1];
  EXPECT_EQ(px.service.port, 8000);
  EXPECT_TRUE(px.service.listen.empty()) << "0.0.0.0: the default addresses";
  EXPECT_EQ(px.backends[0].container, "web1");
  EXPECT_EQ(px.backends[0].port, 80);
  EXPECT_TRUE(reported(*im, "instance web1 device http: LXD proxies in user space"));
  parses_back(*im);

  // Instances on another network: their proxies are not this bridge's.
  auto mixed = nlohmann::json::parse(R"([
    {"name": "web1", "expanded_devices": {"eth0": {"type": "nic", "network": "lxdbr0"},
      "http": {"type": "proxy", "listen": "tcp:0.0.0.0:8000", "connect": "tcp:127.0.0.1:80"}}},
    {"name": "db1", "expanded_devices": {"eth0": {"type": "nic", "nictype": "bridged", "parent": "otherbr"},
      "pg": {"type": "proxy", "listen": "tcp:0.0.0.0:5432", "connect": "tcp:127.0.0.1:5432"}}}])");
  auto only = import_lxd(nlohmann::json::array(), mixed, "lxdbr0");
  ASSERT_TRUE(only.ok()) << only.error();
  ASSERT_EQ(only->bridge.services.size(), 1u);
  EXPECT_EQ(only->bridge.services[0].backends[0].container, "web1");
  EXPECT_TRUE(reported(*only, "instance db1 device pg: the instance is not on lxdbr0"));
}
