#include "core/state.h"

#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xdplb/abi.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/parse.h"

namespace xdplb {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Typed, defaulted reads from a JSON object: a missing key keeps the default, a key of the
// wrong type is an error naming the key.
class Reader {
 public:
  Reader(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  Status str(const char* key, std::string& out) const {
    if (!obj_.contains(key)) return {};
    if (!obj_[key].is_string()) return bad(key, "a string");
    out = obj_[key].get<std::string>();
    return {};
  }
  Status boolean(const char* key, bool& out) const {
    if (!obj_.contains(key)) return {};
    if (!obj_[key].is_boolean()) return bad(key, "true or false");
    out = obj_[key].get<bool>();
    return {};
  }
  template <typename T>
  Status number(const char* key, T& out, uint64_t lo, uint64_t hi) const {
    if (!obj_.contains(key)) return {};
    const json& v = obj_[key];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
      return bad(key, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    out = static_cast<T>(v.get<uint64_t>());
    return {};
  }
  template <typename E>
  Status name(const char* key, E& out) const {
    if (!obj_.contains(key)) return {};
    if (!obj_[key].is_string()) return bad(key, "a string");
    auto v = parse_name<E>(obj_[key].get<std::string>());
    if (!v) return fail("\"" + std::string(key) + "\": " + v.error());
    out = *v;
    return {};
  }
  Status array(const char* key, const json*& out) const {
    out = nullptr;
    if (!obj_.contains(key)) return {};
    if (!obj_[key].is_array()) return bad(key, "a list");
    out = &obj_[key];
    return {};
  }
  Error fail(const std::string& what) const { return make_error(where_ + ": " + what); }

 private:
  Error bad(const char* key, const std::string& expected) const {
    return fail("\"" + std::string(key) + "\" must be " + expected);
  }
  const json& obj_;
  std::string where_;
};

Result<SavedBackend> backend_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": must be an object");
  Reader r(j, where);
  SavedBackend b;
  if (!j.contains("id")) return r.fail("\"id\" is missing");
  XDPLB_TRY(r.number("id", b.id, 0, XDPLB_MAX_BACKENDS - 1));
  XDPLB_TRY(r.str("service", b.service));
  XDPLB_TRY(r.str("name", b.name));
  XDPLB_TRY(r.name("source", b.source));
  std::string addr;
  XDPLB_TRY(r.str("addr", addr));
  if (!addr.empty()) {
    auto a = IpAddress::parse(addr);
    if (!a) return r.fail("\"addr\": " + a.error());
    b.addr = *a;
  } else if (b.name.empty()) {
    return r.fail("has neither \"addr\" nor \"name\"");
  }
  // Missing in files written before IPv6 backends: IPv4 then.
  b.family = b.addr.is_v6() ? 6 : 4;
  XDPLB_TRY(r.number("family", b.family, 4, 6));
  if (b.family != 4 && b.family != 6) return r.fail("\"family\" must be 4 or 6");
  if (b.addr.family && b.addr.is_v6() != (b.family == 6))
    return r.fail("\"addr\" " + addr + " is not an IPv" + std::to_string(b.family) + " address");
  XDPLB_TRY(r.number("port", b.port, 1, 65535));
  XDPLB_TRY(r.number("weight", b.weight, 1, XDPLB_MAX_WEIGHT));
  XDPLB_TRY(r.boolean("fast_path_disabled", b.fast_path_disabled));
  XDPLB_TRY(r.str("lxcpath", b.lxcpath));
  XDPLB_TRY(r.name("path", b.path));
  XDPLB_TRY(r.str("via", b.via));
  XDPLB_TRY(r.str("path_reason", b.path_reason));
  XDPLB_TRY(r.boolean("drained", b.drained));
  XDPLB_TRY(r.str("drain_end", b.drain_end));
  XDPLB_TRY(r.number("drain_started_ms", b.drain_started_ms, 0, uint64_t{INT64_MAX}));
  XDPLB_TRY(r.boolean("backup", b.backup));
  XDPLB_TRY(r.name("health", b.health));
  XDPLB_TRY(r.str("health_reason", b.health_reason));
  return b;
}

Result<HealthCheckConfig> health_check_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": must be an object");
  Reader r(j, where);
  HealthCheckConfig h;
  XDPLB_TRY(r.name("type", h.type));
  XDPLB_TRY(r.str("http_path", h.http_path));
  if (h.http_path.empty() || h.http_path.front() != '/') return r.fail("\"http_path\" must start with /");
  XDPLB_TRY(r.number("expect_min", h.expect_min, 100, 599));
  XDPLB_TRY(r.number("expect_max", h.expect_max, 100, 599));
  if (h.expect_min > h.expect_max) return r.fail("\"expect_min\" is above \"expect_max\"");
  XDPLB_TRY(r.number("interval_ms", h.interval_ms, kMinHealthIntervalMs, 3600000));
  XDPLB_TRY(r.number("timeout_ms", h.timeout_ms, 10, 3600000));
  XDPLB_TRY(r.number("rise", h.rise, 1, 100));
  XDPLB_TRY(r.number("fall", h.fall, 1, 100));
  XDPLB_TRY(r.number("slow_start_ms", h.slow_start_ms, 0, 3600000));
  XDPLB_TRY(r.number("panic_threshold", h.panic_threshold, 0, 100));
  XDPLB_TRY(r.number("refusals", h.refusals, 0, 1000));
  return h;
}

nlohmann::ordered_json health_check_to_json(const HealthCheckConfig& h) {
  return {{"type", name_of(h.type)},     {"http_path", h.http_path},
          {"expect_min", h.expect_min}, {"expect_max", h.expect_max},
          {"interval_ms", h.interval_ms}, {"timeout_ms", h.timeout_ms},
          {"rise", h.rise},             {"fall", h.fall},
          {"slow_start_ms", h.slow_start_ms}, {"panic_threshold", h.panic_threshold},
          {"refusals", h.refusals}};
}

// The settings of one service, from a version-2 "services" entry or (version 1) from the
// top level of the file, where the one implicit service kept them.
Status service_fields_from_json(const json& j, const Reader& r, const std::string& where,
                                ServiceConfig& svc) {
  XDPLB_TRY(r.number("port", svc.port, 1, 65535));
  svc.port_last = svc.port;
  XDPLB_TRY(r.number("port_last", svc.port_last, 1, 65535));
  if (svc.port_last < svc.port) return r.fail("\"port_last\" is below \"port\"");
  XDPLB_TRY(r.number("backend_port", svc.backend_port, 1, 65535));
  XDPLB_TRY(r.number("backend_port_last", svc.backend_port_last, 0, 65535));
  if (auto st = check_backend_ports(svc); !st) return r.fail(st.error());
  bool tcp = true, udp = true;
  XDPLB_TRY(r.boolean("tcp", tcp));
  XDPLB_TRY(r.boolean("udp", udp));
  if (!tcp && !udp) return r.fail("\"tcp\" and \"udp\" are both false");
  svc.protos = tcp && udp ? ProtoSet::Both : tcp ? ProtoSet::Tcp : ProtoSet::Udp;
  std::string sched = name_of(svc.scheduler);
  XDPLB_TRY(r.str("scheduler", sched));
  auto parsed = parse_scheduler(sched);
  if (!parsed) return r.fail("\"scheduler\": " + parsed.error());
  svc.scheduler = static_cast<Scheduler>(*parsed);
  XDPLB_TRY(r.name("affinity", svc.affinity));
  if (!svc.tcp()) svc.health_check.type = CheckType::None;  // a TCP probe of a UDP-only port fails
  if (j.contains("health_check")) {
    auto h = health_check_from_json(j["health_check"], where + ", \"health_check\"");
    if (!h) return make_error(h.error());
    svc.health_check = *h;
  }
  const json* list = nullptr;
  XDPLB_TRY(r.array("listen", list));
  if (list) {
    for (const auto& a : *list) {
      if (!a.is_string()) return r.fail("\"listen\" must be a list of addresses");
      auto addr = IpAddress::parse(a.get<std::string>());
      if (!addr) return r.fail("\"listen\": " + addr.error());
      svc.listen.push_back(*addr);
    }
  }
  return {};
}

Result<ServiceConfig> service_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(where + ": must be an object");
  Reader r(j, where);
  ServiceConfig svc;
  if (!j.contains("name")) return r.fail("\"name\" is missing");
  XDPLB_TRY(r.str("name", svc.name));
  if (auto st = check_service_name(svc.name); !st) return r.fail(st.error());
  XDPLB_TRY(r.number("slot", svc.slot, 0, XDPLB_MAX_SERVICE_OBJECTS - 1));
  XDPLB_TRY(service_fields_from_json(j, r, where, svc));
  return svc;
}

}  // namespace

std::string hairpin_text(const AttachSettings& a) {
  return std::to_string(a.hairpin_first) + "-" + std::to_string(a.hairpin_last);
}

Status check_backend_ports(const ServiceConfig& s) {
  if (s.backend_port_last && s.backend_port_last < s.backend_port)
    return make_error("backend port range " + port_range_text(s.backend_port, s.backend_port_last) +
                      ": the first port must not be above the last");
  if (!s.maps_range()) return {};
  const unsigned ports = s.port_last - s.port + 1u, backend_ports = s.backend_port_last - s.backend_port + 1u;
  if (ports != backend_ports)
    return make_error("ports " + port_range_text(s.port, s.port_last) + " are " + std::to_string(ports) +
                      " and backend ports " + port_range_text(s.backend_port, s.backend_port_last) + " are " +
                      std::to_string(backend_ports) + ": give a backend port range of the same length, or one port");
  return {};
}

uint16_t entry_backend_port(const ServiceConfig& s, uint16_t port) {
  return s.maps_range() ? static_cast<uint16_t>(s.backend_port + (port - s.port)) : 0;
}

std::string port_range_text(uint16_t first, uint16_t last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

std::string state_file(const std::string& dir, const std::string& bridge) {
  return (fs::path(dir) / (bridge + ".json")).string();
}

namespace {
std::string rings_unsure_file(const std::string& dir, const std::string& bridge) {
  return (fs::path(dir) / ("." + bridge + ".rings-unsure")).string();
}
}  // namespace

Status mark_rings_unsure(const std::string& dir, const std::string& bridge) {
  const std::string path = rings_unsure_file(dir, bridge);
  auto fd = open_private_file(path, O_WRONLY);
  if (!fd) return make_error(fd.error());
  return {};
}

bool rings_unsure(const std::string& dir, const std::string& bridge) {
  std::error_code ec;
  // A mark that cannot be checked counts as set.
  return fs::exists(rings_unsure_file(dir, bridge), ec) || ec;
}

void clear_rings_unsure(const std::string& dir, const std::string& bridge) {
  ::unlink(rings_unsure_file(dir, bridge).c_str());
}

std::string state_to_json(const BridgeState& s) {
  // Ordered so the file reads top-down: version, bridge, settings, services, backends.
  nlohmann::ordered_json j;
  j["version"] = kStateVersion;
  j["bridge"] = s.bridge;
  j["uplinks"] = s.uplinks;
  nlohmann::ordered_json modes = nlohmann::ordered_json::array();
  for (const auto& [uplink, mode] : s.xdp_modes) modes.push_back({{"uplink", uplink}, {"mode", name_of(mode)}});
  j["xdp_modes"] = modes;
  j["xdp_mode"] = name_of(s.xdp_mode);
  j["flow_table"] = s.attach.flow_table;
  j["hairpin_ports"] = hairpin_text(s.attach);
  j["host_local"] = s.attach.host_local;
  j["syn_table"] = s.attach.syn_table;
  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  for (const auto& svc : s.services) {
    nlohmann::ordered_json listen = nlohmann::ordered_json::array();
    for (const auto& a : svc.listen) listen.push_back(a.to_string());
    services.push_back({{"name", svc.name},
                        {"slot", svc.slot},
                        {"port", svc.port},
                        {"port_last", svc.port_last},
                        {"backend_port", svc.backend_port},
                        {"backend_port_last", svc.backend_port_last},
                        {"tcp", svc.tcp()},
                        {"udp", svc.udp()},
                        {"listen", listen},
                        {"scheduler", name_of(svc.scheduler)},
                        {"affinity", name_of(svc.affinity)},
                        {"health_check", health_check_to_json(svc.health_check)}});
  }
  j["services"] = services;
  nlohmann::ordered_json backends = nlohmann::ordered_json::array();
  for (const auto& b : s.backends) {
    backends.push_back({{"id", b.id},
                        {"service", b.service},
                        {"name", b.name},
                        {"source", name_of(b.source)},
                        {"addr", b.addr.family ? b.addr.to_string() : ""},
                        {"family", b.addr.family ? (b.addr.is_v6() ? 6 : 4) : b.family},
                        {"port", b.port},
                        {"weight", b.weight},
                        {"backup", b.backup},
                        {"fast_path_disabled", b.fast_path_disabled},
                        {"lxcpath", b.lxcpath},
                        {"path", name_of(b.path)},
                        {"via", b.via},
                        {"path_reason", b.path_reason},
                        {"drained", b.drained},
                        {"drain_end", b.drain_end},
                        {"drain_started_ms", b.drain_started_ms},
                        {"health", name_of(b.health)},
                        {"health_reason", b.health_reason}});
  }
  j["backends"] = backends;
  j["next_backend_id"] = s.next_backend_id;
  return j.dump(2) + "\n";
}

Result<BridgeState> state_from_json(std::string_view text, const std::string& origin) {
  const std::string fix = " (move it away and attach the bridge again, or fix it by hand)";
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return make_error("state file " + origin + " is not valid JSON: " + e.what() + fix);
  }
  if (!j.is_object()) return make_error("state file " + origin + " is not a JSON object" + fix);
  const std::string where = "state file " + origin;
  Reader r(j, where);
  BridgeState s;

  // Files without a version are older than the version field's values: version 1.
  int version = 1;
  XDPLB_TRY(r.number("version", version, 1, 1u << 30));
  if (version > kStateVersion)
    return make_error(where + " has version " + std::to_string(version) + ", this xdplb reads " +
                      "version " + std::to_string(kStateVersion) + ": use a newer xdplb");

  XDPLB_TRY(r.str("bridge", s.bridge));
  if (!s.bridge.empty()) {
    if (auto st = check_interface_name(s.bridge); !st) return r.fail("\"bridge\": " + st.error());
  }

  const json* list = nullptr;
  XDPLB_TRY(r.array("uplinks", list));
  if (list) {
    for (const auto& u : *list) {
      if (!u.is_string()) return r.fail("\"uplinks\" must be a list of interface names");
      s.uplinks.push_back(u.get<std::string>());
    }
  }
  XDPLB_TRY(r.array("xdp_modes", list));
  if (list) {
    for (const auto& m : *list) {
      if (!m.is_object() || !m.contains("uplink") || !m["uplink"].is_string() ||
          !m.contains("mode") || !m["mode"].is_string())
        return r.fail("\"xdp_modes\" entries must look like {\"uplink\": \"eth0\", \"mode\": \"native\"}");
      auto mode = parse_name<XdpMode>(m["mode"].get<std::string>());
      if (!mode) return r.fail("\"xdp_modes\": " + mode.error());
      s.xdp_modes.emplace_back(m["uplink"].get<std::string>(), *mode);
    }
  }
  std::string xdp_mode = name_of(s.xdp_mode);
  XDPLB_TRY(r.str("xdp_mode", xdp_mode));
  auto mode = parse_xdp_mode(xdp_mode);
  if (!mode) return r.fail("\"xdp_mode\": " + mode.error());
  s.xdp_mode = *mode;
  // Attach settings (absent in older files: the defaults they were attached with).
  XDPLB_TRY(r.number("flow_table", s.attach.flow_table, XDPLB_MIN_FLOWS, AttachSettings::kMaxFlowTable));
  std::string hairpin = hairpin_text(s.attach);
  XDPLB_TRY(r.str("hairpin_ports", hairpin));
  auto range = parse_ports(hairpin);
  if (!range || range->first == range->last) return r.fail("\"hairpin_ports\": write MIN-MAX, e.g. 61000-65000");
  s.attach.hairpin_first = range->first;
  s.attach.hairpin_last = range->last;
  XDPLB_TRY(r.boolean("host_local", s.attach.host_local));
  XDPLB_TRY(r.number("syn_table", s.attach.syn_table, 0, AttachSettings::kMaxFlowTable));
  if (auto sizes = check_table_sizes(s.attach.flow_table, s.attach.syn_table); !sizes)
    return r.fail("\"syn_table\": " + sizes.error());
  XDPLB_TRY(r.number("next_backend_id", s.next_backend_id, 0, XDPLB_MAX_BACKENDS));

  if (version == 1) {
    // One implicit service, its settings at the top level: it becomes "default" in slot 0.
    ServiceConfig svc;
    XDPLB_TRY(service_fields_from_json(j, r, where, svc));
    s.services.push_back(std::move(svc));
  } else {
    XDPLB_TRY(r.array("services", list));
    if (list) {
      std::set<std::string> names;
      std::set<uint32_t> slots;
      for (size_t i = 0; i < list->size(); ++i) {
        auto svc = service_from_json((*list)[i], where + ", service #" + std::to_string(i + 1));
        if (!svc) return make_error(svc.error());
        if (!names.insert(svc->name).second) return r.fail("service '" + svc->name + "' is there twice" + fix);
        if (!slots.insert(svc->slot).second)
          return r.fail("service slot " + std::to_string(svc->slot) + " is used twice" + fix);
        s.services.push_back(std::move(*svc));
      }
    }
  }

  XDPLB_TRY(r.array("backends", list));
  if (list) {
    std::set<uint32_t> ids;
    for (size_t i = 0; i < list->size(); ++i) {
      auto b = backend_from_json((*list)[i], where + ", backend #" + std::to_string(i + 1));
      if (!b) return make_error(b.error());
      if (!ids.insert(b->id).second)
        return r.fail("backend id " + std::to_string(b->id) + " is used twice" + fix);
      if (!find_service(s, b->service))
        return r.fail("backend #" + std::to_string(i + 1) + " belongs to service '" + b->service +
                      "', which the file does not have" + fix);
      s.backends.push_back(std::move(*b));
    }
  }
  return s;
}

const ServiceConfig* find_service(const BridgeState& state, std::string_view name) {
  for (const auto& s : state.services)
    if (s.name == name) return &s;
  return nullptr;
}

ServiceConfig* find_service(BridgeState& state, std::string_view name) {
  for (auto& s : state.services)
    if (s.name == name) return &s;
  return nullptr;
}

Result<const ServiceConfig*> choose_service(const BridgeState& state, const std::optional<std::string>& name) {
  auto list = [&] {
    std::string names;
    for (const auto& s : state.services) names += (names.empty() ? "" : ", ") + s.name;
    return names;
  };
  if (name) {
    if (const ServiceConfig* s = find_service(state, *name)) return s;
    return make_error("bridge " + state.bridge + " has no service '" + *name + "'" +
                      (state.services.empty() ? std::string(": add one with `xdplb service add`")
                                              : "; its services: " + list()));
  }
  if (state.services.size() == 1) return &state.services.front();
  if (state.services.empty())
    return make_error("bridge " + state.bridge + " has no service: add one with `xdplb service add NAME --port P`");
  return make_error("bridge " + state.bridge + " has several services (" + list() + "): pick one with --service");
}

Result<uint32_t> allocate_service_slot(const BridgeState& state) {
  for (uint32_t slot = 0; slot < XDPLB_MAX_SERVICE_OBJECTS; ++slot) {
    bool used = false;
    for (const auto& s : state.services) used |= s.slot == slot;
    if (!used) return slot;
  }
  return make_error("bridge " + state.bridge + " already has " + std::to_string(XDPLB_MAX_SERVICE_OBJECTS) +
                    " services, as many as its maps hold (XDPLB_MAX_POOLS / 2): remove one first");
}

Result<std::optional<BridgeState>> load_state(const std::string& dir, const std::string& bridge) {
  XDPLB_TRY(check_interface_name(bridge));
  const std::string path = state_file(dir, bridge);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<BridgeState>();
    return make_error("cannot read state file " + path + ": " + errno_text(errno));
  }
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("cannot read state file " + path + ": " + errno_text(errno));
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  auto s = state_from_json(text, path);
  if (!s) return make_error(s.error());
  if (s->bridge.empty()) s->bridge = bridge;
  if (s->bridge != bridge)
    return make_error("state file " + path + " is for bridge '" + s->bridge +
                      "', not '" + bridge + "': move it away or rename it to " + s->bridge + ".json");
  return std::optional<BridgeState>(std::move(*s));
}

Status ensure_state_dir(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    std::error_code ec;
    const fs::path parent = fs::path(dir).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) return make_error("cannot create state dir " + dir + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error("cannot create state dir " + dir + ": " + errno_text(errno));
    if (::stat(dir.c_str(), &st) != 0) return make_error("state dir " + dir + ": " + errno_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) return make_error("state dir " + dir + " is not a directory: move it away");
  if (st.st_uid != ::geteuid())
    return make_error("state dir " + dir + " belongs to uid " + std::to_string(st.st_uid) + ", not to uid " +
                      std::to_string(::geteuid()) + ": `chown " + std::to_string(::geteuid()) + " " + dir + "`");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return make_error("state dir " + dir + " may be written by others (mode " +
                      [&] {
                        char m[8];
                        std::snprintf(m, sizeof m, "%04o", st.st_mode & 07777);
                        return std::string(m);
                      }() +
                      "): `chmod 0700 " + dir + "`");
  return {};
}

Result<UniqueFd> open_private_file(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid())
    return make_error("cannot open " + path + ": " + errno_text(errno) +
                      (errno == ELOOP ? " (a symlink: remove it)" : ""));
  if (::fchmod(fd.get(), 0600) != 0)  // one made by an older version
    return make_error("cannot chmod " + path + ": " + errno_text(errno));
  return fd;
}

Status save_state(const std::string& dir, const BridgeState& state) {
  return save_state_text(dir, state.bridge, state_to_json(state));
}

Status save_state_text(const std::string& dir, const std::string& bridge, const std::string& text) {
  XDPLB_TRY(check_interface_name(bridge));
  XDPLB_TRY(ensure_state_dir(dir));

  const std::string path = state_file(dir, bridge);
  if (auto s = write_file_atomic(path, text); !s)
    return make_error("cannot save state file " + path + ": " + s.error());
  return {};
}

Result<std::vector<std::string>> list_bridges(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator it(dir, ec);
  if (ec) return make_error("cannot list state dir " + dir + ": " + ec.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.' || name.size() <= 5) continue;
    if (name.compare(name.size() - 5, 5, ".json") != 0) continue;
    if (!entry.is_regular_file(ec)) continue;
    out.push_back(name.substr(0, name.size() - 5));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status remove_state(const std::string& dir, const std::string& bridge) {
  XDPLB_TRY(check_interface_name(bridge));
  const std::string path = state_file(dir, bridge);
  // The lock file stays: unlinking it while another process waits on it would let two
  // processes hold "the" lock on different inodes.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error("cannot remove state file " + path + ": " + errno_text(errno));
  return {};
}

Result<uint32_t> allocate_backend_id(const BridgeState& state) {
  std::vector<bool> used(XDPLB_MAX_BACKENDS, false);
  for (const auto& b : state.backends)
    if (b.id < XDPLB_MAX_BACKENDS) used[b.id] = true;
  for (uint32_t id = 0; id < XDPLB_MAX_BACKENDS; ++id)
    if (!used[id]) return id;
  return make_error("all " + std::to_string(XDPLB_MAX_BACKENDS) + " backend ids of bridge " +
                    state.bridge + " are in use: remove a backend first");
}

Result<StateLock> StateLock::acquire(const std::string& dir, const std::string& bridge,
                                     std::chrono::milliseconds timeout) {
  XDPLB_TRY(check_interface_name(bridge));
  XDPLB_TRY(ensure_state_dir(dir));
  const std::string path = (fs::path(dir) / (bridge + ".lock")).string();
  auto opened = open_private_file(path, O_RDWR);
  if (!opened) return make_error("lock file: " + opened.error());
  UniqueFd fd = std::move(*opened);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      return make_error("cannot lock " + path + ": " + errno_text(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      char holder[32] = {};
      ssize_t n = ::pread(fd.get(), holder, sizeof holder - 1, 0);
      std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return make_error("bridge " + bridge + " is busy: another xdplb command or the daemon" +
                        (pid.empty() ? std::string() : " (pid " + pid + ")") + " holds " + path +
                        " (waited " + std::to_string(timeout.count()) +
                        " ms); try again when it has finished");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Record the holder for the message above; best effort.
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)!::pwrite(fd.get(), me.data(), me.size(), 0);
  return StateLock(std::move(fd), path);
}

}  // namespace xdplb
