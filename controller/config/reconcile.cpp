#include "config/reconcile.h"

#include <algorithm>

#include "config/diff.h"

namespace xdplb::config {

namespace {

const ServiceSpec* find_spec(const BridgeSpec& want, const std::string& name) {
  for (const auto& s : want.services)
    if (s.service.name == name) return &s;
  return nullptr;
}

// The spec a saved backend stands for: same container name, or same address and port.
const BackendSpec* spec_of(const ServiceSpec& svc, const SavedBackend& b) {
  for (const auto& s : svc.backends) {
    if (!b.name.empty() ? s.container == b.name : (s.container.empty() && s.address == b.addr && s.port == b.port))
      return &s;
  }
  return nullptr;
}

bool saved_matches(const SavedBackend& b, const BackendSpec& s) {
  return !s.container.empty() ? b.name == s.container : (b.name.empty() && b.addr == s.address && b.port == s.port);
}

// The settings of `s` on `b`; true if the backend must be resolved again for them (its path
// depends on the port, where the container lives and the fast-path switch).
bool take_settings(SavedBackend& b, const BackendSpec& s) {
  bool again = false;
  if (b.port != s.port || b.fast_path_disabled != !s.fast_path || b.lxcpath != s.lxcpath) again = true;
  if (!s.container.empty() && s.source != BackendSource::Auto && s.source != b.source) {
    b.source = s.source;
    again = true;
  }
  b.port = s.port;
  b.fast_path_disabled = !s.fast_path;
  b.lxcpath = s.lxcpath;
  b.weight = s.weight;
  b.backup = s.backup;
  if (b.drained != s.drain) {  // a new drain counts afresh (the daemon stamps its start)
    b.drain_end.clear();
    b.drain_started_ms = 0;
  }
  b.drained = s.drain;
  return again;
}

}  // namespace

Result<Reconciled> reconcile(const BridgeState& now, const BridgeSpec& want,
                             const std::vector<int>& container_families) {
  Reconciled r;
  BridgeState& st = r.state;
  st = now;
  st.bridge = want.name;

  // Services: kept ones keep their slot (their pools and flows), new ones get a free slot.
  // Slots of services about to go stay taken until the end, so no pool serves two at once.
  for (const auto& spec : want.services) {
    ServiceConfig* had = find_service(st, spec.service.name);
    if (had) {
      const bool checks_off = spec.service.health_check.type == CheckType::None &&
                              had->health_check.type != CheckType::None;
      const uint32_t slot = had->slot;
      *had = spec.service;
      had->slot = slot;
      // No checks: forget what they found, so the backends they took out come back.
      if (checks_off)
        for (size_t i = 0; i < st.backends.size(); ++i) {
          SavedBackend& b = st.backends[i];
          if (b.service != spec.service.name || b.health == Health::Unchecked) continue;
          if (b.health == Health::Down) r.resolve.push_back(i);
          b.health = Health::Unchecked;
          b.health_reason.clear();
        }
      continue;
    }
    auto slot = allocate_service_slot(st);
    if (!slot) return make_error(slot.error());
    ServiceConfig svc = spec.service;
    svc.slot = *slot;
    st.services.push_back(std::move(svc));
  }

  // Backends: kept (same id, health and counters) with the settings written, or removed.
  for (size_t i = 0; i < st.backends.size(); ++i) {
    SavedBackend& b = st.backends[i];
    const ServiceSpec* svc = find_spec(want, b.service);
    const BackendSpec* spec = svc ? spec_of(*svc, b) : nullptr;
    if (!spec) {
      r.removed.insert(b.id);
      continue;
    }
    if (take_settings(b, *spec) && std::find(r.resolve.begin(), r.resolve.end(), i) == r.resolve.end())
      r.resolve.push_back(i);
  }
  // New backends: a container is one entry per address family of the bridge.
  for (const auto& svc : want.services)
    for (const auto& spec : svc.backends) {
      const bool known = std::any_of(st.backends.begin(), st.backends.end(), [&](const SavedBackend& b) {
        return b.service == svc.service.name && !r.removed.count(b.id) && saved_matches(b, spec);
      });
      if (known) continue;
      const std::vector<int> families =
          spec.container.empty() ? std::vector<int>{spec.address.is_v6() ? 6 : 4} : container_families;
      for (int family : families) {
        SavedBackend b;
        b.service = svc.service.name;
        b.name = spec.container;
        b.source = spec.source;
        b.addr = spec.address;
        b.family = family;
        auto id = allocate_backend_id(st);
        if (!id) return make_error(id.error());
        b.id = *id;
        take_settings(b, spec);
        r.new_ids.insert(b.id);
        st.backends.push_back(std::move(b));
        r.resolve.push_back(st.backends.size() - 1);
      }
    }

  // Now the services and backends that go (indices in `resolve` shift accordingly).
  std::vector<size_t> resolve;
  std::vector<SavedBackend> kept;
  for (size_t i = 0; i < st.backends.size(); ++i) {
    if (r.removed.count(st.backends[i].id)) continue;
    if (std::find(r.resolve.begin(), r.resolve.end(), i) != r.resolve.end()) resolve.push_back(kept.size());
    kept.push_back(std::move(st.backends[i]));
  }
  st.backends = std::move(kept);
  r.resolve = std::move(resolve);
  std::erase_if(st.services, [&](const ServiceConfig& s) { return !find_spec(want, s.name); });
  return r;
}

}  // namespace xdplb::config
