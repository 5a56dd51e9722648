// apply -f FILE / export: the declarative config (controller/config/) against what runs. The
// whole file is one change: each bridge's transaction (lb/transaction.h) is kept open until
// every bridge is done; if one fails, those before it are rolled back (and detached again if the
// file attached them).
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "bgp/store.h"
#include "cli/commands.h"
#include "cli/upgrade.h"
#include "config/diff.h"
#include "config/reconcile.h"
#include "config/yaml_config.h"
#include "core/state.h"
#include "datapath/datapath.h"
#include "datapath/meta.h"
#include "lb/backends.h"

namespace xdplb::cli {

namespace {

// One bridge of the file, next to what it runs now.
struct BridgePlan {
  const config::BridgeSpec* want = nullptr;
  bool attached = false;
  std::optional<BridgeState> saved;  // the saved state (attach restores it before the config applies)
  std::vector<std::string> changes;
};

Result<BridgePlan> plan_bridge(const Globals& g, const config::BridgeSpec& want) {
  BridgePlan p;
  p.want = &want;
  p.attached = Datapath::is_attached(g.pin_dir(want.name));
  auto saved = load_state(g.state_dir(), want.name);
  if (!saved) return make_error(saved.error());
  p.saved = *saved;
  BridgeState now = saved->value_or(BridgeState{});
  now.bridge = want.name;
  if (!p.attached) {
    // attach takes the uplinks and mode from the file; what it restores is the saved state.
    now.uplinks = want.uplinks;
    now.xdp_mode = want.xdp_mode;
    now.attach = want.attach;
  }
  p.changes = config::diff_bridge(config::spec_of_state(now), want);
  if (!p.attached) p.changes.insert(p.changes.begin(), "+ attach " + want.name);
  if (auto version = read_meta(g.pin_dir(want.name)); p.attached && version && version->value_or(0) != abi_version())
    p.changes.insert(p.changes.begin(), "~ replace the datapath of " + want.name + ": its pins are of ABI version " +
                                            std::to_string(version->value_or(0)) + ", this xdplb's is " +
                                            std::to_string(abi_version()));
  return p;
}

// Uplinks and XDP mode are fixed while a bridge is attached.
Status check_reattach(const BridgePlan& p, const BridgeState& now) {
  if (!p.attached) return {};
  const auto& w = *p.want;
  if ((!w.uplinks.empty() && w.uplinks != now.uplinks) || w.xdp_mode != now.xdp_mode || w.attach != now.attach)
    return make_error("bridge " + w.name + ": its uplinks, XDP mode, flow_table, syn_table, hairpin_ports or host_local differ from "
                      "the file's, and they are fixed while it " +
                      "is attached: run `xdplb detach " + w.name + "` and apply again (the config is restored then)");
  return {};
}

// `xdplb attach` with the file's settings for the bridge.
AttachArgs attach_args(const config::BridgeSpec& want) {
  AttachArgs a;
  a.bridge = want.name;
  a.uplinks = want.uplinks;
  a.xdp_mode = name_of(want.xdp_mode);
  a.flow_table = want.attach.flow_table;
  a.syn_table = want.attach.syn_table;
  a.hairpin_ports = hairpin_text(want.attach);
  a.no_host_local = !want.attach.host_local;
  return a;
}

// A bridge the file changed, its transaction still open.
struct Applied {
  std::string bridge;
  bool attached_here = false;  // the file attached it: undone by detaching again
  std::optional<BridgeState> saved;  // its saved state before
  std::unique_ptr<PendingUpgrade> upgrade;  // the file replaced its datapath (another ABI version)
  std::optional<std::string> state_text;    // its state file before that, as it was written
  std::optional<BridgeSession> session;
  std::optional<PendingChange> change;
};

// Takes a bridge back to before the file: its transaction rolled back, the attach undone.
Status undo_bridge(const Globals& g, Applied& a) {
  Status out;
  if (a.change) out = a.change->rollback();
  a.change.reset();  // releases the bridge's lock
  a.session.reset();
  if (a.upgrade) {
    // The old programs and maps back, and the state file as before the file.
    // (byte for byte: it may be of an older format, which this build would write another way).
    if (auto s = a.upgrade->undo(); !s) out = make_error("undoing the upgrade: " + s.error());
    a.upgrade.reset();
    if (a.state_text)
      if (auto s = save_state_text(g.state_dir(), a.bridge, *a.state_text); !s)
        out = make_error("putting the state file back: " + s.error());
  }
  if (a.attached_here) {
    if (auto s = Datapath::detach(g.pin_dir(a.bridge)); !s) out = make_error("undoing the attach: " + s.error());
    // The state file as before the attach (which saves what it restored), or none as before.
    if (auto s = a.saved ? save_state(g.state_dir(), *a.saved) : remove_state(g.state_dir(), a.bridge); !s)
      out = make_error("putting the state file back: " + s.error());
  }
  return out;
}

Status apply_bridge(const Globals& g, const BridgePlan& p, Applied& applied) {
  const auto& want = *p.want;
  applied.bridge = want.name;
  applied.saved = p.saved;
  bool& attached_here = applied.attached_here;
  // Pins of another ABI version (a newer package installed): attach replaces them in place.
  // Pending until every bridge is done: a later bridge that fails puts the old one back.
  if (auto version = read_meta(g.pin_dir(want.name)); p.attached && version && version->value_or(0) != abi_version()) {
    if (std::ifstream in(state_file(g.state_dir(), want.name)); in)
      applied.state_text = std::string(std::istreambuf_iterator<char>(in), {});
    AttachArgs args = attach_args(want);
    args.pending_upgrade = &applied.upgrade;
    if (run_attach(g, args) != 0) return make_error("replacing the datapath of " + want.name + " failed (see above)");
  }
  if (!p.attached) {
    if (run_attach(g, attach_args(want)) != 0) return make_error("attaching " + want.name + " failed (see above)");
    attached_here = true;
  }
  auto opened = open_bridge(g, want.name, "apply");
  if (!opened) {
    (void)undo_bridge(g, applied);
    return make_error("bridge " + want.name + ": " + opened.error());
  }
  applied.session.emplace(std::move(*opened));
  const BridgeSession* session = &*applied.session;
  std::vector<std::string> report;
  auto done = session->stage([&](BridgeState& state, EntryChanges& entries) -> Status {
    XDPLB_TRY(check_reattach(p, state));
    auto r = config::reconcile(state, want, bridge_families(session->link));
    if (!r) return make_error(r.error());
    state = std::move(r->state);
    entries.new_ids = r->new_ids;
    entries.remove = r->removed;
    for (size_t i : r->resolve) {
      SavedBackend& b = state.backends[i];
      // A container that is not running yet (at boot) is kept as down; the daemon or
      // `backend refresh` brings it in.
      if (auto plan = resolve_backend(session->link, b, kDefaultContainerWait, b.health != Health::Down); plan) {
        entries.put[b.id] = plan->entry;
      } else {
        mark_down(b, plan.error(), entries);
        report.push_back("backend " + describe(b) + " is down for now: " + plan.error());
      }
    }
    return {};
  });
  if (!done) {
    if (auto s = undo_bridge(g, applied); !s) std::cerr << "xdplb: " << s.error() << "\n";
    return make_error("bridge " + want.name + ": " + done.error() + (attached_here ? " (attach undone)" : " (nothing changed)"));
  }
  applied.change.emplace(std::move(*done));
  for (const auto& line : report) std::cout << line << "\n";
  return {};
}

}  // namespace

Result<std::string> read_input(const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file);
  if (!in) return make_error("cannot read " + file + ": give an existing file, or - for stdin");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_apply(const Globals& g, const ApplyArgs& a) {
  auto text = read_input(a.file);
  if (!text) return fail(text.error());
  auto cfg = config::parse_config(*text, a.file == "-" ? "<stdin>" : a.file);
  if (!cfg) return fail(cfg.error());
  if (!a.dry_run)
    if (auto s = require_root("apply"); !s) return fail(s.error());
  std::vector<BridgePlan> plans;
  for (const auto& b : cfg->bridges) {
    auto p = plan_bridge(g, b);
    if (!p) return fail(p.error());
    if (p->attached) {
      auto saved = load_state(g.state_dir(), b.name);
      if (saved && saved->has_value())
        if (auto s = check_reattach(*p, **saved); !s) return fail(s.error());
    }
    plans.push_back(std::move(*p));
  }
  size_t changes = 0;
  for (const auto& p : plans) changes += p.changes.size();
  // The node's BGP section (bgp.json) is a change of its own, saved after the bridges.
  auto bgp_before = bgp::load_bgp(g.state_dir());
  if (!bgp_before) return fail(bgp_before.error());
  const char* bgp_change = *bgp_before == cfg->bgp ? nullptr : !cfg->bgp ? "- bgp" : *bgp_before ? "~ bgp" : "+ bgp";
  if (bgp_change) ++changes;
  if (a.dry_run) {
    if (bgp_change) std::cout << bgp_change << "\n";
    for (const auto& p : plans) {
      if (p.changes.empty()) continue;
      std::cout << "bridge " << p.want->name << ":\n";
      for (const auto& line : p.changes) std::cout << "  " << line << "\n";
    }
    std::cout << (changes ? std::to_string(changes) + " changes (dry run: nothing changed)" : "no difference") << "\n";
    return 0;
  }
  // Every bridge or none: the transactions stay open until the last one is done.
  std::vector<Applied> applied;
  for (const auto& p : plans) {
    if (p.changes.empty()) continue;
    Applied a;
    if (auto s = apply_bridge(g, p, a); !s) {
      std::string undone;
      for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
        if (auto u = undo_bridge(g, *it); !u) std::cerr << "xdplb: bridge " << it->bridge << ": " << u.error() << "\n";
        undone += (undone.empty() ? "" : ", ") + it->bridge;
      }
      return fail(s.error() + (undone.empty() ? "" : "; bridges " + undone + " are back as they were"));
    }
    applied.push_back(std::move(a));
  }
  for (auto& a : applied) {
    a.change->commit();
    if (a.upgrade)
      if (auto s = a.upgrade->commit(); !s) std::cerr << "xdplb: bridge " << a.bridge << ": " << s.error() << "\n";
  }
  // The node's BGP section, for the daemon (which announces) and status.
  if (bgp_change) {
    if (auto s = bgp::save_bgp(g.state_dir(), cfg->bgp); !s) return fail(s.error() + " (the bridges are applied)");
    std::cout << bgp_change << " (the daemon announces from it)\n";
  }
  for (const auto& p : plans) {
    if (p.changes.empty()) {
      std::cout << "bridge " << p.want->name << ": no difference\n";
      continue;
    }
    std::cout << "bridge " << p.want->name << ": applied " << p.changes.size() << " changes\n";
    for (const auto& line : p.changes) std::cout << "  " << line << "\n";
  }
  return 0;
}

int run_export(const Globals& g, const ShowArgs& a) {
  std::vector<std::string> bridges;
  if (a.bridge) {
    bridges.push_back(*a.bridge);
  } else {
    auto saved = list_bridges(g.state_dir());
    if (!saved) return fail(saved.error());
    for (const auto& b : *saved)
      if (Datapath::is_attached(g.pin_dir(b))) bridges.push_back(b);
  }
  config::ConfigFile out;
  auto bgp_config = bgp::load_bgp(g.state_dir());  // so that applying the export keeps it
  if (!bgp_config) return fail(bgp_config.error());
  out.bgp = *bgp_config;
  for (const auto& name : bridges) {
    auto saved = load_state(g.state_dir(), name);
    if (!saved) return fail(saved.error());
    if (!saved->has_value()) return fail("bridge " + name + " has no saved state in " + g.state_dir() + ": attach it first");
    out.bridges.push_back(config::spec_of_state(**saved));
  }
  std::cout << "# xdplb config: `xdplb apply -f FILE` makes these bridges run exactly this.\n"
            << config::config_to_yaml(out);
  return 0;
}

}  // namespace xdplb::cli
