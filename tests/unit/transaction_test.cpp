// The one change path: a fake MapWriter (the only seam) fails each write in turn; every time
// the maps must end as they were and the state file must not change. A failing save rolls the
// maps back too.
#include "lb/transaction.h"

#include "temp_dir.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>

namespace xdplb {
namespace {
namespace fs = std::filesystem;

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

// The maps as plain values; write number `fail_at` (counting from 1) fails once.
struct FakeMaps final : MapWriter {
  std::map<ServiceKey, ServiceValue> services;
  std::map<ServiceKey, ReplyNat> reply_nats;
  std::map<uint32_t, PoolPlan> pools;
  std::map<uint32_t, BackendEntry> backends;
  std::map<uint32_t, BackendTally> tallies;  // as the datapath resets them
  uint32_t settings = 0;
  int writes = 0;     // every call, reads too (each can fail)
  int mutations = 0;  // the calls that change a map
  int fail_at = 0;
  // What the last transaction told the writer the pools hold (MapWriter::assume_pools).
  std::optional<std::map<uint32_t, PoolPlan>> assumed;

  void assume_pools(const std::map<uint32_t, PoolPlan>& p) override { assumed = p; }

  Status step(const char* what) {
    if (++writes == fail_at) return make_error(std::string("injected failure: ") + what);
    return {};
  }
  // A keyed map's put, delete and read, each one step.
  template <typename V>
  Status put_in(std::map<ServiceKey, V>& map, const char* what, const ServiceKey& key, const V& value) {
    XDPLB_TRY(step(what));
    ++mutations;
    map[key] = value;
    return {};
  }
  template <typename V>
  Status erase_in(std::map<ServiceKey, V>& map, const char* what, const ServiceKey& key) {
    XDPLB_TRY(step(what));
    ++mutations;
    map.erase(key);
    return {};
  }
  template <typename V>
  Result<std::map<ServiceKey, V>> read_in(const std::map<ServiceKey, V>& map, const char* what) {
    XDPLB_TRY(step(what));
    return map;
  }
  Status put_service(const ServiceKey& key, const ServiceValue& value) override {
    return put_in(services, "put_service", key, value);
  }
  Status delete_service(const ServiceKey& key) override { return erase_in(services, "delete_service", key); }
  Result<std::map<ServiceKey, ServiceValue>> read_services() override { return read_in(services, "read_services"); }
  Status put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) override {
    return put_in(reply_nats, "put_reply_nat", endpoint, nat);
  }
  Status delete_reply_nat(const ServiceKey& endpoint) override {
    return erase_in(reply_nats, "delete_reply_nat", endpoint);
  }
  Result<std::map<ServiceKey, ReplyNat>> read_reply_nats() override { return read_in(reply_nats, "read_reply_nats"); }
  Status write_pool(uint32_t pool, const PoolPlan& plan) override {
    XDPLB_TRY(step("write_pool"));
    ++mutations;
    if (plan.members.empty()) pools.erase(pool);
    else pools[pool] = plan;
    return {};
  }
  Result<std::vector<PoolMember>> read_pool(uint32_t pool) override {
    XDPLB_TRY(step("read_pool"));
    std::vector<PoolMember> out;
    if (auto it = pools.find(pool); it != pools.end())
      for (const auto& m : it->second.members) out.push_back({m.id, m.weight});
    return out;
  }
  Result<BackendEntry> read_backend(uint32_t id) override {
    XDPLB_TRY(step("read_backend"));
    auto it = backends.find(id);
    return it == backends.end() ? BackendEntry{IpAddress{}, 0, false} : it->second;
  }
  Status put_backend(uint32_t id, const BackendEntry& entry) override {
    XDPLB_TRY(step("put_backend"));
    ++mutations;
    backends[id] = entry;
    return {};
  }
  Status delete_backend(uint32_t id) override {
    XDPLB_TRY(step("delete_backend"));
    ++mutations;
    auto it = backends.find(id);
    if (it != backends.end()) it->second.active = false;  // the address stays, as in the real map
    tallies[id].stats.assign(tallies[id].stats.size(), 0);  // counters zeroed
    return {};
  }
  Status take_backend_id(uint32_t id) override {
    XDPLB_TRY(step("take_backend_id"));
    ++mutations;
    tallies[id].connections = 0;
    tallies[id].gen += 1;
    return {};
  }
  Result<BackendTally> read_tally(uint32_t id) override {
    XDPLB_TRY(step("read_tally"));
    return tallies[id];
  }
  Status restore_tally(uint32_t id, const BackendTally& t) override {
    XDPLB_TRY(step("restore_tally"));
    ++mutations;
    tallies[id] = t;
    return {};
  }
  Result<uint32_t> read_settings() override {
    XDPLB_TRY(step("read_settings"));
    return settings;
  }
  Status put_settings(uint32_t flags) override {
    XDPLB_TRY(step("put_settings"));
    ++mutations;
    settings = flags;
    return {};
  }

  // What the datapath acts on: service entries, pools, and the active backend entries. (An
  // inactive entry may keep its address, as the real map does after delete_backend.)
  bool same_maps(const FakeMaps& o) const {
    auto active = [](const FakeMaps& m) {
      std::map<uint32_t, std::pair<IpAddress, uint16_t>> out;
      for (const auto& [id, e] : m.backends)
        if (e.active) out[id] = {e.addr, e.port};
      return out;
    };
    return services == o.services && reply_nats == o.reply_nats && pools == o.pools && active(*this) == active(o) &&
           settings == o.settings;
  }
};

using test::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

BackendEntry entry(const char* a, bool active = true) { return BackendEntry{addr(a), 80, active}; }

SavedBackend backend(uint32_t id, const char* service, const char* a) {
  SavedBackend b;
  b.id = id;
  b.service = service;
  b.addr = addr(a);
  b.port = 80;
  return b;
}

class Transaction : public ::testing::Test {
 protected:
  void SetUp() override {
    // Attach-like first transaction: two services, three backends.
    auto t = options(maps);
    t.create = true;
    t.fresh_maps = true;
    auto s = run_transaction(t, [](BridgeState& s, EntryChanges& e) -> Status {
      ServiceConfig web;
      web.name = "web";
      web.protos = ProtoSet::Tcp;
      ServiceConfig dns;
      dns.name = "dns";
      dns.slot = 1;
      dns.port = dns.port_last = 5353;
      dns.backend_port = 53;
      dns.protos = ProtoSet::Udp;
      s.services = {web, dns};
      s.backends = {backend(0, "web", "10.0.3.11"), backend(1, "web", "10.0.3.12"), backend(2, "dns", "10.0.3.21")};
      for (const auto& b : s.backends) e.put[b.id] = entry(b.addr.to_string().c_str());
      return {};
    });
    ASSERT_TRUE(s.ok()) << s.error();
    file = state_file(dir.path(), "svbr0");
    before_text = read_file(file);
    ASSERT_EQ(maps.services.size(), 4u);  // 2 addresses x (web/tcp, dns/udp)
    // Backend 1 (removed by big_change) has served traffic; id 3 (given to a new backend by
    // it) still counts connections and has the generation of its earlier backend. A rollback
    // must put both back as they were.
    maps.tallies[1] = BackendTally{{5, 500, 2, 7, 700, 1}, 3, 4};
    maps.tallies[3] = BackendTally{{0, 0, 0, 0, 0, 0}, 2, 9};
  }

  TransactionOptions options(MapWriter& m) {
    TransactionOptions t;
    t.state_dir = dir.path();
    t.bridge = "svbr0";
    t.maps = &m;
    t.default_addresses = [](const BridgeState&) -> Result<std::vector<IpAddress>> {
      return std::vector<IpAddress>{addr("192.0.2.1"), addr("10.0.3.1")};
    };
    return t;
  }

  // A change that touches every kind of write: a new backend (reset, put, pool; routed, so
  // the settings turn routed replies on), one gone (pool, delete), a scheduler change
  // (service entries) and a service's port (add + delete).
  static Status big_change(BridgeState& s, EntryChanges& e) {
    s.backends.push_back(backend(3, "web", "10.0.3.13"));
    s.backends.back().path = BackendPath::Routed;
    e.new_ids.insert(3);
    e.put[3] = entry("10.0.3.13");
    std::erase_if(s.backends, [](const SavedBackend& b) { return b.id == 1; });
    e.remove.insert(1);
    s.services[0].scheduler = Scheduler::RoundRobin;
    s.services[1].port = s.services[1].port_last = 5354;
    return {};
  }

  // Runs `change` once on a copy of the maps to count its writes, then again with each write
  // failing in turn: every time the maps, counters and state file stay as they were. Returns
  // the count.
  int fail_each_write(const ChangeFn& change) {
    FakeMaps dry = maps;
    dry.writes = 0;
    EXPECT_TRUE(run_transaction(options(dry), change).ok());
    const int total = dry.writes;
    // Put the file back (the dry run saved it).
    std::ofstream(file, std::ios::binary | std::ios::trunc) << before_text;
    for (int k = 1; k <= total; ++k) {
      SCOPED_TRACE("failing write " + std::to_string(k) + " of " + std::to_string(total));
      FakeMaps m = maps;
      m.writes = 0;
      m.fail_at = k;
      auto s = run_transaction(options(m), change);
      EXPECT_FALSE(s.ok());
      if (s.ok()) continue;
      EXPECT_NE(s.error().find("injected failure"), std::string::npos) << s.error();
      EXPECT_TRUE(m.same_maps(maps)) << "maps not rolled back";
      EXPECT_EQ(m.tallies, maps.tallies) << "counters, connections or generations not put back";
      EXPECT_EQ(read_file(file), before_text) << "state saved although a write failed";
    }
    return total;
  }

  TempDir dir;
  FakeMaps maps;
  std::string file;
  std::string before_text;
};

TEST_F(Transaction, AppliesAChangeAndSavesIt) {
  auto s = run_transaction(options(maps), big_change);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(maps.services.at({addr("192.0.2.1"), 8000, IPPROTO_TCP}).scheduler, uint32_t{XDPLB_SCHED_ROUND_ROBIN});
  EXPECT_EQ(maps.services.count({addr("192.0.2.1"), 5353, IPPROTO_UDP}), 0u);
  EXPECT_EQ(maps.services.count({addr("192.0.2.1"), 5354, IPPROTO_UDP}), 1u);
  ASSERT_EQ(maps.pools.at(0).members.size(), 2u);
  EXPECT_EQ(maps.pools.at(0).members[1].id, 3u);
  EXPECT_FALSE(maps.backends.at(1).active);
  EXPECT_TRUE(maps.backends.at(3).active);
  EXPECT_EQ(maps.settings, uint32_t{XDPLB_SETTING_ROUTED_REPLIES}) << "a routed backend came";
  auto saved = load_state(dir.path(), "svbr0");
  ASSERT_TRUE(saved.ok() && saved->has_value());
  EXPECT_EQ(**saved, *s);
}

TEST_F(Transaction, RoutedRepliesAreOnWhileARoutedBackendIsThere) {
  EXPECT_EQ(maps.settings, 0u) << "no routed backend: the uplinks skip the routed-reply check";
  ASSERT_TRUE(run_transaction(options(maps), big_change).ok());
  ASSERT_EQ(maps.settings, uint32_t{XDPLB_SETTING_ROUTED_REPLIES});
  // Drained or failing health, it still has flows whose replies come back on an uplink.
  ASSERT_TRUE(run_transaction(options(maps), [](BridgeState& s, EntryChanges&) -> Status {
                s.backends.back().drained = true;
                return {};
              }).ok());
  EXPECT_EQ(maps.settings, uint32_t{XDPLB_SETTING_ROUTED_REPLIES});
  ASSERT_TRUE(run_transaction(options(maps), [](BridgeState& s, EntryChanges& e) -> Status {
                std::erase_if(s.backends, [](const SavedBackend& b) { return b.id == 3; });
                e.remove.insert(3);
                return {};
              }).ok());
  EXPECT_EQ(maps.settings, 0u) << "the last routed backend left";
}

TEST_F(Transaction, AChangeThatLeavesTheStateWritesTheMapsOnly) {
  // The daemon's slow-start steps: weights move in the maps, the state file stays untouched.
  const auto stamp = fs::last_write_time(file);
  const auto ino = [&] {
    struct stat st{};
    ::stat(file.c_str(), &st);
    return st.st_ino;
  };
  const auto inode = ino();
  auto t = options(maps);
  t.weight_of = [](const SavedBackend& b) { return b.id == 0 ? 7u : b.weight; };
  auto s = run_transaction(t, [](BridgeState&, EntryChanges&) -> Status { return {}; });
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(maps.pools.at(0).members[0].weight, 7u) << "the ramped weight is in the member list";
  EXPECT_EQ(ino(), inode) << "no new state file (saves rename a fresh one in)";
  EXPECT_EQ(fs::last_write_time(file), stamp);
  EXPECT_EQ(read_file(file), before_text);
}

TEST_F(Transaction, EveryFailingWriteLeavesMapsAndFileAsTheyWere) {
  const int total = fail_each_write(big_change);
  EXPECT_GT(total, 8) << "the change writes entries, pools and services";
}

// A routed backend's reply NAT goes in with the change that adds it (and is taken back when a
// later write fails), and leaves with the backend.
TEST_F(Transaction, RoutedBackendsReplyNatsAreWrittenAndRolledBack) {
  const ServiceKey endpoint{addr("172.16.0.10"), 80, IPPROTO_TCP};
  const auto add_routed = [](BridgeState& s, EntryChanges& e) -> Status {
    s.services[0].listen = {addr("192.0.2.1")};
    SavedBackend b = backend(3, "web", "172.16.0.10");
    b.path = BackendPath::Routed;
    s.backends.push_back(b);
    e.new_ids.insert(3);
    e.put[3] = entry("172.16.0.10");
    return {};
  };
  fail_each_write(add_routed);
  ASSERT_TRUE(run_transaction(options(maps), add_routed).ok());
  EXPECT_EQ(maps.reply_nats, (std::map<ServiceKey, ReplyNat>{{endpoint, {addr("192.0.2.1"), 8000, false}}}));
  ASSERT_EQ(maps.reply_nats.size(), 1u);
  auto gone = run_transaction(options(maps), [](BridgeState& s, EntryChanges& e) -> Status {
    std::erase_if(s.backends, [](const SavedBackend& b) { return b.id == 3; });
    e.remove.insert(3);
    return {};
  });
  ASSERT_TRUE(gone.ok()) << gone.error();
  EXPECT_TRUE(maps.reply_nats.empty()) << "the removed backend's reply NAT stayed";
}

// The pools that have members (an empty one, as the maps hold it, is absent from FakeMaps).
std::map<uint32_t, PoolPlan> with_members(const std::map<uint32_t, PoolPlan>& pools) {
  std::map<uint32_t, PoolPlan> out;
  for (const auto& [id, plan] : pools)
    if (!plan.members.empty()) out[id] = plan;
  return out;
}

// The writer may write only the ring slots that change, so it is told what the pools hold:
// their members as read, with the keys of the saved state — all of them, nothing else.
TEST_F(Transaction, TellsTheWriterWhatThePoolsHold) {
  const auto pools_before = maps.pools;
  ASSERT_FALSE(pools_before.empty());
  ASSERT_TRUE(run_transaction(options(maps), big_change).ok());
  ASSERT_TRUE(maps.assumed.has_value());
  EXPECT_EQ(with_members(*maps.assumed), pools_before);
  EXPECT_FALSE(rings_unsure(dir.path(), "svbr0")) << "the mark outlived a committed change";
}

// A change whose writes stopped halfway (a failed write, or a crash: the mark stays behind)
// may have left a ring that is not what its member list says; the next change assumes
// nothing (every ring it writes is written whole), and the one after that trusts again.
TEST_F(Transaction, AfterAChangeThatStoppedHalfwayRingsAreWrittenWhole) {
  FakeMaps m = maps;
  m.writes = 0;
  m.fail_at = 12;
  ASSERT_FALSE(run_transaction(options(m), big_change).ok());
  EXPECT_TRUE(rings_unsure(dir.path(), "svbr0")) << "a failed change must leave the mark";
  m.fail_at = 0;
  ASSERT_TRUE(run_transaction(options(m), big_change).ok());
  ASSERT_TRUE(m.assumed.has_value());
  EXPECT_TRUE(m.assumed->empty()) << "trusted the rings after a change that stopped halfway";
  EXPECT_FALSE(rings_unsure(dir.path(), "svbr0"));
  const auto pools_now = m.pools;
  ASSERT_TRUE(run_transaction(options(m), [](BridgeState&, EntryChanges&) { return Status{}; }).ok());
  EXPECT_EQ(with_members(*m.assumed), pools_now);

  // A crash leaves the mark too.
  ASSERT_TRUE(mark_rings_unsure(dir.path(), "svbr0"));
  ASSERT_TRUE(run_transaction(options(m), [](BridgeState&, EntryChanges&) { return Status{}; }).ok());
  EXPECT_TRUE(m.assumed->empty());
}

TEST_F(Transaction, ANewIdAndARemovalResetTheirCounters) {
  FakeMaps m = maps;
  ASSERT_TRUE(run_transaction(options(m), big_change).ok());
  EXPECT_EQ(m.tallies[1].stats, std::vector<uint64_t>(6, 0)) << "a removed backend's counters are zeroed";
  EXPECT_EQ(m.tallies[3].connections, 0) << "a new backend starts with no connections";
  EXPECT_EQ(m.tallies[3].gen, 10u) << "and the next generation";
}

TEST_F(Transaction, FailingSaveRollsTheMapsBack) {
  FakeMaps m = maps;
  auto s = run_transaction(options(m), [&](BridgeState& st, EntryChanges& e) -> Status {
    XDPLB_TRY(big_change(st, e));
    // The disk fails between apply and save: the state file's name is now a directory.
    fs::remove(file);
    fs::create_directory(file);
    std::ofstream(file + "/x") << "x";
    return {};
  });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("cannot save state file"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("the maps are as before"), std::string::npos) << s.error();
  EXPECT_GT(m.writes, 0);
  EXPECT_TRUE(m.same_maps(maps)) << "maps not rolled back after the save failed";
  EXPECT_EQ(m.tallies, maps.tallies) << "counters not put back after the save failed";
}

TEST_F(Transaction, RefusedChangeWritesNothing) {
  FakeMaps m = maps;
  m.writes = 0;
  auto s = run_transaction(options(m), [](BridgeState&, EntryChanges& e) -> Status {
    e.put[9] = entry("10.0.3.99");
    return make_error("no such container");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), "no such container");
  EXPECT_EQ(m.writes, 0);
  EXPECT_EQ(read_file(file), before_text);

  // A conflict found by the plan: refused before the first write.
  auto c = run_transaction(options(m), [](BridgeState& st, EntryChanges&) -> Status {
    st.services[1].port = st.services[1].port_last = 8000;
    st.services[1].protos = ProtoSet::Tcp;
    return {};
  });
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("both claim"), std::string::npos) << c.error();
  EXPECT_EQ(m.writes, 0) << "refused before the maps are touched";
  EXPECT_TRUE(m.same_maps(maps));
  EXPECT_EQ(read_file(file), before_text);
}

// The 257th backend of a pool used to write the ring first and fail on the member list, leaving
// ring slots that named an inactive id: now the plan refuses it before the first write.
TEST_F(Transaction, APoolBeyondItsLimitIsRefusedBeforeAnyWrite) {
  FakeMaps m = maps;
  m.writes = m.mutations = 0;
  auto s = run_transaction(options(m), [](BridgeState& st, EntryChanges& e) -> Status {
    for (uint32_t id = 10; id < 10 + XDPLB_MAX_POOL_MEMBERS; ++id) {  // 2 + 256 in web's pool
      SavedBackend b = backend(id, "web", "10.0.4.0");
      b.addr.bytes[2] = static_cast<uint8_t>(4 + id / 256);
      b.addr.bytes[3] = static_cast<uint8_t>(id % 256);
      st.backends.push_back(b);
      e.put[id] = BackendEntry{b.addr, 80, true};
    }
    return {};
  });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("a pool holds at most 256"), std::string::npos) << s.error();
  EXPECT_EQ(m.writes, 0) << "nothing read or written";
  EXPECT_EQ(read_file(file), before_text);
}

TEST_F(Transaction, AnUnchangedStateWritesNoServiceOrPool) {
  FakeMaps m = maps;
  m.writes = m.mutations = 0;
  ASSERT_TRUE(run_transaction(options(m), [](BridgeState&, EntryChanges&) -> Status { return {}; }).ok());
  EXPECT_EQ(m.mutations, 0) << "only reads";
}

TEST_F(Transaction, WeightsThatChangeWithoutTheStateAreWritten) {
  // The daemon's slow start: the same state, another weight for backend 0.
  auto t = options(maps);
  t.weight_of = [](const SavedBackend& b) { return b.id == 0 ? 500u : b.weight; };
  ASSERT_TRUE(run_transaction(t, [](BridgeState&, EntryChanges&) -> Status { return {}; }).ok());
  EXPECT_EQ(maps.pools.at(0).members.at(0).weight, 500u);
  ASSERT_TRUE(run_transaction(options(maps), [](BridgeState&, EntryChanges&) -> Status { return {}; }).ok());
  EXPECT_EQ(maps.pools.at(0).members.at(0).weight, 1u) << "the ramp over: saved weights back";
}

TEST_F(Transaction, AddressesThatLeftAreRemovedFromTheMaps) {
  auto t = options(maps);
  t.default_addresses = [](const BridgeState&) -> Result<std::vector<IpAddress>> {
    return std::vector<IpAddress>{addr("10.0.3.1")};  // 192.0.2.1 left the uplink
  };
  ASSERT_TRUE(run_transaction(t, [](BridgeState&, EntryChanges&) -> Status { return {}; }).ok());
  EXPECT_EQ(maps.services.size(), 2u);
  EXPECT_EQ(maps.services.count({addr("192.0.2.1"), 8000, IPPROTO_TCP}), 0u);
}

// Several bridges as one change (apply -f): a staged change is applied and saved, and rolled
// back if a later bridge fails, or when it is dropped; commit() keeps it.
TEST_F(Transaction, AStagedChangeRolledBackLeavesMapsAndFileAsTheyWere) {
  FakeMaps m = maps;
  auto pending = stage_transaction(options(m), big_change);
  ASSERT_TRUE(pending.ok()) << pending.error();
  EXPECT_FALSE(m.same_maps(maps)) << "applied";
  EXPECT_NE(read_file(file), before_text) << "saved";
  EXPECT_EQ(pending->state().services[1].port, 5354);
  ASSERT_TRUE(pending->rollback().ok());
  EXPECT_TRUE(m.same_maps(maps)) << "maps rolled back";
  EXPECT_EQ(read_file(file), before_text) << "state file put back";

  {
    auto dropped = stage_transaction(options(m), big_change);
    ASSERT_TRUE(dropped.ok()) << dropped.error();
  }
  EXPECT_TRUE(m.same_maps(maps)) << "a dropped change is rolled back";
  EXPECT_EQ(read_file(file), before_text);

  auto kept = stage_transaction(options(m), big_change);
  ASSERT_TRUE(kept.ok()) << kept.error();
  kept->commit();
  ASSERT_TRUE(kept->rollback().ok()) << "nothing to do after commit()";
  EXPECT_FALSE(m.same_maps(maps)) << "a committed change stays";
  EXPECT_NE(read_file(file), before_text);
}

TEST_F(Transaction, TheSecondBridgeFailingRollsTheFirstBack) {
  // Bridge 2 is new (no state file yet); its second write fails. Bridge 1 goes back.
  FakeMaps m1 = maps, m2;
  auto first = stage_transaction(options(m1), big_change);
  ASSERT_TRUE(first.ok()) << first.error();
  auto t2 = options(m2);
  t2.bridge = "svbr1";
  t2.create = true;
  t2.fresh_maps = true;
  m2.fail_at = 2;
  auto second = stage_transaction(t2, [](BridgeState& s, EntryChanges& e) -> Status {
    ServiceConfig web;
    web.name = "web";
    web.protos = ProtoSet::Tcp;
    s.services = {web};
    s.backends = {backend(0, "web", "10.0.4.11")};
    e.put[0] = entry("10.0.4.11");
    return {};
  });
  ASSERT_FALSE(second.ok());
  ASSERT_TRUE(first->rollback().ok());
  EXPECT_TRUE(m1.same_maps(maps));
  EXPECT_EQ(read_file(file), before_text);
  EXPECT_FALSE(fs::exists(state_file(dir.path(), "svbr1")));

  // The new bridge staged and rolled back: its state file goes again.
  FakeMaps m3;
  t2.maps = &m3;
  auto third = stage_transaction(t2, [](BridgeState& s, EntryChanges&) -> Status {
    ServiceConfig web;
    web.name = "web";
    web.protos = ProtoSet::Tcp;
    s.services = {web};
    return {};
  });
  ASSERT_TRUE(third.ok()) << third.error();
  EXPECT_TRUE(fs::exists(state_file(dir.path(), "svbr1")));
  EXPECT_FALSE(m3.services.empty());
  ASSERT_TRUE(third->rollback().ok());
  EXPECT_FALSE(fs::exists(state_file(dir.path(), "svbr1"))) << "there was none before";
  EXPECT_TRUE(m3.services.empty());
}

}  // namespace
}  // namespace xdplb
