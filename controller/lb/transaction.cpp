#include "lb/transaction.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace xdplb {

Status DatapathWriter::put_service(const ServiceKey& key, const ServiceValue& value) {
  return dp_.put_service(key, value);
}
Status DatapathWriter::delete_service(const ServiceKey& key) { return dp_.delete_service(key); }
Result<std::map<ServiceKey, ServiceValue>> DatapathWriter::read_services() { return dp_.services(); }
Status DatapathWriter::put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) {
  return dp_.put_reply_nat(endpoint, nat);
}
Status DatapathWriter::delete_reply_nat(const ServiceKey& endpoint) { return dp_.delete_reply_nat(endpoint); }
Result<std::map<ServiceKey, ReplyNat>> DatapathWriter::read_reply_nats() { return dp_.reply_nats(); }
Status DatapathWriter::write_pool(uint32_t pool, const PoolPlan& plan) {
  std::vector<PoolMember> list;
  for (const auto& m : plan.members) list.push_back({m.id, m.weight});
  auto ring = build_maglev_ring(plan.members);
  if (!ring) return make_error("building the Maglev ring of pool " + std::to_string(pool) + ": " + ring.error());
  // Ring first: a member list that names a backend the ring does not have yet never happens.
  // Only the slots that change when the ring the map holds is known: adding the n-th backend
  // moves about 1/n of them.
  // (The assumed ring is built here, so a pool a change leaves alone costs nothing.)
  if (auto a = assumed_.find(pool); a != assumed_.end()) {
    if (auto before = build_maglev_ring(a->second.members); before) rings_[pool] = std::move(*before);
    assumed_.erase(a);
  }
  auto known = rings_.find(pool);
  auto written = dp_.write_ring_changes(pool, *ring, known == rings_.end() ? nullptr : &known->second);
  if (!written) {
    rings_.erase(pool);
    return make_error(written.error());
  }
  ring_slots_written_ += *written;
  rings_[pool] = std::move(*ring);
  return dp_.write_pool_members(pool, list);
}
void DatapathWriter::assume_pools(const std::map<uint32_t, PoolPlan>& pools) {
  rings_.clear();
  assumed_ = pools;
}
Result<std::vector<PoolMember>> DatapathWriter::read_pool(uint32_t pool) { return dp_.pool_members(pool); }
Result<BackendEntry> DatapathWriter::read_backend(uint32_t id) { return dp_.backend_entry(id); }
Status DatapathWriter::put_backend(uint32_t id, const BackendEntry& entry) { return dp_.put_backend(id, entry); }
Status DatapathWriter::delete_backend(uint32_t id) { return dp_.delete_backend(id); }
Status DatapathWriter::take_backend_id(uint32_t id) { return dp_.take_backend_id(id); }
Result<BackendTally> DatapathWriter::read_tally(uint32_t id) { return dp_.backend_tally(id); }
Status DatapathWriter::restore_tally(uint32_t id, const BackendTally& t) { return dp_.restore_backend_tally(id, t); }
Result<uint32_t> DatapathWriter::read_settings() { return dp_.settings(); }
Status DatapathWriter::put_settings(uint32_t flags) { return dp_.set_settings(flags); }

namespace {

// The writes done so far and how to take each back; undone in reverse order unless committed.
class [[nodiscard]] UndoLog {
 public:
  explicit UndoLog(MapWriter& maps) : maps_(maps) {}
  UndoLog(const UndoLog&) = delete;
  UndoLog& operator=(const UndoLog&) = delete;
  ~UndoLog() { (void)rollback(); }

  void add(std::function<Status(MapWriter&)> undo) { steps_.push_back(std::move(undo)); }
  void commit() { steps_.clear(); }
  Status rollback() {
    std::string failed;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it)
      if (auto s = (*it)(maps_); !s) {
        spdlog::error("undoing a map write failed: {}", s.error());
        failed += (failed.empty() ? "" : "; ") + s.error();
      }
    steps_.clear();
    if (!failed.empty()) return make_error("undoing map writes failed: " + failed);
    return {};
  }

 private:
  MapWriter& maps_;
  std::vector<std::function<Status(MapWriter&)>> steps_;
};

// The writes of one keyed map of the plan (service entries, routed reply NATs).
template <typename K, typename V>
struct KeyedMap {
  Status (MapWriter::*put)(const K&, const V&);
  Status (MapWriter::*erase)(const K&);
};
constexpr KeyedMap<ServiceKey, ServiceValue> kServices{&MapWriter::put_service, &MapWriter::delete_service};
constexpr KeyedMap<ServiceKey, ReplyNat> kReplyNats{&MapWriter::put_reply_nat, &MapWriter::delete_reply_nat};

// What an entry held before: put it back, or delete it if it was not there.
template <typename K, typename V>
std::function<Status(MapWriter&)> restore_entry(KeyedMap<K, V> m, const std::map<K, V>& before, const K& key) {
  auto it = before.find(key);
  if (it == before.end()) return [m, key](MapWriter& w) { return (w.*m.erase)(key); };
  const V old = it->second;
  return [m, key, old](MapWriter& w) { return (w.*m.put)(key, old); };
}

// Entries added or changed.
template <typename K, typename V>
Status put_changed(MapWriter& maps, UndoLog& undo, KeyedMap<K, V> m, const std::map<K, V>& before,
                   const std::map<K, V>& after) {
  for (const auto& [key, value] : after) {
    auto it = before.find(key);
    if (it != before.end() && it->second == value) continue;
    XDPLB_TRY((maps.*m.put)(key, value));
    undo.add(restore_entry(m, before, key));
  }
  return {};
}

// Entries gone.
template <typename K, typename V>
Status delete_gone(MapWriter& maps, UndoLog& undo, KeyedMap<K, V> m, const std::map<K, V>& before,
                   const std::map<K, V>& after) {
  for (const auto& [key, value] : before) {
    if (after.count(key)) continue;
    XDPLB_TRY((maps.*m.erase)(key));
    undo.add(restore_entry(m, before, key));
  }
  return {};
}

std::function<Status(MapWriter&)> restore_pool(const MapPlan& before, uint32_t pool) {
  auto it = before.pools.find(pool);
  PoolPlan old = it == before.pools.end() ? PoolPlan{} : it->second;
  return [pool, old](MapWriter& m) { return m.write_pool(pool, old); };
}

// Runs a write that resets id's counters (take_backend_id, delete_backend) after reading them,
// so a rollback puts them back as they were.
Status resetting(MapWriter& maps, UndoLog& undo, uint32_t id, const std::function<Status()>& write) {
  auto tally = maps.read_tally(id);
  if (!tally) return make_error(tally.error());
  XDPLB_TRY(write());
  undo.add([id, before = *tally](MapWriter& m) { return m.restore_tally(id, before); });
  return {};
}

// Writes one backend entry (put or remove) after reading what it held, for the undo.
Status write_entry(MapWriter& maps, UndoLog& undo, uint32_t id, const std::optional<BackendEntry>& entry) {
  auto old = maps.read_backend(id);
  if (!old) return make_error(old.error());
  BackendEntry before = *old;
  if (entry) XDPLB_TRY(maps.put_backend(id, *entry));
  else XDPLB_TRY(resetting(maps, undo, id, [&] { return maps.delete_backend(id); }));
  if (before.addr.family == 0 || !before.active)
    undo.add([id, before](MapWriter& m) {
      // An unused or inactive entry: inactive again (keeping the address the program may need).
      if (before.addr.family == 0) return m.delete_backend(id);
      return m.put_backend(id, before);
    });
  else
    undo.add([id, before](MapWriter& m) { return m.put_backend(id, before); });
  return {};
}

// Settings flags become `flags`, put back on rollback.
Status write_settings(MapWriter& maps, UndoLog& undo, uint32_t before, uint32_t flags) {
  XDPLB_TRY(maps.put_settings(flags));
  undo.add([before](MapWriter& m) { return m.put_settings(before); });
  return {};
}

// Applies old -> new: settings turning on, entries turning on, pools the new plan has, routed
// reply NATs and service entries added or changed, service entries and reply NATs gone, pools
// gone, entries turning off, settings turning off (a flag is on before the first packet that
// needs it, off after the last).
Status apply(MapWriter& maps, UndoLog& undo, const MapPlan& before, const MapPlan& after,
             const EntryChanges& entries) {
  const uint32_t both = before.settings | after.settings;
  if (both != before.settings) XDPLB_TRY(write_settings(maps, undo, before.settings, both));
  for (uint32_t id : entries.new_ids)
    XDPLB_TRY(resetting(maps, undo, id, [&] { return maps.take_backend_id(id); }));
  for (const auto& [id, e] : entries.put)
    if (e.active) XDPLB_TRY(write_entry(maps, undo, id, e));
  for (const auto& [pool, plan] : after.pools) {
    auto it = before.pools.find(pool);
    if (it != before.pools.end() && it->second == plan) continue;
    XDPLB_TRY(maps.write_pool(pool, plan));
    undo.add(restore_pool(before, pool));
  }
  XDPLB_TRY(put_changed(maps, undo, kReplyNats, before.reply_nats, after.reply_nats));
  XDPLB_TRY(put_changed(maps, undo, kServices, before.services, after.services));
  XDPLB_TRY(delete_gone(maps, undo, kServices, before.services, after.services));
  XDPLB_TRY(delete_gone(maps, undo, kReplyNats, before.reply_nats, after.reply_nats));
  for (const auto& [pool, plan] : before.pools) {
    if (after.pools.count(pool)) continue;
    XDPLB_TRY(maps.write_pool(pool, PoolPlan{}));
    undo.add(restore_pool(before, pool));
  }
  for (const auto& [id, e] : entries.put)
    if (!e.active) XDPLB_TRY(write_entry(maps, undo, id, e));
  for (uint32_t id : entries.remove)
    if (!entries.put.count(id)) XDPLB_TRY(write_entry(maps, undo, id, std::nullopt));
  if (after.settings != both) XDPLB_TRY(write_settings(maps, undo, both, after.settings));
  return {};
}

const SavedBackend* find_backend(const BridgeState& s, uint32_t id) {
  for (const auto& b : s.backends)
    if (b.id == id) return &b;
  return nullptr;
}

}  // namespace

// What a staged change undoes: its map writes, then the state file.
struct PendingChange::Undo {
  explicit Undo(MapWriter& m) : maps(m) {}
  std::optional<StateLock> lock;  // released last (members go in reverse order)
  UndoLog maps;
  std::string state_dir;
  std::optional<BridgeState> before;  // none: there was no state file
  BridgeState after;
  bool done = false;
  bool wrote_file = false;  // the state changed, so the file was written (and is put back on rollback)
};

Result<PendingChange> stage_transaction(const TransactionOptions& opts, const ChangeFn& change) {
  if (!opts.maps) return make_error("internal: a transaction without maps");
  std::optional<StateLock> lock;
  if (!opts.held) {
    auto l = StateLock::acquire(opts.state_dir, opts.bridge);
    if (!l) return make_error(l.error());
    lock.emplace(std::move(*l));
  }
  auto saved = load_state(opts.state_dir, opts.bridge);
  if (!saved) return make_error(saved.error());
  if (!saved->has_value() && !opts.create)
    return make_error("no saved state for " + opts.bridge + " in " + opts.state_dir + ": run `xdplb detach " +
                      opts.bridge + "` and `xdplb attach " + opts.bridge + "`");
  BridgeState before = saved->value_or(BridgeState{});
  before.bridge = opts.bridge;
  BridgeState after = before;
  EntryChanges entries;
  XDPLB_TRY(change(after, entries));

  std::vector<IpAddress> defaults;
  if (opts.default_addresses) {
    auto d = opts.default_addresses(after);
    if (!d) return make_error(d.error());
    defaults = std::move(*d);
  }
  auto new_plan = plan_maps(after, defaults, opts.weight_of);
  if (!new_plan) return make_error(new_plan.error());
  // What the maps hold now: the service entries and the pools' members as read (addresses
  // come and go, weights ramp); a pool member's Maglev key from the state that wrote it.
  MapPlan old_plan;
  auto services = opts.maps->read_services();
  if (!services) return make_error(services.error());
  old_plan.services = std::move(*services);
  auto reply_nats = opts.maps->read_reply_nats();
  if (!reply_nats) return make_error(reply_nats.error());
  old_plan.reply_nats = std::move(*reply_nats);
  auto settings = opts.maps->read_settings();
  if (!settings) return make_error(settings.error());
  old_plan.settings = *settings;
  if (!opts.fresh_maps) {
    std::set<uint32_t> pools;
    for (const auto& [pool, plan] : new_plan->pools) pools.insert(pool);
    for (const auto& svc : before.services)
      for (int family : {4, 6}) pools.insert(pool_of_service(svc, family));
    for (uint32_t pool : pools) {
      auto members = opts.maps->read_pool(pool);
      if (!members) return make_error(members.error());
      PoolPlan& plan = old_plan.pools[pool];
      for (const auto& m : *members) {
        const SavedBackend* b = find_backend(before, m.id);
        if (!b) b = find_backend(after, m.id);
        plan.members.push_back({m.id, b ? maglev_key(*b) : std::string(), m.weight});
      }
    }
  }

  // The rings hold what their member lists say (so only changed slots need writing) unless
  // an earlier change may have stopped between its ring and member writes, or before it
  // was saved: then every ring this change writes is written whole.
  const bool trusted = !opts.fresh_maps && !rings_unsure(opts.state_dir, opts.bridge);
  const bool marked = mark_rings_unsure(opts.state_dir, opts.bridge).ok();
  opts.maps->assume_pools(trusted && marked ? old_plan.pools : std::map<uint32_t, PoolPlan>{});

  auto undo = std::make_unique<PendingChange::Undo>(*opts.maps);
  XDPLB_TRY(apply(*opts.maps, undo->maps, old_plan, *new_plan, entries));
  // A change that leaves the state as it was (the daemon's slow-start steps and re-plans: only
  // weights or addresses moved) writes the maps only: runtime state is not saved.
  undo->wrote_file = !saved->has_value() || !(after == before);
  if (undo->wrote_file)
    if (auto s = save_state(opts.state_dir, after); !s) return make_error(s.error() + " (the maps are as before)");
  undo->lock = std::move(lock);
  undo->state_dir = opts.state_dir;
  undo->before = saved->has_value() ? std::optional<BridgeState>(before) : std::nullopt;
  undo->after = std::move(after);
  return PendingChange(std::move(undo));
}

Result<BridgeState> run_transaction(const TransactionOptions& opts, const ChangeFn& change) {
  auto pending = stage_transaction(opts, change);
  if (!pending) return make_error(pending.error());
  pending->commit();
  return pending->state();
}

PendingChange::PendingChange(std::unique_ptr<Undo> undo) : undo_(std::move(undo)) {}
PendingChange::PendingChange(PendingChange&&) noexcept = default;
PendingChange& PendingChange::operator=(PendingChange&&) noexcept = default;
PendingChange::~PendingChange() {
  if (undo_) (void)rollback();
}

const BridgeState& PendingChange::state() const { return undo_->after; }

void PendingChange::commit() {
  undo_->maps.commit();
  undo_->done = true;
  clear_rings_unsure(undo_->state_dir, undo_->after.bridge);
  undo_->lock.reset();
}

Status PendingChange::rollback() {
  if (undo_->done) return {};
  undo_->done = true;
  auto maps = undo_->maps.rollback();
  Status file;
  if (undo_->wrote_file)
    file = undo_->before ? save_state(undo_->state_dir, *undo_->before)
                         : remove_state(undo_->state_dir, undo_->after.bridge);
  if (!file) spdlog::error("putting the state file of {} back failed: {}", undo_->after.bridge, file.error());
  if (maps) clear_rings_unsure(undo_->state_dir, undo_->after.bridge);
  undo_->lock.reset();
  if (!maps) return maps;
  return file;
}

}  // namespace xdplb
