// The declarative config (controller/config): YAML parsing and its messages, writing, the diff
// apply --dry-run prints, and the desired state apply saves. No root.
#include <gtest/gtest.h>

#include "config/diff.h"
#include "config/reconcile.h"
#include "config/yaml_config.h"

using namespace xdplb;
using namespace xdplb::config;

namespace {

const char* kCluster = R"(bridges:
  - name: lxdbr0
    uplinks: [eth0]
    services:
      - name: web
        port: 8000
        proto: tcp
        scheduler: least-conn
        health:
          type: http
          path: /healthz
          fall: 2
        backends:
          - container: web1
            weight: 3
          - container: web2
            drain: true
          - address: 10.0.3.50:8080
            backup: true
      - name: dns
        port: 5353-5354
        backend_port: 53
        proto: udp
        listen: ["192.0.2.1", "fd00::1"]
        affinity: source
        backends:
          - address: "[fd42::5]"
)";

ConfigFile parse_ok(const std::string& text) {
  auto c = parse_config(text, "test.yaml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
  return c.ok() ? *c : ConfigFile{};
}

std::string parse_error(const std::string& text) {
  auto c = parse_config(text, "test.yaml");
  EXPECT_FALSE(c.ok()) << "parsed: " << text;
  return c.ok() ? "" : c.error();
}

// The diff as one text, empty when there is none (so a failure shows it).
std::string diff_text(const BridgeSpec& now, const BridgeSpec& want) {
  std::string out;
  for (const auto& line : diff_bridge(now, want)) out += line + "\n";
  return out;
}

}  // namespace

TEST(ConfigParse, TheClusterExample) {
  auto c = parse_ok(kCluster);
  ASSERT_EQ(c.bridges.size(), 1u);
  const auto& b = c.bridges[0];
  EXPECT_EQ(b.name, "lxdbr0");
  EXPECT_EQ(b.uplinks, std::vector<std::string>{"eth0"});
  ASSERT_EQ(b.services.size(), 2u);
  const auto& web = b.services[0];
  EXPECT_EQ(web.service.scheduler, Scheduler::LeastConn);
  EXPECT_EQ(web.service.protos, ProtoSet::Tcp);
  EXPECT_EQ(web.service.health_check.type, CheckType::Http);
  EXPECT_EQ(web.service.health_check.http_path, "/healthz");
  EXPECT_EQ(web.service.health_check.fall, 2u);
  ASSERT_EQ(web.backends.size(), 3u);
  EXPECT_EQ(web.backends[0].container, "web1");
  EXPECT_EQ(web.backends[0].weight, 3u);
  EXPECT_EQ(web.backends[0].port, 80);
  EXPECT_TRUE(web.backends[1].drain);
  EXPECT_EQ(web.backends[2].address.to_string(), "10.0.3.50");
  EXPECT_EQ(web.backends[2].port, 8080);
  EXPECT_TRUE(web.backends[2].backup);
  EXPECT_EQ(web.backends[2].line, 18);
  const auto& dns = b.services[1];
  EXPECT_EQ(dns.service.port, 5353);
  EXPECT_EQ(dns.service.port_last, 5354);
  EXPECT_EQ(dns.service.affinity, Affinity::Source);
  EXPECT_EQ(dns.service.health_check.type, CheckType::None) << "a UDP service has no TCP checks";
  ASSERT_EQ(dns.service.listen.size(), 2u);
  EXPECT_EQ(dns.backends[0].port, 53) << "the service's backend_port";
}

TEST(ConfigParse, EmptyFileIsNoBridges) {
  EXPECT_TRUE(parse_ok("# only comments\n").bridges.empty());
  EXPECT_TRUE(parse_ok("bridges: []\n").bridges.empty());
}

TEST(ConfigParse, ErrorsNameFileLineKeyAndWhatToWrite) {
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        port: 80\n        shedular: maglev\n"),
            "test.yaml:6: unknown key 'shedular' in a service; did you mean 'scheduler'? (keys: name, port, "
            "backend_port, proto, listen, scheduler, affinity, health, backends)");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        port: 80\n        scheduler: fastest\n"),
            "test.yaml:6: scheduler: scheduler 'fastest' is unknown; expected maglev, weighted, round-robin or least-conn");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        proto: tcp\n"),
            "test.yaml:4: service 'web' needs a port: write port: 8000 (or a range, port: 8000-8010)");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        port: 80\n        backends:\n"
                        "          - container: web1\n            weight: 0\n"),
            "test.yaml:8: weight: weight 0 is out of range: use a number from 1 to 1000, e.g. 1");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        port: 80\n        backends:\n"
                        "          - container: web1\n            address: 10.0.0.1\n"),
            "test.yaml:7: a backend of service 'web': give either container: NAME or address: ADDR[:PORT]");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: web\n        port: 80\n        backends:\n"
                        "          - container: web1\n          - container: web1\n"),
            "test.yaml:8: backend web1 is listed twice in service 'web'; keep one");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: d\n        port: 53\n        proto: udp\n"
                        "        health:\n          type: tcp\n"),
            "test.yaml:8: health of service 'd': the service is UDP only and tcp checks probe TCP; write type: none");
  EXPECT_EQ(parse_error("bridges:\n  - name: br0\n    services:\n      - name: w\n        port: 80\n        backends:\n"
                        "          - container: a\n            drain: maybe\n"),
            "test.yaml:8: drain: 'maybe' is not true or false; write drain: true or drain: false");
  const std::string bad_yaml = parse_error("bridges:\n  - name: [br0\n");
  EXPECT_EQ(bad_yaml.rfind("test.yaml:", 0), 0u) << bad_yaml;
  EXPECT_NE(bad_yaml.find("not valid YAML"), std::string::npos) << bad_yaml;
}

TEST(ConfigWrite, ParseOfWriteIsTheSameConfig) {
  auto c = parse_ok(kCluster);
  const std::string text = config_to_yaml(c);
  auto again = parse_ok(text);
  ASSERT_EQ(again.bridges.size(), 1u);
  EXPECT_EQ(diff_text(c.bridges[0], again.bridges[0]), "") << text;
  EXPECT_EQ(config_to_yaml(again), text);
}

TEST(ConfigDiff, SameIsEmptyAndChangesAreNamed) {
  auto now = parse_ok(kCluster).bridges[0];
  EXPECT_EQ(diff_text(now, now), "");
  auto want = now;
  want.services[0].service.scheduler = Scheduler::Maglev;
  want.services[0].backends[0].weight = 5;
  want.services[0].backends.erase(want.services[0].backends.begin() + 1);
  want.services.pop_back();
  // Order does not count.
  std::swap(want.services[0].backends[0], want.services[0].backends[1]);
  EXPECT_EQ(diff_bridge(now, want),
            (std::vector<std::string>{
                "- service dns (5353-5354/udp -> port 53 on 192.0.2.1,fd00::1, maglev, affinity source, health none "
                "every 1000ms timeout 1000ms rise 2 fall 3) and its 1 backends",
                "~ service web: scheduler least-conn -> maglev",
                "- backend web2 port 80 weight 1 drained of service web",
                "~ backend web1 of service web: weight 3 -> 5"}));
}

namespace {

BridgeState running(const BridgeSpec& spec, const std::vector<int>& families) {
  BridgeState empty;
  empty.bridge = spec.name;
  empty.uplinks = spec.uplinks;  // as attach saved them
  auto r = reconcile(empty, spec, families);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? r->state : BridgeState{};
}

}  // namespace

TEST(ConfigReconcile, FromNothingEveryBackendIsNewAndResolved) {
  auto spec = parse_ok(kCluster).bridges[0];
  BridgeState empty;
  empty.bridge = "lxdbr0";
  empty.uplinks = {"eth0"};
  auto r = reconcile(empty, spec, {4, 6});
  ASSERT_TRUE(r.ok()) << r.error();
  // web1, web2 on two families each, one address each for web and dns.
  EXPECT_EQ(r->state.backends.size(), 6u);
  EXPECT_EQ(r->resolve.size(), 6u);
  EXPECT_EQ(r->new_ids.size(), 6u);
  EXPECT_TRUE(r->removed.empty());
  EXPECT_NE(r->state.services[0].slot, r->state.services[1].slot);
  EXPECT_EQ(diff_text(spec_of_state(r->state), spec), "") << "the state is what the file says";
}

TEST(ConfigReconcile, TheSameConfigAgainChangesNothing) {
  auto spec = parse_ok(kCluster).bridges[0];
  BridgeState now = running(spec, {4});
  auto r = reconcile(now, spec, {4});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->state, now);
  EXPECT_TRUE(r->resolve.empty());
  EXPECT_TRUE(r->new_ids.empty());
  EXPECT_TRUE(r->removed.empty());
}

TEST(ConfigReconcile, KeepsIdsAndSlotsOfWhatStays) {
  auto spec = parse_ok(kCluster).bridges[0];
  BridgeState now = running(spec, {4});
  now.backends[0].health = Health::Up;  // the daemon's finding survives an apply
  auto want = spec;
  want.services[0].backends[0].weight = 7;                  // web1: weight only
  want.services[0].backends[2].fast_path = false;           // the address: resolved again
  want.services[0].backends.erase(want.services[0].backends.begin() + 1);  // web2 goes
  want.services.erase(want.services.begin() + 1);           // dns goes
  BackendSpec web9;
  web9.container = "web9";
  web9.port = 80;
  want.services[0].backends.push_back(web9);
  ServiceSpec mail;
  mail.service.name = "mail";
  mail.service.port = 25;
  want.services.push_back(mail);

  auto r = reconcile(now, want, {4});
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& st = r->state;
  ASSERT_EQ(st.services.size(), 2u);
  EXPECT_EQ(st.services[0].slot, now.services[0].slot);
  EXPECT_NE(st.services[1].slot, now.services[0].slot);
  EXPECT_NE(st.services[1].slot, now.services[1].slot) << "the slot of a service going now is not reused at once";
  ASSERT_EQ(st.backends.size(), 3u);
  EXPECT_EQ(st.backends[0].id, now.backends[0].id);
  EXPECT_EQ(st.backends[0].weight, 7u);
  EXPECT_EQ(st.backends[0].health, Health::Up);
  EXPECT_EQ(st.backends[1].id, now.backends[2].id);
  EXPECT_TRUE(st.backends[1].fast_path_disabled);
  EXPECT_EQ(st.backends[2].name, "web9");
  EXPECT_EQ(r->removed, (std::set<uint32_t>{now.backends[1].id, now.backends[3].id}));
  EXPECT_EQ(r->new_ids, (std::set<uint32_t>{st.backends[2].id}));
  EXPECT_FALSE(r->removed.count(st.backends[2].id)) << "a removed backend's id is not reused in the same change";
  EXPECT_EQ(r->resolve, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(diff_text(spec_of_state(st), want), "");
}

TEST(ConfigExport, AContainerOnTwoFamiliesIsOneBackend) {
  auto spec = parse_ok(kCluster).bridges[0];
  BridgeState now = running(spec, {4, 6});
  for (auto& b : now.backends)
    if (!b.name.empty()) b.source = BackendSource::Lxd;  // as resolved
  auto exported = spec_of_state(now);
  EXPECT_EQ(exported.services[0].backends.size(), 3u);
  EXPECT_EQ(diff_text(exported, spec), "") << "source auto in the file matches the LXD container";
  auto text = config_to_yaml(ConfigFile{{exported}});
  EXPECT_NE(text.find("source: lxd"), std::string::npos) << text;
  EXPECT_EQ(diff_text(exported, parse_ok(text).bridges[0]), "") << text;
}

// The settings only attach makes (--flow-table, --syn-table, --hairpin-ports, --no-host-local):
// read from the bridge section, written by export when not the defaults, part of the diff.
TEST(ConfigAttachSettings, ReadWrittenAndDiffed) {
  auto c = parse_ok(R"(bridges:
  - name: lxdbr0
    flow_table: 4096
    syn_table: 1024
    hairpin_ports: 50000-50999
    host_local: false
    services: []
)");
  ASSERT_EQ(c.bridges.size(), 1u);
  EXPECT_EQ(c.bridges[0].attach, (AttachSettings{4096, 50000, 50999, false, 1024}));
  const std::string text = config_to_yaml(c);
  for (const char* line : {"flow_table: 4096", "syn_table: 1024", "hairpin_ports: \"50000-50999\"", "host_local: false"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in " << text;
  EXPECT_EQ(diff_text(parse_ok(text).bridges[0], c.bridges[0]), "") << text;
  EXPECT_EQ(config_to_yaml(parse_ok("bridges:\n  - name: lxdbr0\n")).find("flow_table"), std::string::npos)
      << "defaults are not written";

  BridgeState st;
  st.bridge = "lxdbr0";
  st.attach = c.bridges[0].attach;
  EXPECT_EQ(spec_of_state(st).attach, c.bridges[0].attach) << "export carries them";
  BridgeSpec defaults = c.bridges[0];
  defaults.attach = AttachSettings{};
  EXPECT_EQ(diff_text(defaults, c.bridges[0]),
            "~ bridge lxdbr0: flow_table 262144 -> 4096\n~ bridge lxdbr0: syn_table 0 -> 1024\n"
            "~ bridge lxdbr0: hairpin_ports 61000-65000 -> 50000-50999\n"
            "~ bridge lxdbr0: host_local true -> false\n");

  EXPECT_NE(parse_error("bridges:\n  - name: lxdbr0\n    flow_table: 10\n").find("flow_table"), std::string::npos);
  const std::string syn = parse_error("bridges:\n  - name: lxdbr0\n    flow_table: 4096\n    syn_table: 8192\n");
  EXPECT_NE(syn.find("syn_table: SYN table size 8192 is larger than the flow table (4096"), std::string::npos) << syn;
  EXPECT_NE(parse_error("bridges:\n  - name: lxdbr0\n    syn_table: 100\n").find("is below 256"), std::string::npos);
  EXPECT_NE(parse_error("bridges:\n  - name: lxdbr0\n    hairpin_ports: 61000\n").find("hairpin_ports"), std::string::npos);
}
