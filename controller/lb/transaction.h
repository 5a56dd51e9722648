// The one change path of a bridge, for every CLI command and the daemon: lock, load, change
// the desired state, compute the map writes (the diff of two MapPlans plus the backend entries
// the change asks for), apply them with undo, save. If a write fails, the writes before it are
// undone and nothing is saved; if saving fails, every write is undone. The maps are reached
// through MapWriter only, so tests can fail any one write (a fake writer at that seam).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "lb/plan.h"

namespace xdplb {

// The map writes a transaction makes; each can fail.
class MapWriter {
 public:
  virtual ~MapWriter() = default;
  virtual Status put_service(const ServiceKey& key, const ServiceValue& value) = 0;
  virtual Status delete_service(const ServiceKey& key) = 0;
  // What the service map holds now (the old side of the diff: addresses may have gone since
  // the last change).
  virtual Result<std::map<ServiceKey, ServiceValue>> read_services() = 0;
  // Routed backends' endpoints -> what their replies without a reverse entry get.
  virtual Status put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) = 0;
  virtual Status delete_reply_nat(const ServiceKey& endpoint) = 0;
  virtual Result<std::map<ServiceKey, ReplyNat>> read_reply_nats() = 0;
  // Ring (built from the members) first, then the member list.
  virtual Status write_pool(uint32_t pool, const PoolPlan& plan) = 0;
  // What the pools hold now as far as the transaction knows it (their members as read, with
  // the keys their rings were built from); replaces what was assumed before. A writer may
  // then write only the ring slots that change; a pool not named here gets its whole ring.
  virtual void assume_pools(const std::map<uint32_t, PoolPlan>& pools) { (void)pools; }
  // A pool's member list as the map holds it (ids and weights, id order): the old side of the
  // diff, since weights change without the state (the daemon's slow start).
  virtual Result<std::vector<PoolMember>> read_pool(uint32_t pool) = 0;
  virtual Result<BackendEntry> read_backend(uint32_t id) = 0;
  virtual Status put_backend(uint32_t id, const BackendEntry& entry) = 0;
  // Inactive, devmap slot and counters cleared (the address stays for the datapath).
  virtual Status delete_backend(uint32_t id) = 0;
  // An id given to a new backend: no counted connections and the next generation, so flows
  // of the id's earlier backend are re-placed (ids are reused).
  virtual Status take_backend_id(uint32_t id) = 0;
  // The counters, connections and generation take_backend_id and delete_backend reset, read
  // before either and written back when the transaction rolls back.
  virtual Result<BackendTally> read_tally(uint32_t id) = 0;
  virtual Status restore_tally(uint32_t id, const BackendTally& tally) = 0;
  // The bridge's settings (XDPLB_SETTING_* flags, MapPlan::settings).
  virtual Result<uint32_t> read_settings() = 0;
  virtual Status put_settings(uint32_t flags) = 0;
};

// The real maps.
class DatapathWriter final : public MapWriter {
 public:
  explicit DatapathWriter(Datapath& dp) : dp_(dp) {}
  Status put_service(const ServiceKey& key, const ServiceValue& value) override;
  Status delete_service(const ServiceKey& key) override;
  Result<std::map<ServiceKey, ServiceValue>> read_services() override;
  Status put_reply_nat(const ServiceKey& endpoint, const ReplyNat& nat) override;
  Status delete_reply_nat(const ServiceKey& endpoint) override;
  Result<std::map<ServiceKey, ReplyNat>> read_reply_nats() override;
  Status write_pool(uint32_t pool, const PoolPlan& plan) override;
  Result<std::vector<PoolMember>> read_pool(uint32_t pool) override;
  Result<BackendEntry> read_backend(uint32_t id) override;
  Status put_backend(uint32_t id, const BackendEntry& entry) override;
  Status delete_backend(uint32_t id) override;
  Status take_backend_id(uint32_t id) override;
  Result<BackendTally> read_tally(uint32_t id) override;
  Status restore_tally(uint32_t id, const BackendTally& tally) override;
  Result<uint32_t> read_settings() override;
  Status put_settings(uint32_t flags) override;
  void assume_pools(const std::map<uint32_t, PoolPlan>& pools) override;

  // Ring slots written so far (all pools); a whole ring is XDPLB_MAGLEV_RING_SIZE.
  uint64_t ring_slots_written() const { return ring_slots_written_; }

 private:
  Datapath& dp_;
  // The rings as this writer knows the maps hold them: assumed (as members, built when first
  // needed), then kept up to date by each write; a ring whose write failed halfway is
  // forgotten (its next write is whole).
  std::map<uint32_t, PoolPlan> assumed_;
  std::map<uint32_t, std::vector<uint32_t>> rings_;
  uint64_t ring_slots_written_ = 0;
};

// Backend entries a change writes besides the plan. Active entries go in before the pools are
// rewritten (a ring never names an entry that is not there yet), inactive ones and removals
// after (flows on them are re-placed once no ring names them).
struct EntryChanges {
  std::map<uint32_t, BackendEntry> put;
  std::set<uint32_t> remove;
  std::set<uint32_t> new_ids;  // ids given to new backends (MapWriter::take_backend_id)
};

// Changes the loaded state (and asks for entry writes); an error aborts with nothing written.
using ChangeFn = std::function<Status(BridgeState& state, EntryChanges& entries)>;

struct TransactionOptions {
  std::string state_dir;
  std::string bridge;
  MapWriter* maps = nullptr;
  // The addresses of services without --listen, read afresh for every transaction.
  std::function<Result<std::vector<IpAddress>>(const BridgeState&)> default_addresses;
  WeightOf weight_of;         // empty: saved weights
  bool fresh_maps = false;    // attach: the pools are empty, every pool of the plan is written
  bool create = false;        // attach: a bridge with no saved state yet starts empty
  const StateLock* held = nullptr;  // the caller holds the bridge's lock already
};

// Runs one change; returns the state as saved.
Result<BridgeState> run_transaction(const TransactionOptions& opts, const ChangeFn& change);

// A change applied and saved whose undo is kept (with the bridge's lock) until commit() or
// rollback(): the changes of several bridges as one (apply -f FILE). Dropped without commit(),
// it writes the maps back and puts the state file back as it was (or removes it if none was).
class PendingChange {
 public:
  struct Undo;
  explicit PendingChange(std::unique_ptr<Undo> undo);
  PendingChange(PendingChange&&) noexcept;
  PendingChange& operator=(PendingChange&&) noexcept;
  ~PendingChange();

  const BridgeState& state() const;
  void commit();
  // Undoes the change now; the errors of undo steps that failed (empty: all undone).
  Status rollback();

 private:
  std::unique_ptr<Undo> undo_;
};

// run_transaction, but the caller decides: commit() or rollback() (or drop it).
Result<PendingChange> stage_transaction(const TransactionOptions& opts, const ChangeFn& change);

}  // namespace xdplb
