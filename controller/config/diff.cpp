#include "config/diff.h"

#include <functional>

namespace xdplb::config {

namespace {

std::string ports_text(const ServiceConfig& s) {
  return s.port == s.port_last ? std::to_string(s.port) : std::to_string(s.port) + "-" + std::to_string(s.port_last);
}

std::string list_text(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "(default route interfaces)" : out;
}

std::string listen_text(const ServiceConfig& s) {
  std::string out;
  for (const auto& a : s.listen) out += (out.empty() ? "" : ",") + a.to_string();
  return out.empty() ? "(default addresses)" : out;
}

std::string health_text(const HealthCheckConfig& h) {
  std::string out = name_of(h.type);
  if (h.type == CheckType::Http)
    out += " GET " + h.http_path + " " + std::to_string(h.expect_min) + "-" + std::to_string(h.expect_max);
  out += " every " + std::to_string(h.interval_ms) + "ms timeout " + std::to_string(h.timeout_ms) + "ms rise " +
         std::to_string(h.rise) + " fall " + std::to_string(h.fall);
  if (h.slow_start_ms) out += " slow start " + std::to_string(h.slow_start_ms) + "ms";
  return out;
}

std::string describe(const ServiceConfig& s) {
  return ports_text(s) + "/" + name_of(s.protos) + " -> port " + std::to_string(s.backend_port) + " on " +
         listen_text(s) + ", " + name_of(s.scheduler) + ", affinity " + name_of(s.affinity) + ", health " +
         health_text(s.health_check);
}

std::string describe(const BackendSpec& b) {
  std::string out = backend_key(b);
  if (!b.container.empty()) out += " port " + std::to_string(b.port);
  out += " weight " + std::to_string(b.weight);
  if (b.backup) out += " backup";
  if (b.drain) out += " drained";
  if (!b.fast_path) out += " no-fast-path";
  return out;
}


void compare_service(const std::string& where, const ServiceConfig& a, const ServiceConfig& b,
                     std::vector<std::string>& out) {
  auto field = [&](const char* name, const std::string& x, const std::string& y) {
    if (x != y) out.push_back("~ " + where + ": " + name + " " + x + " -> " + y);
  };
  field("port", ports_text(a), ports_text(b));
  field("backend_port", std::to_string(a.backend_port), std::to_string(b.backend_port));
  field("proto", name_of(a.protos), name_of(b.protos));
  field("listen", listen_text(a), listen_text(b));
  field("scheduler", name_of(a.scheduler), name_of(b.scheduler));
  field("affinity", name_of(a.affinity), name_of(b.affinity));
  field("health", health_text(a.health_check), health_text(b.health_check));
}

// A container asked for with source auto matches the LXD or LXC one it was resolved to.
bool same_source(BackendSource now, BackendSource want) {
  return now == want || want == BackendSource::Auto;
}

void compare_backend(const std::string& where, const BackendSpec& a, const BackendSpec& b,
                     std::vector<std::string>& out) {
  auto field = [&](const char* name, const std::string& x, const std::string& y) {
    if (x != y) out.push_back("~ " + where + ": " + name + " " + x + " -> " + y);
  };
  auto yes = [](bool v) { return std::string(v ? "true" : "false"); };
  field("port", std::to_string(a.port), std::to_string(b.port));
  if (!same_source(a.source, b.source)) field("source", name_of(a.source), name_of(b.source));
  field("lxcpath", a.lxcpath.empty() ? "(default)" : a.lxcpath, b.lxcpath.empty() ? "(default)" : b.lxcpath);
  field("weight", std::to_string(a.weight), std::to_string(b.weight));
  field("backup", yes(a.backup), yes(b.backup));
  field("drain", yes(a.drain), yes(b.drain));
  field("fast_path", yes(a.fast_path), yes(b.fast_path));
}

const ServiceSpec* find(const std::vector<ServiceSpec>& v, const std::string& name) {
  for (const auto& s : v)
    if (s.service.name == name) return &s;
  return nullptr;
}

}  // namespace

const BackendSpec* find_backend(const std::vector<BackendSpec>& v, const BackendSpec& like) {
  const std::string key = backend_key(like);
  for (const auto& b : v)
    if (backend_key(b) == key) return &b;
  return nullptr;
}

std::vector<std::string> diff_bridge(const BridgeSpec& now, const BridgeSpec& want) {
  std::vector<std::string> out;
  // No uplinks written: whatever carries the default route, as attach picks them.
  if (!want.uplinks.empty() && now.uplinks != want.uplinks)
    out.push_back("~ bridge " + want.name + ": uplinks " + list_text(now.uplinks) + " -> " + list_text(want.uplinks));
  if (now.xdp_mode != want.xdp_mode)
    out.push_back("~ bridge " + want.name + ": xdp_mode " + name_of(now.xdp_mode) + " -> " + name_of(want.xdp_mode));
  if (now.attach.flow_table != want.attach.flow_table)
    out.push_back("~ bridge " + want.name + ": flow_table " + std::to_string(now.attach.flow_table) + " -> " +
                  std::to_string(want.attach.flow_table));
  if (now.attach.syn_table != want.attach.syn_table)
    out.push_back("~ bridge " + want.name + ": syn_table " + std::to_string(now.attach.syn_table) + " -> " +
                  std::to_string(want.attach.syn_table));
  if (hairpin_text(now.attach) != hairpin_text(want.attach))
    out.push_back("~ bridge " + want.name + ": hairpin_ports " + hairpin_text(now.attach) + " -> " + hairpin_text(want.attach));
  if (now.attach.host_local != want.attach.host_local)
    out.push_back("~ bridge " + want.name + ": host_local " + (now.attach.host_local ? "true" : "false") + " -> " +
                  (want.attach.host_local ? "true" : "false"));
  for (const auto& s : now.services)
    if (!find(want.services, s.service.name))
      out.push_back("- service " + s.service.name + " (" + describe(s.service) + ") and its " +
                    std::to_string(s.backends.size()) + " backends");
  for (const auto& w : want.services) {
    const ServiceSpec* n = find(now.services, w.service.name);
    const std::string where = "service " + w.service.name;
    if (!n) {
      out.push_back("+ " + where + " (" + describe(w.service) + ")");
      for (const auto& b : w.backends) out.push_back("+ backend " + describe(b) + " of " + where);
      continue;
    }
    compare_service(where, n->service, w.service, out);
    for (const auto& b : n->backends)
      if (!find_backend(w.backends, b)) out.push_back("- backend " + describe(b) + " of " + where);
    for (const auto& b : w.backends) {
      const BackendSpec* had = find_backend(n->backends, b);
      if (!had) out.push_back("+ backend " + describe(b) + " of " + where);
      else compare_backend("backend " + backend_key(b) + " of " + where, *had, b, out);
    }
  }
  return out;
}

}  // namespace xdplb::config
