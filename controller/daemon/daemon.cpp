#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <memory>

#include "bgp/announcer.h"
#include "containers/resolver.h"
#include "core/state.h"
#include "datapath/flow_census.h"
#include "daemon/decide.h"
#include "daemon/health_tracker.h"
#include "daemon/prober.h"
#include "daemon/worker.h"
#include "datapath/datapath.h"
#include "lb/address_guard.h"
#include "lb/backends.h"
#include "lb/balancer.h"
#include "lb/transaction.h"
#include "hostlocal/hostlocal.h"
#include "net/link.h"
#include "net/monitor.h"
#include "observe/counting_writer.h"
#include "observe/observer.h"

namespace xdplb {

namespace {

using Clock = ProbeClock;
using std::chrono::milliseconds;

// What the daemon knows about one backend beyond the saved state.
struct Runtime {
  HealthTracker tracker;
  // The health the checks decided and the state does not hold yet: written on every turn of
  // the loop until it lands (a busy lock, a failed write), then dropped.
  std::optional<Decision> decided;
  BackendEntry entry;        // as last written by the daemon
  bool have_entry = false;   // false: no entry (container down) or not installed yet
  bool drain_done = false;   // drained and no recent flow: entry turned inactive
  bool lookup_failing = false;  // its container's state is unknown (logged once)
  bool looking = false;    // a container lookup is on the worker
  bool resolving = false;  // a resolve (container, neighbour, GRO) is on the worker
  PassiveState passive;       // the datapath's refused-connection counter as last read
  Clock::time_point next_probe{};
  Clock::time_point next_container_check{};
  std::string last_probe;    // reason of the last probe, for the log line of a change
  // The saved fields the entry was installed from; a change (by the CLI) means reinstall.
  std::string installed_from;
};

std::string install_key(const SavedBackend& b) {
  return b.name + "|" + (b.addr.family ? b.addr.to_string() : "") + "|" + std::to_string(b.port) +
         "|" + (b.fast_path_disabled ? "1" : "0") + "|" + name_of(b.path) + "|" + b.via;
}

// The health checks of a backend's service (none if the service is gone).
const HealthCheckConfig& checks_of(const BridgeState& s, const SavedBackend& b) {
  static const HealthCheckConfig none = [] {
    HealthCheckConfig h;
    h.type = CheckType::None;
    return h;
  }();
  const ServiceConfig* svc = find_service(s, b.service);
  return svc ? svc->health_check : none;
}

std::string describe_checks(const BridgeState& s) {
  std::string out;
  for (const auto& svc : s.services) {
    const HealthCheckConfig& h = svc.health_check;
    out += (out.empty() ? "" : "; ") + svc.name + ": " + name_of(h.type) + " every " +
           std::to_string(h.interval_ms) + " ms (timeout " + std::to_string(h.timeout_ms) + " ms, rise " +
           std::to_string(h.rise) + ", fall " + std::to_string(h.fall) + ")";
  }
  return out.empty() ? "no services" : out;
}

// Identity of the state file's current version (atomic renames give a new inode).
struct FileStamp {
  ino_t ino = 0;
  timespec mtime{};
  off_t size = -1;
  bool operator==(const FileStamp& o) const {
    return ino == o.ino && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           size == o.size;
  }
};

FileStamp stamp_of(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, st.st_mtim, st.st_size};
}

class Daemon {
 public:
  Daemon(DaemonOptions o, std::unique_ptr<Datapath> dp, net::LinkInfo bridge, Prober prober,
         std::unique_ptr<Worker> worker, std::unique_ptr<observe::Observer> obs)
      : opts_(std::move(o)), dp_(std::move(dp)), bridge_(std::move(bridge)), prober_(std::move(prober)),
        obs_(std::move(obs)), announcer_(opts_.state_dir, opts_.pin_dir, opts_.bridge), worker_(std::move(worker)) {}

  Status start();
  Status loop(const std::atomic<bool>* stop);

 private:
  // In the loop the lock is waited for briefly only: a command holding it (a `--wait`
  // resolve) must not stop probes and events; what did not land is tried again.
  Status modify(const std::function<void(BridgeState&, EntryChanges&)>& change,
                milliseconds lock_wait = kLoopLockWait);
  static constexpr milliseconds kLoopLockWait{20};
  bool want_active(const BridgeState& s, const SavedBackend& b, const Runtime& rt) const {
    return entry_active(s, b, rt.drain_done);
  }
  void apply_health();
  void note_panics();
  void turn(Clock::time_point now);  // one turn of the loop after its events
  void check_refusals();
  void install(SavedBackend& b, Runtime& rt, milliseconds wait, EntryChanges& entries);
  // What a resolve on the worker is for, and what its transaction also changes.
  struct InstallWhy {
    std::string text;          // "picked up from the saved state", "container started again"
    bool show_via = false;
    std::string suffix;
    std::function<void(SavedBackend&, Runtime&)> also;  // runs in the install's transaction
    std::optional<observe::EventType> event;            // published once it landed
  };
  static InstallWhy because(std::string text) {
    InstallWhy why;
    why.text = std::move(text);
    return why;
  }
  // Resolves b on the worker, then installs what it found in one short transaction.
  void request_install(const SavedBackend& b, InstallWhy why);
  void finish_install(const std::string& key, const SavedBackend& resolved, const Result<ForwardingPlan>& plan,
                      const InstallWhy& why);
  void container_seen(uint32_t id, ContainerLookup lookup, Clock::time_point now);
  void toggle_entries(BridgeState& s, EntryChanges& entries);
  void reconcile();
  void check_state_file();
  void handle_outcome(const ProbeOutcome& out);
  void schedule_probes(Clock::time_point now);
  void check_containers(Clock::time_point now);
  void check_drains(Clock::time_point now);
  void sweep_idle_flows(Clock::time_point now);
  void step_slow_start(Clock::time_point now);
  WeightOf weights(const BridgeState& s, Clock::time_point now) const;
  void on_net_event(const net::NetEvent& ev, Clock::time_point now);
  void replan(const std::function<bool(const SavedBackend&, const Runtime&)>& which, const char* why);
  Clock::time_point next_wakeup(Clock::time_point now) const;

  DaemonOptions opts_;
  std::unique_ptr<Datapath> dp_;
  net::LinkInfo bridge_;
  Prober prober_;
  BridgeState state_;
  FileStamp stamp_;
  std::map<uint32_t, Runtime> rt_;
  Clock::time_point next_drain_check_{};
  Clock::time_point next_idle_sweep_{};
  Clock::time_point next_ramp_step_{};
  // Slow start: when each ramping backend came back up (runtime only, never saved).
  std::map<uint32_t, Clock::time_point> ramp_since_;
  PanicSet panics_;                 // pools in panic as last logged
  uint64_t panic_entries_ = 0;      // how often a pool went into panic since the start
  bool health_write_failing_ = false;  // logged once per failing streak
  std::optional<Clock::time_point> replan_ports_at_;
  std::optional<Clock::time_point> replan_addresses_at_;
  std::unique_ptr<observe::Observer> obs_;  // metrics and events (controller/observe/)
  bgp::Announcer announcer_;
  std::unique_ptr<Worker> worker_;  // last: joined first, before what its jobs' completions use
};

// Every change goes through the one transaction (lb/transaction.h): lock, re-read (a CLI
// command may have changed it), change, write entries and pools, save.
Status Daemon::modify(const std::function<void(BridgeState&, EntryChanges&)>& change,
                      milliseconds lock_wait) {
  auto lock = StateLock::acquire(opts_.state_dir, opts_.bridge, lock_wait);
  if (!lock) return make_error(lock.error());
  DatapathWriter maps(*dp_);
  observe::CountingWriter writer(maps, obs_->metrics());
  TransactionOptions tx = bridge_transaction(opts_.state_dir, opts_.bridge, bridge_.ifindex,
                                             hostlocal::is_attached(opts_.pin_dir), writer);
  tx.held = &*lock;
  // Weights as planned, after the change: a backend the change brings up starts its ramp now.
  tx.weight_of = [this](const SavedBackend& b) {
    const WeightOf ramp = weights(state_, Clock::now());
    return ramp ? ramp(b) : b.weight;
  };
  auto saved = run_transaction(tx, [&](BridgeState& s, EntryChanges& entries) -> Status {
    change(s, entries);
    toggle_entries(s, entries);
    return {};
  });
  obs_->metrics().transaction(static_cast<bool>(saved));
  if (!saved) return make_error(saved.error());
  state_ = std::move(*saved);
  stamp_ = stamp_of(state_file(opts_.state_dir, opts_.bridge));
  note_panics();
  return {};
}

// Pools that went into or out of panic with the last saved state: logged, counted.
void Daemon::note_panics() {
  PanicSet now = panics(state_);
  for (const auto& p : now)
    if (!panics_.count(p)) {
      ++panic_entries_;
      const ServiceConfig* svc = find_service(state_, p.first);
      spdlog::warn("service {} (IPv{}): PANIC, fewer than {}% of its backends are healthy; health is ignored "
                   "and all of them take new flows ({} panics since the start)",
                   p.first, p.second, svc ? svc->health_check.panic_threshold : 0, panic_entries_);
      obs_->emit({observe::EventType::PanicEntered, p.first, {}, {}, 0, "IPv" + std::to_string(p.second)});
    }
  for (const auto& p : panics_)
    if (!now.count(p)) {
      spdlog::info("service {} (IPv{}): out of panic, health decides again", p.first, p.second);
      obs_->emit({observe::EventType::PanicLeft, p.first, {}, {}, 0, "IPv" + std::to_string(p.second)});
    }
  std::map<std::string, bool> in_panic;
  for (const auto& svc : state_.services) in_panic[svc.name] = false;
  for (const auto& p : now) in_panic[p.first] = true;
  obs_->metrics().panics(panic_entries_, std::move(in_panic));
  panics_ = std::move(now);
}

void Daemon::install(SavedBackend& b, Runtime& rt, milliseconds wait, EntryChanges& entries) {
  auto plan = resolve_backend(bridge_, b, wait, want_active(state_, b, rt));
  if (plan) {
    rt.entry = plan->entry;
    rt.have_entry = true;
    entries.put[b.id] = plan->entry;
  } else {
    spdlog::warn("backend {} is down: {}", describe(b), plan.error());
    mark_down(b, plan.error(), entries);
    rt.have_entry = false;
    prober_.cancel(b.id);
  }
  rt.installed_from = install_key(b);
}

// Entries whose activeness changes (health, drains): the transaction writes those turning
// active before the pools and those turning inactive after, so a ring never points at an
// inactive entry for longer than it must.
void Daemon::toggle_entries(BridgeState& s, EntryChanges& entries) {
  for (auto& b : s.backends) {
    auto it = rt_.find(b.id);
    if (it == rt_.end() || !it->second.have_entry || entries.put.count(b.id) || entries.remove.count(b.id)) continue;
    Runtime& rt = it->second;
    const bool want = want_active(s, b, rt);
    if (want == rt.entry.active) continue;
    rt.entry.active = want;
    entries.put[b.id] = rt.entry;
  }
}

Status Daemon::start() {
  // Pick up the saved state and (re)write every entry from it: the datapath kept forwarding
  // while no daemon ran; entries and ring come out the same unless the world changed.
  return modify([&](BridgeState& s, EntryChanges& entries) {
    for (auto& b : s.backends) {
      Runtime& rt = rt_[b.id];
      rt.tracker.set(b.health != Health::Down);
      rt.drain_done = b.drained && !b.drain_end.empty();
      if (b.path == BackendPath::Down && !b.name.empty()) {  // stopped container: the poll brings it back
        rt.installed_from = install_key(b);
        continue;
      }
      install(b, rt, milliseconds(2000), entries);
    }
    state_ = s;  // for note_panics' first comparison
    spdlog::info("daemon for {}: {} backends, health checks {}", s.bridge, s.backends.size(), describe_checks(s));
    obs_->emit({observe::EventType::DaemonStarted, {}, {}, {}, 0, describe_checks(s)});
  }, std::chrono::seconds(10));
}

// The state changed under us (a CLI command): pick up new, removed and changed backends.
// Asked on every turn: what did not land (a busy lock) is tried again.
void Daemon::reconcile() {
  std::set<uint32_t> present;
  for (const auto& b : state_.backends) present.insert(b.id);
  for (auto it = rt_.begin(); it != rt_.end();) {
    if (!present.count(it->first)) {
      spdlog::info("backend id {}: gone from the saved state; probes stopped", it->first);
      obs_->emit({observe::EventType::BackendRemoved, {}, {}, {}, it->first, "gone from the saved state"});
      prober_.cancel(it->first);
      it = rt_.erase(it);
    } else {
      ++it;
    }
  }
  bool toggle = false;
  for (const auto& b : state_.backends) {
    auto [it, fresh] = rt_.try_emplace(b.id);
    Runtime& rt = it->second;
    if (fresh) rt.tracker.set(b.health != Health::Down);
    if (!b.drained && rt.drain_done)
      obs_->emit(observe::backend_event(observe::EventType::BackendUndrained, b, "takes new flows again"));
    if (!b.drained) rt.drain_done = false;
    if (fresh) rt.drain_done = b.drained && !b.drain_end.empty();
    if (rt.installed_from == install_key(b)) {
      toggle |= rt.have_entry && want_active(state_, b, rt) != rt.entry.active;
      continue;
    }
    if (rt.resolving) continue;
    if (b.path == BackendPath::Down) {  // the CLI found the container stopped
      rt.have_entry = false;
      rt.installed_from = install_key(b);
      continue;
    }
    if (fresh) obs_->emit(observe::backend_event(observe::EventType::BackendAdded, b, "picked up from the saved state"));
    request_install(b, because("picked up from the saved state"));
  }
  if (toggle)
    if (auto st = modify([](BridgeState&, EntryChanges&) {}); !st) spdlog::error("applying the changed state: {}", st.error());
}

void Daemon::request_install(const SavedBackend& b, InstallWhy why) {
  Runtime& rt = rt_[b.id];
  if (rt.resolving) return;
  rt.resolving = true;
  worker_->post([this, key = install_key(b), b, bridge = bridge_, why = std::move(why)]() -> Worker::Completion {
    SavedBackend resolved = b;
    auto plan = resolve_backend(bridge, resolved, milliseconds(0), true);
    return [this, key, resolved, plan, why] { finish_install(key, resolved, plan, why); };
  });
}

void Daemon::finish_install(const std::string& key, const SavedBackend& resolved, const Result<ForwardingPlan>& plan,
                            const InstallWhy& why) {
  auto it = rt_.find(resolved.id);
  if (it == rt_.end()) return;  // removed meanwhile
  Runtime& rt = it->second;
  rt.resolving = false;
  std::optional<BackendEntry> entry;
  std::string installed_from;
  std::string line;
  std::optional<observe::Event> event;
  Runtime after = rt;  // taken over once the change landed
  auto st = modify([&](BridgeState& s, EntryChanges& entries) {
    for (auto& b : s.backends) {
      if (b.id != resolved.id || install_key(b) != key) continue;  // changed meanwhile: asked again
      b.addr = resolved.addr;
      b.source = resolved.source;
      b.path = resolved.path;
      b.via = resolved.via;
      b.path_reason = resolved.path_reason;
      if (why.also) why.also(b, after);
      if (plan) {
        entry = plan->entry;
        entry->active = entry_active(s, b, after.drain_done);
        entries.put[b.id] = *entry;
        line = "backend " + describe(b) + ": " + why.text + (why.show_via ? " (via " + b.via + ")" : "") + why.suffix;
        if (why.event) event = observe::backend_event(*why.event, b, "via " + b.via);
      } else {
        mark_down(b, plan.error(), entries);
        line = "backend " + describe(b) + " is down: " + plan.error();
      }
      installed_from = install_key(b);
    }
  });
  if (!st) {
    spdlog::error("installing backend id {}: {}", resolved.id, st.error());
    return;
  }
  if (installed_from.empty()) return;
  rt = std::move(after);
  rt.installed_from = installed_from;
  rt.have_entry = entry.has_value();
  if (entry) rt.entry = *entry;
  else prober_.cancel(resolved.id);
  (entry ? spdlog::info("{}", line) : spdlog::warn("{}", line));
  if (event) obs_->emit(*event);
}

void Daemon::check_state_file() {
  const std::string path = state_file(opts_.state_dir, opts_.bridge);
  FileStamp now = stamp_of(path);
  if (now == stamp_) return;
  auto saved = load_state(opts_.state_dir, opts_.bridge);
  if (!saved || !saved->has_value()) {
    if (!saved) spdlog::error("{}", saved.error());
    stamp_ = now;
    return;
  }
  const bool config_changed = !(saved->value().services == state_.services);
  for (const auto& svc : saved->value().services)
    if (const ServiceConfig* was = find_service(state_, svc.name); was && was->scheduler != svc.scheduler)
      spdlog::info("service {}: scheduler now {} (was {})", svc.name, name_of(svc.scheduler), name_of(was->scheduler));
  for (const auto& svc : saved->value().services) {
    const ServiceConfig* was = find_service(state_, svc.name);
    if (!was) obs_->emit({observe::EventType::ServiceAdded, svc.name, {}, {}, 0, {}});
    else if (!(*was == svc)) obs_->emit({observe::EventType::ServiceChanged, svc.name, {}, {}, 0, {}});
  }
  for (const auto& svc : state_.services)
    if (!find_service(**saved, svc.name)) obs_->emit({observe::EventType::ServiceRemoved, svc.name, {}, {}, 0, {}});
  state_ = std::move(**saved);
  stamp_ = now;
  obs_->metrics().state_change_seen();
  if (config_changed) spdlog::info("services changed; health checks now {}", describe_checks(state_));
  reconcile();
}

void Daemon::handle_outcome(const ProbeOutcome& out) {
  auto it = rt_.find(out.id);
  if (it == rt_.end()) return;
  Runtime& rt = it->second;
  rt.last_probe = out.reason;
  const SavedBackend* saved = nullptr;
  for (const auto& b : state_.backends)
    if (b.id == out.id) saved = &b;
  if (!saved || saved->path == BackendPath::Down) return;
  spdlog::debug("probe of {}: {} ({} us)", describe(*saved), out.reason, out.took.count());
  obs_->metrics().probe(out.id, out.ok, out.took);
  if (auto d = judge_probe(rt.tracker, checks_of(state_, *saved), saved->health, out.ok, out.reason)) rt.decided = *d;
}

// Writes the decided healths the state does not hold yet, in one transaction; the log line
// of a transition comes once the change landed (ring and entries rewritten). What fails is
// tried again on the next turn of the loop.
void Daemon::apply_health() {
  std::map<uint32_t, Decision> decided;
  for (auto& [id, rt] : rt_)
    if (rt.decided) decided[id] = *rt.decided;
  if (decided.empty()) return;
  const auto writes = pending_health(state_, decided);
  if (!writes.empty()) {
    // A backend coming back with slow start ramps from this transaction on.
    const auto now = Clock::now();
    std::vector<uint32_t> ramps;
    for (const auto& w : writes)
      if (w.decision.health == Health::Up && w.decision.transition)
        for (const auto& b : state_.backends)
          if (b.id == w.id && checks_of(state_, b).slow_start_ms) ramps.push_back(w.id);
    for (uint32_t id : ramps) ramp_since_[id] = now;
    auto st = modify([&](BridgeState& s, EntryChanges&) {
      for (auto& b : s.backends)
        for (const auto& w : writes)
          if (b.id == w.id) {
            b.health = w.decision.health;
            b.health_reason = w.decision.reason;
          }
    });
    if (!st) {
      for (uint32_t id : ramps) ramp_since_.erase(id);
      if (!health_write_failing_)
        spdlog::error("recording the health of {} backend(s): {}; trying again", writes.size(), st.error());
      health_write_failing_ = true;
      return;
    }
    health_write_failing_ = false;
    for (const auto& w : writes) {
      const SavedBackend* b = nullptr;
      for (const auto& x : state_.backends)
        if (x.id == w.id) b = &x;
      if (!b || !w.decision.transition) continue;
      if (w.decision.health == Health::Up) {
        const uint32_t slow_start_ms = checks_of(state_, *b).slow_start_ms;
        spdlog::info("backend {} is UP: {}; back in the ring{}", describe(*b), w.decision.reason,
                     slow_start_ms ? ", weight ramping up over " + std::to_string(slow_start_ms) + " ms"
                                   : std::string());
        obs_->emit(observe::backend_event(observe::EventType::BackendUp, *b, w.decision.reason));
      } else {
        ramp_since_.erase(w.id);
        spdlog::warn("backend {} is DOWN: {}; out of the ring, its flows move on their next packet", describe(*b),
                     w.decision.reason);
        obs_->emit(observe::backend_event(observe::EventType::BackendDown, *b, w.decision.reason));
      }
    }
  }
  // Decisions the state holds now (or that need no write any more) are done.
  const auto left = pending_health(state_, decided);
  for (auto& [id, rt] : rt_) {
    if (!rt.decided) continue;
    bool pending = false;
    for (const auto& w : left) pending |= w.id == id;
    if (!pending) rt.decided.reset();
  }
}

void Daemon::schedule_probes(Clock::time_point now) {
  for (const auto& b : state_.backends) {
    const HealthCheckConfig& hc = checks_of(state_, b);
    if (hc.type == CheckType::None) continue;
    const milliseconds interval(std::max(hc.interval_ms, kMinHealthIntervalMs));
    auto it = rt_.find(b.id);
    if (it == rt_.end()) continue;
    Runtime& rt = it->second;
    if (b.path == BackendPath::Down || !b.addr.family || !rt.have_entry) continue;
    if (rt.next_probe == Clock::time_point{})  // spread the first probes over one interval
      rt.next_probe = now + milliseconds((b.id * 37) % interval.count());
    if (now < rt.next_probe || prober_.running(b.id)) continue;
    rt.next_probe = now + interval;
    ProbeRequest req;
    req.id = b.id;
    req.addr = b.addr;
    req.port = b.port;
    req.http = hc.type == CheckType::Http;
    req.path = hc.http_path;
    req.expect_min = hc.expect_min;
    req.expect_max = hc.expect_max;
    req.timeout = milliseconds(hc.timeout_ms);
    prober_.start(req, now);
  }
}

// Containers given by name: a stopped one leaves at once; a started one is resolved again,
// installed inactive and comes back after `rise` good probes. The lookups run on the worker.
void Daemon::check_containers(Clock::time_point now) {
  for (const auto& saved : state_.backends) {
    if (saved.name.empty()) continue;
    Runtime& rt = rt_[saved.id];
    if (now < rt.next_container_check || rt.looking || rt.resolving) continue;
    rt.next_container_check = now + opts_.container_poll;
    rt.looking = true;
    ResolveOptions ro;
    ro.source = container_source(saved.source);
    ro.lxcpath = saved.lxcpath;
    ro.wait = milliseconds(0);
    worker_->post([this, id = saved.id, name = saved.name, family = saved.family, ro,
                   bridge = bridge_]() -> Worker::Completion {
      auto lookup = lookup_container(name, ro);
      if (lookup.info)
        if (auto claim = keep_claimable_addresses(*lookup.info, bridge, family); !claim)
          lookup.info = make_error(claim.error());
      return [this, id, lookup] { container_seen(id, lookup, Clock::now()); };
    });
  }
}

void Daemon::container_seen(uint32_t id, ContainerLookup lookup, Clock::time_point now) {
  auto rit = rt_.find(id);
  if (rit == rt_.end()) return;
  Runtime& rt = rit->second;
  rt.looking = false;
  const SavedBackend* found = nullptr;
  for (const auto& b : state_.backends)
    if (b.id == id) found = &b;
  if (!found) return;
  const SavedBackend saved = *found;  // modify() replaces state_
  if (lookup.unknown) {  // LXD's database busy, a bad answer: keep what was known, ask again
    if (!rt.lookup_failing)
      spdlog::warn("backend {}: container state unknown ({}); keeping it as it was, asking again",
                   describe(saved), lookup.info.error());
    rt.lookup_failing = true;
    return;
  }
  if (rt.lookup_failing) spdlog::info("backend {}: container state known again", describe(saved));
  rt.lookup_failing = false;
  const auto& info = lookup.info;
  const bool down = saved.path == BackendPath::Down;
  if (!info && !down) {
    auto st = modify([&](BridgeState& s, EntryChanges& entries) {
      for (auto& b : s.backends)
        if (b.id == saved.id) mark_down(b, "container: " + info.error(), entries);
    });
    if (!st) {
      spdlog::error("{}", st.error());
      rt.next_container_check = now;  // again on the next turn
      return;
    }
    spdlog::warn("backend {} is DOWN: container: {}; out of the ring", describe(saved), info.error());
    obs_->emit(observe::backend_event(observe::EventType::ContainerStopped, saved, info.error()));
    rt.have_entry = false;
    for (const auto& b : state_.backends)
      if (b.id == saved.id) rt.installed_from = install_key(b);
    prober_.cancel(saved.id);
  } else if (info && !address_of_family(*info, saved.family)) {
    return;  // starting: no address of this family yet
  } else if (info && (down || info->host_ifindex != rt.entry.ifindex ||
                      *address_of_family(*info, saved.family) != saved.addr)) {
    const bool probing = checks_of(state_, saved).type != CheckType::None;
    InstallWhy why;
    why.text = std::string("container ") + (down ? "started again" : "changed");
    why.show_via = true;
    why.suffix = down && probing ? ", probing before it takes flows" : "";
    why.event = down ? observe::EventType::ContainerStarted : observe::EventType::ContainerChanged;
    why.also = [down, probing, now, rise = checks_of(state_, saved).rise](SavedBackend& b, Runtime& r) {
      r.next_probe = now;
      if (!(down && probing)) return;
      b.health = Health::Down;
      b.health_reason = "container started again: back after " + std::to_string(rise) + " good probes";
      r.tracker.set(false);
      r.decided.reset();
    };
    request_install(saved, std::move(why));
  }
}

// A drain is over once the backend has no open flow left in either flow table (an idle TCP
// connection is open until it closes), or when --drain-timeout has passed since the drain
// began (saved in the state: a daemon restart does not restart the clock); then its entry
// turns off (what is left of its connections is reset) and the state says how it ended.
void Daemon::check_drains(Clock::time_point now) {
  if (now < next_drain_check_) return;
  next_drain_check_ = now + milliseconds(1000);
  const int64_t wall_ms = wall_clock_ms();
  if (const auto unstamped = drains_to_stamp(state_); !unstamped.empty()) {
    const std::set<uint32_t> ids(unstamped.begin(), unstamped.end());
    auto st = modify([&](BridgeState& s, EntryChanges&) {
      for (auto& b : s.backends)
        if (ids.count(b.id) && b.drained && b.drain_started_ms == 0) b.drain_started_ms = wall_ms;
    });
    if (!st) spdlog::error("saving when a drain began: {}", st.error());  // again next turn
  }
  std::set<uint32_t> done;
  bool any = false;
  for (const auto& b : state_.backends) {
    if (!b.drained) continue;
    const Runtime& rt = rt_[b.id];
    if (rt.drain_done || !rt.have_entry) done.insert(b.id);
    else any = true;
  }
  if (!any) return;
  auto flows = open_flows_per_backend(*dp_);
  if (!flows) {
    spdlog::error("{}", flows.error());
    return;
  }
  std::map<uint32_t, DrainCensus> census;
  for (const auto& [id, f] : *flows)
    census[id] = {static_cast<uint32_t>(f.flows), static_cast<uint32_t>(f.open)};
  const auto over = drains_over(state_, census, done, wall_ms, opts_.drain_timeout);
  if (over.empty()) return;
  std::map<uint32_t, std::string> how;
  for (const auto& v : over)
    how[v.id] = v.timed_out ? "drain timed out after " + std::to_string(opts_.drain_timeout.count() / 1000) +
                                  " s; " + std::to_string(v.open) + " open connection(s) cut"
                            : "drained: no open flow left";
  for (const auto& v : over) rt_[v.id].drain_done = true;
  auto st = modify([&](BridgeState& s, EntryChanges&) {
    for (auto& b : s.backends)
      if (how.count(b.id)) b.drain_end = how[b.id];
  });
  if (!st) {
    for (const auto& v : over) rt_[v.id].drain_done = false;
    spdlog::error("{}", st.error());
    return;
  }
  for (const auto& b : state_.backends)
    if (how.count(b.id)) {
      spdlog::info("backend {}: {}; entry off", describe(b), how[b.id]);
      obs_->emit(observe::backend_event(observe::EventType::BackendDrained, b, how[b.id]));
    }
}

// Idle flows leave their backend's active-connection count (kTcpIdleUncount, kUdpIdleUncount).
void Daemon::sweep_idle_flows(Clock::time_point now) {
  if (now < next_idle_sweep_) return;
  next_idle_sweep_ = now + kIdleSweepInterval;
  auto swept = dp_->uncount_idle_flows(kTcpIdleUncount, kUdpIdleUncount);
  if (!swept) spdlog::error("{}", swept.error());
  else if (swept->uncounted)
    spdlog::debug("{} idle flows left their backends' connection counts", swept->uncounted);
}

WeightOf Daemon::weights(const BridgeState& s, Clock::time_point now) const {
  return ramp_weights(s, ramp_since_, now);
}

// Once a second while a backend ramps: rewrite ring and member list with the grown weights;
// a ramp that is over ends (the last rewrite puts back the saved weights).
void Daemon::step_slow_start(Clock::time_point now) {
  if (now < next_ramp_step_ || ramp_since_.empty()) return;
  next_ramp_step_ = now + milliseconds(1000);
  for (uint32_t id : ramps_over(state_, ramp_since_, now)) {
    ramp_since_.erase(id);
    spdlog::info("backend id {}: slow start over, full weight", id);
  }
  if (auto st = modify([](BridgeState&, EntryChanges&) {}); !st) spdlog::error("slow start: {}", st.error());
}

void Daemon::replan(const std::function<bool(const SavedBackend&, const Runtime&)>& which,
                    const char* why) {
  for (const auto& b : state_.backends) {
    Runtime& rt = rt_[b.id];
    if (b.path == BackendPath::Down || !which(b, rt)) continue;
    request_install(b, because(std::string("reinstalled (") + why + ")"));
  }
}

void Daemon::on_net_event(const net::NetEvent& ev, Clock::time_point now) {
  if (std::holds_alternative<net::AddressEvent>(ev)) {
    // A source that became the host's (or the bridge's subnet) must not open flows on the
    // uplinks from now on; one that left may again.
    if (auto g = write_uplink_guard(*dp_, bridge_.ifindex); !g)
      spdlog::warn("uplink guard not updated: {}", g.error());
    // Services without --listen answer on the uplinks', bridge's and loopback addresses: follow
    // them (a burst of events is one re-plan).
    if (!replan_addresses_at_) replan_addresses_at_ = now + milliseconds(200);
    return;
  }
  const auto* le = std::get_if<net::LinkEvent>(&ev);
  if (!le) return;
  const net::LinkInfo& link = le->link;
  if (link.ifindex == bridge_.ifindex && !le->removed) {
    if (link.mac != bridge_.mac) {
      bridge_ = link;
      spdlog::info("bridge {} has a new MAC {}", bridge_.name, to_string(link.mac));
      obs_->emit({observe::EventType::BridgeMacChanged, {}, {}, {}, 0, to_string(link.mac)});
      replan([](const SavedBackend&, const Runtime& rt) { return rt.have_entry; }, "bridge MAC changed");
    }
    return;
  }
  for (const auto& b : state_.backends) {
    Runtime& rt = rt_[b.id];
    if (!rt.have_entry || rt.entry.ifindex != link.ifindex || !le->removed) continue;
    if (!b.name.empty()) rt.next_container_check = now;  // its container stopped or restarts
    else replan_ports_at_ = now + milliseconds(300);
  }
  if (!le->removed && link.master == bridge_.ifindex) replan_ports_at_ = now + milliseconds(300);
  if (replan_ports_at_ == now + milliseconds(300))
    obs_->emit({observe::EventType::LinkChanged, {}, {}, {}, 0, link.name + (le->removed ? " removed" : " changed")});
}

Clock::time_point Daemon::next_wakeup(Clock::time_point now) const {
  Clock::time_point next = now + milliseconds(50);  // state file, containers, drains
  if (auto d = prober_.next_deadline(); d && *d < next) next = *d;
  for (const auto& [id, rt] : rt_)
    if (rt.next_probe != Clock::time_point{} && rt.next_probe < next) next = rt.next_probe;
  return next;
}

// Passive health: the datapath counts each backend's refused new connections (its RST to a
// SYN); read on every turn for the backends that are up.
void Daemon::check_refusals() {
  for (const auto& b : state_.backends) {
    auto it = rt_.find(b.id);
    if (it == rt_.end()) continue;
    Runtime& rt = it->second;
    const HealthCheckConfig& hc = checks_of(state_, b);
    if (hc.type == CheckType::None || hc.refusals == 0 || b.path == BackendPath::Down ||
        b.health == Health::Down || !rt.have_entry || rt.decided) {
      rt.passive.primed = false;  // counts again from the next read
      continue;
    }
    auto c = dp_->backend_counters(b.id);
    if (!c) continue;
    if (auto d = judge_refusals(rt.passive, rt.tracker, c->refused, c->new_flows, hc.refusals, b.health))
      rt.decided = *d;
  }
}

void Daemon::turn(Clock::time_point now) {
  for (const auto& out : prober_.poll(now)) handle_outcome(out);
  check_refusals();
  apply_health();
  check_state_file();
  reconcile();  // again each turn: a change that did not land (busy lock) is retried
  check_containers(now);
  check_drains(now);
  sweep_idle_flows(now);
  step_slow_start(now);
  if (replan_ports_at_ && now >= *replan_ports_at_) {
    replan_ports_at_.reset();
    replan([](const SavedBackend& b, const Runtime& rt) {
      return b.name.empty() && !b.fast_path_disabled && !rt.entry.fast_path;
    }, "bridge ports changed");
  }
  if (replan_addresses_at_ && now >= *replan_addresses_at_) {
    replan_addresses_at_.reset();
    if (auto st = modify([](BridgeState&, EntryChanges&) {}); !st)
      spdlog::error("following the addresses: {}", st.error());
  }
  schedule_probes(now);
  announcer_.update(state_, now);
}

Status Daemon::loop(const std::atomic<bool>* stop) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
    return make_error(std::string("sigprocmask: ") + std::strerror(errno));
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sigfd.valid()) return make_error(std::string("signalfd: ") + std::strerror(errno));
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) return make_error(std::string("epoll: ") + std::strerror(errno));
  auto watch = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  watch(sigfd.get());
  watch(prober_.fd());
  watch(worker_->fd());
  auto monitor = net::NetlinkMonitor::open();
  // Addresses may have changed since attach: the guard follows them from here on.
  if (auto g = write_uplink_guard(*dp_, bridge_.ifindex); !g)
    spdlog::warn("uplink guard not updated: {}", g.error());
  if (monitor) watch(monitor->fd());
  else spdlog::warn("no netlink monitor ({}): bridge MAC changes are not followed", monitor.error());

  std::shared_ptr<Heartbeat> beat = opts_.heartbeats ? opts_.heartbeats->add(opts_.bridge + " loop") : nullptr;
  for (;;) {
    if (stop && stop->load()) break;
    const auto now0 = Clock::now();
    if (beat) beat->stamp(now0);  // went round: it wakes at least every 50 ms (next_wakeup)
    const auto wake = next_wakeup(now0);
    const int timeout_ms = wake <= now0 ? 0
        : static_cast<int>(std::chrono::duration_cast<milliseconds>(wake - now0).count()) + 1;
    epoll_event events[8];
    const int n = ::epoll_wait(ep.get(), events, 8, timeout_ms);
    const auto now = Clock::now();
    bool quit = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == sigfd.get()) {
        signalfd_siginfo si{};
        if (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
          spdlog::info("signal {}: stopping; the datapath keeps forwarding without the daemon",
                       strsignal(static_cast<int>(si.ssi_signo)));
          quit = true;
          obs_->emit({observe::EventType::DaemonStopping, {}, {}, {}, 0, strsignal(static_cast<int>(si.ssi_signo))});
        }
      } else if (events[i].data.fd == worker_->fd()) {
        for (auto& done : worker_->take()) {
          try {
            done();
          } catch (const std::exception& e) {
            spdlog::error("daemon: {}", e.what());
          }
        }
      } else if (monitor && events[i].data.fd == monitor->fd()) {
        auto st = monitor->read_events([&](const net::NetEvent& ev) { on_net_event(ev, now); });
        if (!st) {
          spdlog::warn("netlink events lost ({}): reinstalling every backend", st.error());
          if (auto b = net::get_link(bridge_.ifindex)) bridge_ = *b;
          replan([](const SavedBackend&, const Runtime& rt) { return rt.have_entry; }, "netlink resync");
        }
      }
    }
    if (quit) {
      if (opts_.withdraw_on_stop) announcer_.withdraw_all();
      break;
    }
    // What escapes one turn (a library that throws) is logged; the next turn tries again.
    try {
      turn(now);
    } catch (const std::exception& e) {
      spdlog::error("daemon loop: {}; going on", e.what());
    }
  }
  return {};
}

}  // namespace

std::string daemon_pid_file(const std::string& state_dir, const std::string& bridge) {
  return state_dir + "/" + bridge + ".daemon.pid";
}

Status run_daemon(const DaemonOptions& options, const std::atomic<bool>* stop,
                  const std::function<void()>& ready) {
  // One daemon per bridge: the pid file stays locked while it runs.
  XDPLB_TRY(ensure_state_dir(options.state_dir));
  const std::string pid_path = daemon_pid_file(options.state_dir, options.bridge);
  auto opened = open_private_file(pid_path, O_RDWR);
  if (!opened) return make_error("pid file: " + opened.error());
  UniqueFd pid_fd = std::move(*opened);
  if (::flock(pid_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char other[32] = {};
    (void)!::pread(pid_fd.get(), other, sizeof other - 1, 0);
    std::string pid(other);
    while (!pid.empty() && pid.back() == '\n') pid.pop_back();
    return make_error("a daemon already runs for " + options.bridge + " (pid " + pid + ", " +
                      pid_path + "): stop it first");
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(pid_fd.get(), 0) == 0) (void)!::pwrite(pid_fd.get(), me.data(), me.size(), 0);

  if (!Datapath::is_attached(options.pin_dir))
    return make_error("bridge " + options.bridge + " is not attached (no pins in " + options.pin_dir +
                      "): run `xdplb attach " + options.bridge + "` first");
  auto dp = Datapath::open(options.pin_dir);
  if (!dp) return make_error(dp.error());
  auto bridge = net::get_link(options.bridge);
  if (!bridge) return make_error(bridge.error());
  auto prober = Prober::create();
  if (!prober) return make_error(prober.error());
  auto worker = Worker::create(options.heartbeats ? options.heartbeats->add(options.bridge + " worker") : nullptr);
  if (!worker) return make_error(worker.error());
  auto obs = observe::Observer::start({options.bridge, options.pin_dir, options.state_dir, options.metrics, options.events});
  if (!obs) return make_error(obs.error());
  if (auto port = (*obs)->metrics_port())
    spdlog::info("metrics on http://{}/metrics", Endpoint{options.metrics->addr, *port}.to_string());
  Daemon d(options, std::move(*dp), std::move(*bridge), std::move(*prober), std::move(*worker), std::move(*obs));
  XDPLB_TRY(d.start());
  std::unique_ptr<ControlServer> control;
  if (options.control) {
    auto c = ControlServer::start(options.state_dir, options.bridge, options.control);
    if (!c) return make_error(c.error());
    control = std::move(*c);
  }
  if (ready) ready();
  auto st = d.loop(stop);
  ::unlink(pid_path.c_str());
  return st;
}

}  // namespace xdplb
