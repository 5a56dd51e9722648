// Saved bridge state: JSON round trip, defaults and errors, atomic save, the lock, id reuse.
#include "core/state.h"

#include "temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xdplb/abi.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace xdplb {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::TempDir;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

SavedBackend backend(uint32_t id, std::string name, const char* source, IpAddress a, uint16_t port,
                     uint32_t weight, bool fast_path_disabled) {
  SavedBackend b;
  b.id = id;
  b.name = std::move(name);
  b.source = *parse_name<BackendSource>(source);
  b.addr = a;
  b.family = a.is_v6() ? 6 : 4;
  b.port = port;
  b.weight = weight;
  b.fast_path_disabled = fast_path_disabled;
  return b;
}

BridgeState sample() {
  BridgeState s;
  s.bridge = "lxdbr0";
  s.uplinks = {"eth0", "eth1"};
  s.xdp_modes = {{"eth1", XdpMode::Generic}, {"eth0", XdpMode::Native}};  // order is kept
  s.xdp_mode = XdpMode::Native;
  ServiceConfig web;
  web.port = 8080;
  web.port_last = 8080;
  web.backend_port = 8081;
  web.protos = ProtoSet::Tcp;
  web.scheduler = Scheduler::LeastConn;
  ServiceConfig dns;
  dns.name = "dns";
  dns.slot = 3;
  dns.port = 5300;
  dns.port_last = 5309;
  dns.backend_port = 5400;
  dns.backend_port_last = 5409;  // range -> range
  dns.protos = ProtoSet::Udp;
  dns.listen = {addr("10.0.0.53"), addr("fd00::53")};
  dns.affinity = Affinity::Source;
  dns.health_check.type = CheckType::None;
  s.services = {web, dns};
  s.backends = {
      backend(0, "web1", "lxd", addr("10.0.3.11"), 80, 1, false),
      backend(3, "", "addr", addr("fd42::12"), 8080, 7, true),
      backend(5, "lxc1", "lxc", IpAddress{}, 80, 1000, false),  // container without an address yet
  };
  s.backends[1].service = "dns";
  s.backends.push_back(backend(6, "web9", "auto", IpAddress{}, 80, 1, false));  // not found yet: down
  s.backends.back().path = BackendPath::Down;
  s.backends[1].backup = true;
  s.backends[0].health = Health::Down;
  s.backends[0].path = BackendPath::Redirect;
  s.next_backend_id = 6;
  s.attach = AttachSettings{4096, 50000, 50999, false, 1024};
  return s;
}

TEST(StateJson, RoundTrip) {
  const BridgeState s = sample();
  auto back = state_from_json(state_to_json(s), "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, s);
  auto j = nlohmann::json::parse(state_to_json(s));
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["backends"][1]["addr"], "fd42::12");
  EXPECT_EQ(j["backends"][1]["service"], "dns");
  EXPECT_EQ(j["backends"][2]["addr"], "");
  EXPECT_EQ(j["backends"][0]["health"], "down");
  EXPECT_EQ(j["services"][0]["scheduler"], "least-conn");
  EXPECT_EQ(j["services"][1]["affinity"], "source");
  EXPECT_EQ(j["services"][1]["port_last"], 5309);
  EXPECT_EQ(j["flow_table"], 4096);
  EXPECT_EQ(j["hairpin_ports"], "50000-50999");
  EXPECT_EQ(j["host_local"], false);
  EXPECT_EQ(j["syn_table"], 1024);
  // A SYN table larger than the flow table is refused, naming the key.
  j["syn_table"] = 8192;
  auto too_big = state_from_json(j.dump(), "test");
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().find("\"syn_table\": SYN table size 8192 is larger than the flow table (4096"),
            std::string::npos)
      << too_big.error();
  // A file from before the attach settings: the defaults attach had then.
  j.erase("flow_table");
  j.erase("hairpin_ports");
  j.erase("host_local");
  j.erase("syn_table");
  auto old = state_from_json(j.dump(), "test");
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ(old->attach, AttachSettings{});
  EXPECT_EQ(old->attach.syn_table, 0u) << "no syn_table: the flow table's share";
  j["hairpin_ports"] = "61000";
  auto bad = state_from_json(j.dump(), "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("hairpin_ports"), std::string::npos) << bad.error();
}

// reverse_new's size: the flow table's share (at least XDPLB_MIN_FLOWS) unless given; a given
// size within XDPLB_MIN_FLOWS..the flow table; the errors say what to give instead.
TEST(TableSizes, SynTableShareAndLimits) {
  EXPECT_EQ(syn_table_entries(XDPLB_MAX_FLOWS, 0), XDPLB_MAX_FLOWS / XDPLB_SYN_TABLE_SHARE);
  EXPECT_EQ(syn_table_entries(1024, 0), uint32_t{XDPLB_MIN_FLOWS}) << "never below the minimum";
  EXPECT_EQ(syn_table_entries(4096, 300), 300u);
  EXPECT_TRUE(check_table_sizes(4096, 0));
  EXPECT_TRUE(check_table_sizes(4096, XDPLB_MIN_FLOWS));
  EXPECT_TRUE(check_table_sizes(4096, 4096));
  auto small = check_table_sizes(4096, XDPLB_MIN_FLOWS - 1);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error(), "SYN table size 255 is below 256: give 256..4096, or 0 for 1/8 of the flow table (512)");
  auto big = check_table_sizes(4096, 4097);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error(),
            "SYN table size 4097 is larger than the flow table (4096 entries): give at most the flow table's "
            "size, a larger flow table, or 0 for 1/8 of it (512)");
  auto flows = check_table_sizes(XDPLB_MIN_FLOWS - 1, 0);
  ASSERT_FALSE(flows);
  EXPECT_EQ(flows.error(), "flow table size 255 is out of range (256..16777216)");
  EXPECT_FALSE(check_table_sizes(kMaxFlowTable + 1, 0));
}

TEST(StateJson, SchedulerIsCheckedAndWrittenInItsOwnSpelling) {
  auto s = state_from_json(R"({"scheduler": "Round-Robin"})", "test");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->services.at(0).scheduler, Scheduler::RoundRobin);
  auto bad = state_from_json(R"({"scheduler": "random"})", "/var/lib/xdplb/br0.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("\"scheduler\": scheduler 'random' is not known"), std::string::npos) << bad.error();
}

TEST(StateJson, MissingKeysTakeDefaultsAndUnknownKeysAreIgnored) {
  auto s = state_from_json(R"({"bridge": "br0", "future_field": {"x": [1, 2]},
                               "backends": [{"id": 2, "addr": "10.0.3.5", "later": true}]})",
                           "test");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->bridge, "br0");
  ASSERT_EQ(s->services.size(), 1u);  // no version: version 1, one implicit service
  EXPECT_EQ(s->services[0].name, "default");
  EXPECT_EQ(s->services[0].port, 8000);
  EXPECT_EQ(s->services[0].backend_port, 80);
  EXPECT_EQ(s->services[0].protos, ProtoSet::Both);
  EXPECT_EQ(s->xdp_mode, XdpMode::Auto);
  EXPECT_EQ(s->services[0].scheduler, Scheduler::Maglev);
  EXPECT_TRUE(s->uplinks.empty());
  ASSERT_EQ(s->backends.size(), 1u);
  const SavedBackend& b = s->backends[0];
  EXPECT_EQ(b.id, 2u);
  EXPECT_EQ(b.name, "");
  EXPECT_EQ(b.source, BackendSource::Addr);
  EXPECT_EQ(b.addr, addr("10.0.3.5"));
  EXPECT_EQ(b.port, 80);
  EXPECT_EQ(b.weight, 1u);
  EXPECT_FALSE(b.fast_path_disabled);
  EXPECT_TRUE(state_from_json("{}", "test").ok());
}

TEST(StateJson, BadValuesNameTheFieldAndTheFile) {
  auto expect_error = [](const std::string& text, const std::string& part) {
    auto s = state_from_json(text, "/var/lib/xdplb/br0.json");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().find("/var/lib/xdplb/br0.json"), std::string::npos) << s.error();
    EXPECT_NE(s.error().find(part), std::string::npos) << s.error();
  };
  expect_error("{\"port\": 0}", "\"port\" must be a whole number from 1 to 65535");
  expect_error("{\"port\": \"80\"}", "\"port\"");
  expect_error("{\"port\": 65536}", "\"port\"");
  expect_error("{\"tcp\": 1}", "\"tcp\" must be true or false");
  expect_error("{\"uplinks\": \"eth0\"}", "\"uplinks\" must be a list");
  expect_error("{\"uplinks\": [1]}", "\"uplinks\" must be a list of interface names");
  expect_error("{\"xdp_mode\": \"fast\"}", "XDP mode 'fast' is not known");
  expect_error("{\"xdp_modes\": [\"eth0\"]}", "\"xdp_modes\" entries");
  expect_error("{\"version\": 3}", "has version 3, this xdplb reads version 2");
  expect_error("{\"version\": 2, \"services\": [{\"port\": 80}]}", "service #1: \"name\" is missing");
  expect_error("{\"version\": 2, \"services\": [{\"name\": \"a\", \"affinity\": \"sticky\"}]}",
               "affinity 'sticky' is unknown; expected none or source");
  expect_error("{\"version\": 2, \"services\": [{\"name\": \"a\"}, {\"name\": \"a\", \"slot\": 1}]}",
               "service 'a' is there twice");
  expect_error("{\"version\": 2, \"services\": [{\"name\": \"a\"}], \"backends\": [{\"id\": 1, "
               "\"addr\": \"10.0.3.5\", \"service\": \"b\"}]}",
               "belongs to service 'b', which the file does not have");
  expect_error("{\"backends\": [{\"id\": 1, \"addr\": \"10.0.3.5\", \"health\": \"sick\"}]}",
               "health 'sick' is unknown; expected up or down");
  expect_error("{\"backends\": [{\"addr\": \"10.0.3.5\"}]}", "backend #1: \"id\" is missing");
  expect_error("{\"backends\": [{\"id\": 1024, \"addr\": \"10.0.3.5\"}]}", "\"id\" must be");
  expect_error("{\"backends\": [{\"id\": 1, \"addr\": \"10.0.3.500\"}]}", "\"addr\"");
  expect_error("{\"backends\": [{\"id\": 1}]}", "neither \"addr\" nor \"name\"");
  expect_error("{\"backends\": [{\"id\": 1, \"addr\": \"10.0.3.5\", \"weight\": 0}]}", "\"weight\"");
  expect_error("{\"backends\": [{\"id\": 1, \"name\": \"a\", \"source\": \"docker\"}]}",
               "source 'docker' is unknown; expected addr, auto, lxd or lxc");
  expect_error("{\"backends\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 1, \"name\": \"b\"}]}",
               "backend id 1 is used twice");
  expect_error("{\"backends\": [5]}", "backend #1: must be an object");
  expect_error("{\"bridge\": \"../x\"}", "\"bridge\"");
  expect_error("[1, 2]", "is not a JSON object");
}

TEST(StateFile, SaveLoadRoundTrip) {
  TempDir dir;
  const std::string state_dir = dir.sub("state");  // does not exist yet: save creates it
  auto none = load_state(state_dir, "lxdbr0");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(save_state(state_dir, sample()).ok());
  auto loaded = load_state(state_dir, "lxdbr0");
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, sample());
  EXPECT_EQ(fs::status(state_file(state_dir, "lxdbr0")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write)
      << "0600: only root reads a bridge's state";
}

TEST(StateFile, CorruptFileGivesAnErrorNamingTheFile) {
  TempDir dir;
  const std::string path = state_file(dir.path(), "br0");
  write_file(path, "{\"bridge\": \"br0\", \"port\": 80");  // truncated
  auto r = load_state(dir.path(), "br0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(path), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("not valid JSON"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("move it away"), std::string::npos) << r.error();

  write_file(path, "");
  r = load_state(dir.path(), "br0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(path), std::string::npos) << r.error();
}

TEST(StateFile, FileForAnotherBridgeIsRejected) {
  TempDir dir;
  BridgeState s = sample();
  ASSERT_TRUE(save_state(dir.path(), s).ok());
  fs::rename(state_file(dir.path(), "lxdbr0"), state_file(dir.path(), "br1"));
  auto r = load_state(dir.path(), "br1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("is for bridge 'lxdbr0', not 'br1'"), std::string::npos) << r.error();
}

TEST(StateFile, MissingBridgeFieldTakesTheFileName) {
  TempDir dir;
  write_file(state_file(dir.path(), "br2"), "{\"port\": 9000}");
  auto r = load_state(dir.path(), "br2");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)->bridge, "br2");
  EXPECT_EQ((*r)->services.at(0).port, 9000);
}

TEST(StateFile, BadBridgeNamesAreRefusedBeforeTouchingFiles) {
  TempDir dir;
  EXPECT_FALSE(load_state(dir.path(), "../etc/passwd").ok());
  BridgeState s;
  s.bridge = "a/b";
  EXPECT_FALSE(save_state(dir.path(), s).ok());
  s.bridge = "";
  EXPECT_FALSE(save_state(dir.path(), s).ok());
  EXPECT_FALSE(remove_state(dir.path(), "..").ok());
  EXPECT_FALSE(StateLock::acquire(dir.path(), "x/y", 10ms).ok());
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(StateFile, SaveReplacesTheFileWithoutWritingIntoIt) {
  TempDir dir;
  BridgeState a = sample();
  ASSERT_TRUE(save_state(dir.path(), a).ok());
  const std::string path = state_file(dir.path(), "lxdbr0");
  const std::string old_text = read_file(path);
  // A reader that opened the old file keeps seeing the complete old content: the new state
  // arrives by rename, never by rewriting the old file in place.
  int old_fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  BridgeState b = a;
  b.services[0].port = b.services[0].port_last = 9999;
  b.backends.pop_back();
  ASSERT_TRUE(save_state(dir.path(), b).ok());
  std::string seen(old_text.size() + 100, '\0');
  ssize_t n = ::pread(old_fd, seen.data(), seen.size(), 0);
  ::close(old_fd);
  ASSERT_GE(n, 0);
  seen.resize(static_cast<size_t>(n));
  EXPECT_EQ(seen, old_text);
  EXPECT_EQ(**load_state(dir.path(), "lxdbr0"), b);
  // No temp file left behind.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(e.path().filename(), "lxdbr0.json");
  }
  EXPECT_EQ(files, 1u);
}

TEST(StateFile, ConcurrentReadersNeverSeeAPartialFile) {
  TempDir dir;
  BridgeState small = sample();
  BridgeState large = sample();
  for (uint32_t i = 10; i < 400; ++i)
    large.backends.push_back(backend(i, "web" + std::to_string(i), "lxd", addr("10.0.3.11"), 80, 1, false));
  ASSERT_TRUE(save_state(dir.path(), small).ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    while (!done && reads < 100000) {
      auto r = load_state(dir.path(), "lxdbr0");
      if (!r.ok() || !r->has_value() || (**r != small && **r != large)) ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(save_state(dir.path(), i % 2 ? small : large).ok());
  done = true;
  reader.join();
  EXPECT_EQ(bad, 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
}

TEST(StateFile, ListAndRemove) {
  TempDir dir;
  auto empty = list_bridges(dir.sub("missing"));
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->empty());
  for (const char* name : {"br1", "lxdbr0", "br0"}) {
    BridgeState s;
    s.bridge = name;
    ASSERT_TRUE(save_state(dir.path(), s).ok());
  }
  write_file(dir.sub(".br9.json.tmp-abcdef"), "{}");  // a crashed save's temp file
  write_file(dir.sub("notes.txt"), "x");
  { auto lock = StateLock::acquire(dir.path(), "br0", 100ms); ASSERT_TRUE(lock.ok()); }
  auto list = list_bridges(dir.path());
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(*list, (std::vector<std::string>{"br0", "br1", "lxdbr0"}));

  ASSERT_TRUE(remove_state(dir.path(), "br1").ok());
  ASSERT_TRUE(remove_state(dir.path(), "br1").ok());  // already gone: fine
  EXPECT_EQ(*list_bridges(dir.path()), (std::vector<std::string>{"br0", "lxdbr0"}));
  auto gone = load_state(dir.path(), "br1");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST(BackendIds, SmallestFreeIdIsReused) {
  BridgeState s;
  s.bridge = "br0";
  EXPECT_EQ(*allocate_backend_id(s), 0u);
  s.backends = {backend(0, "a", "lxd", {}, 80, 1, false), backend(1, "b", "lxd", {}, 80, 1, false),
                backend(3, "c", "lxd", {}, 80, 1, false)};
  EXPECT_EQ(*allocate_backend_id(s), 2u);
  s.backends.erase(s.backends.begin());  // remove id 0
  EXPECT_EQ(*allocate_backend_id(s), 0u);
  s.backends.clear();
  for (uint32_t i = 0; i < XDPLB_MAX_BACKENDS; ++i) s.backends.push_back(backend(i, "", "addr", {}, 80, 1, false));
  auto full = allocate_backend_id(s);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find("all 1024 backend ids of bridge br0 are in use"), std::string::npos)
      << full.error();
  s.backends.erase(s.backends.begin() + 700);
  EXPECT_EQ(*allocate_backend_id(s), 700u);
}

TEST(StateLock, ExcludesASecondLockerInTheSameProcess) {
  TempDir dir;
  auto first = StateLock::acquire(dir.path(), "br0", 100ms);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->path(), dir.sub("br0.lock"));
  // A second open file description (as another command would have) must wait and time out.
  const auto start = std::chrono::steady_clock::now();
  auto second = StateLock::acquire(dir.path(), "br0", 200ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(second.ok());
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 5s);
  EXPECT_NE(second.error().find("bridge br0 is busy"), std::string::npos) << second.error();
  EXPECT_NE(second.error().find("(pid " + std::to_string(getpid()) + ")"), std::string::npos)
      << second.error();
  EXPECT_NE(second.error().find(dir.sub("br0.lock")), std::string::npos) << second.error();
  // Another bridge has its own lock.
  EXPECT_TRUE(StateLock::acquire(dir.path(), "br1", 100ms).ok());
}

TEST(StateLock, WaiterGetsTheLockWhenTheHolderReleasesIt) {
  TempDir dir;
  std::optional<Result<StateLock>> held(StateLock::acquire(dir.path(), "br0", 100ms));
  ASSERT_TRUE(held->ok());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto l = StateLock::acquire(dir.path(), "br0", 5s);
    got = l.ok();
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(got) << "the waiter got a lock that was held";
  held.reset();  // release
  waiter.join();
  EXPECT_TRUE(got);
}

TEST(StateLock, ExcludesAnotherProcess) {
  TempDir dir;
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Child: take the lock, say so, hold it until told to stop (or 10 s at most).
    auto l = StateLock::acquire(dir.path(), "br0", 1s);
    char c = l.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    struct timeval tv {10, 0};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(go[0], &fds);
    select(go[0] + 1, &fds, nullptr, nullptr, &tv);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  auto mine = StateLock::acquire(dir.path(), "br0", 150ms);
  EXPECT_FALSE(mine.ok());
  if (!mine.ok()) {
    EXPECT_NE(mine.error().find("(pid " + std::to_string(child) + ")"), std::string::npos)
        << mine.error();
  }
  (void)!write(go[1], "x", 1);
  int status = 0;
  waitpid(child, &status, 0);
  auto after = StateLock::acquire(dir.path(), "br0", 1s);
  EXPECT_TRUE(after.ok()) << (after.ok() ? "" : after.error());
  for (int fd : {ready[0], ready[1], go[0], go[1]}) close(fd);
}

TEST(StateJson, FamilyOfANamedBackendWithoutAddressRoundTrips) {
  BridgeState s = sample();
  SavedBackend b = backend(40, "web6", "lxd", IpAddress{}, 80, 1, false);
  b.family = 6;  // the IPv6 entry of a container whose IPv6 address has not come up yet
  s.backends.push_back(b);
  auto back = state_from_json(state_to_json(s), "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->backends.back().family, 6);
  EXPECT_EQ(*back, s);
}

TEST(StateJson, FilesWithoutFamilyTakeTheAddressFamilyElseIpv4) {
  auto back = state_from_json(R"({"version":1,"bridge":"br0","backends":[
      {"id":0,"name":"","source":"addr","addr":"fd00::5"},
      {"id":1,"name":"web1","source":"lxd","addr":""}]})", "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->backends[0].family, 6);
  EXPECT_EQ(back->backends[1].family, 4);
}

TEST(StateJson, RefusesAFamilyThatContradictsTheAddress) {
  auto back = state_from_json(R"({"version":1,"bridge":"br0","backends":[
      {"id":0,"name":"","source":"addr","addr":"10.0.0.5","family":6}]})", "test");
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().find("not an IPv6 address"), std::string::npos) << back.error();
}

}  // namespace
}  // namespace xdplb

namespace xdplb {
namespace {

// tests/unit/data/state_v1.json was written by state_to_json of the version-1 code (commit
// f54e173): one implicit service with its settings at the top level.
TEST(StateMigration, VersionOneFileBecomesOneDefaultService) {
  const std::string text = read_file(std::string(XDPLB_TEST_DATA) + "/state_v1.json");
  ASSERT_FALSE(text.empty());
  auto s = state_from_json(text, "state_v1.json");
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->services.size(), 1u);
  const ServiceConfig& svc = s->services[0];
  EXPECT_EQ(svc.name, "default");
  EXPECT_EQ(svc.slot, 0u) << "pools 0 and 1, as version 1 used";
  EXPECT_EQ(svc.port, 9000);
  EXPECT_EQ(svc.port_last, 9000);
  EXPECT_EQ(svc.backend_port, 8080);
  EXPECT_EQ(svc.protos, ProtoSet::Tcp);
  EXPECT_EQ(svc.scheduler, Scheduler::LeastConn);
  EXPECT_EQ(svc.affinity, Affinity::None);
  EXPECT_TRUE(svc.listen.empty());
  EXPECT_EQ(svc.health_check.type, CheckType::Http);
  EXPECT_EQ(svc.health_check.http_path, "/healthz");
  EXPECT_EQ(svc.health_check.rise, 3u);
  ASSERT_EQ(s->backends.size(), 2u);
  EXPECT_EQ(s->backends[0].service, "default");
  EXPECT_EQ(s->backends[0].path, BackendPath::Redirect);
  EXPECT_EQ(s->backends[0].health, Health::Up);
  EXPECT_EQ(s->backends[1].service, "default");
  EXPECT_EQ(s->backends[1].health, Health::Down);
  EXPECT_TRUE(s->backends[1].drained);
  EXPECT_FALSE(s->backends[1].backup);
  // Written back as version 2, it reads the same.
  auto again = state_from_json(state_to_json(*s), "v2");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *s);
  EXPECT_EQ(nlohmann::json::parse(state_to_json(*s))["version"], 2);
}

TEST(StateMigration, VersionOneUdpOnlyServiceStartsWithoutChecks) {
  auto s = state_from_json(R"({"version": 1, "tcp": false, "udp": true})", "t");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->services.at(0).health_check.type, CheckType::None) << "a TCP probe of a UDP port fails";
}

TEST(ServiceNames, ChooseServiceNeedsANameOnlyWhenThereAreSeveral) {
  BridgeState s;
  s.bridge = "br0";
  s.services.emplace_back();
  auto one = choose_service(s, std::nullopt);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)->name, "default");
  ServiceConfig dns;
  dns.name = "dns";
  dns.slot = 1;
  s.services.push_back(dns);
  auto none = choose_service(s, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), "bridge br0 has several services (default, dns): pick one with --service");
  auto bad = choose_service(s, std::string("web"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "bridge br0 has no service 'web'; its services: default, dns");
  EXPECT_EQ((*choose_service(s, std::string("dns")))->slot, 1u);
}

TEST(ServiceNames, SlotsRunOutAtTheMapLimit) {
  BridgeState s;
  s.bridge = "br0";
  for (uint32_t i = 0; i < XDPLB_MAX_SERVICE_OBJECTS; ++i) {
    auto slot = allocate_service_slot(s);
    ASSERT_TRUE(slot.ok()) << slot.error();
    EXPECT_EQ(*slot, i);
    ServiceConfig svc;
    svc.name = "s" + std::to_string(i);
    svc.slot = *slot;
    s.services.push_back(svc);
  }
  auto full = allocate_service_slot(s);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().find("already has 16 services"), std::string::npos) << full.error();
}

}  // namespace
}  // namespace xdplb

namespace xdplb {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st{};
  ::lstat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(StateFiles, DirIsMadePrivateAndFilesAre0600) {
  test::TempDir dir;
  const std::string state = dir.sub("state");
  BridgeState s;
  s.bridge = "dmbr0";
  ASSERT_TRUE(save_state(state, s).ok());
  EXPECT_EQ(mode_of(state), 0700u) << "a new state dir is 0700";
  EXPECT_EQ(mode_of(state_file(state, "dmbr0")), 0600u) << "the state file is 0600";
  auto lock = StateLock::acquire(state, "dmbr0");
  ASSERT_TRUE(lock.ok()) << lock.error();
  EXPECT_EQ(mode_of(lock->path()), 0600u) << "the lock file is 0600";
}

TEST(StateFiles, ADirOthersMayWriteIsRefused) {
  test::TempDir dir;
  const std::string state = dir.sub("state");
  ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(state.c_str(), 0777), 0);
  auto st = ensure_state_dir(state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("may be written by others (mode 0777): `chmod 0700 " + state + "`"), std::string::npos)
      << st.error();
  BridgeState s;
  s.bridge = "dmbr0";
  EXPECT_FALSE(save_state(state, s).ok());
  EXPECT_FALSE(StateLock::acquire(state, "dmbr0").ok());
  ASSERT_EQ(::chmod(state.c_str(), 0755), 0);
  EXPECT_TRUE(ensure_state_dir(state).ok()) << "0755 (an older install): written by its owner only";
}

TEST(StateFiles, ASymlinkInPlaceOfAFileIsNotFollowed) {
  test::TempDir dir;
  const std::string state = dir.sub("state");
  ASSERT_TRUE(ensure_state_dir(state).ok());
  const std::string target = dir.sub("elsewhere");
  ASSERT_EQ(::symlink(target.c_str(), (state + "/dmbr0.lock").c_str()), 0);
  auto lock = StateLock::acquire(state, "dmbr0", std::chrono::milliseconds(0));
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().find("a symlink: remove it"), std::string::npos) << lock.error();
  struct stat st{};
  EXPECT_NE(::stat(target.c_str(), &st), 0) << "nothing created through the link";
}

}  // namespace
}  // namespace xdplb
