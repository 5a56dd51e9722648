// The YAML format of xdplb's config. Each mapping has a fixed set of keys: an unknown key is an
// error naming the keys it may be (a typo must not be silently ignored in a config that says
// what runs). Values are checked with the CLI's own parsers.
#include "config/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <sstream>

#include "core/parse.h"

namespace xdplb::config {

namespace {

// Thrown inside the parser only, caught at parse_config: the first problem ends the parse.
struct ConfigError {
  std::string message;
};

// Edits (insert, delete, replace) from a to b: a typo of a key is one or two.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw ConfigError{origin_ + (line ? ":" + std::to_string(line) : "") + ": " + what};
  }
  static int line_of(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

  // A mapping with only these keys.
  void keys(const YAML::Node& map, const std::string& what, std::initializer_list<const char*> allowed) const {
    if (!map.IsMap()) fail(map, what + ": expected a mapping (key: value lines)");
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list, near;
        for (const char* a : allowed) {
          list += (list.empty() ? "" : ", ") + std::string(a);
          if (near.empty() && edit_distance(key, a) <= 2) near = a;
        }
        fail(kv.first, "unknown key '" + key + "' in " + what + "; " +
                           (near.empty() ? "write one of: " + list : "did you mean '" + near + "'? (keys: " + list + ")"));
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + ": expected a single value");
    return n.as<std::string>();
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    const std::string v = scalar(n, key);
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    fail(n, key + ": '" + v + "' is not true or false; write " + key + ": true or " + key + ": false");
  }

  uint32_t number(const YAML::Node& n, const std::string& key, uint32_t min, uint32_t max) const {
    const std::string v = scalar(n, key);
    uint64_t out = 0;
    bool ok = !v.empty() && v.size() <= 10;
    for (char c : v) ok = ok && c >= '0' && c <= '9';
    if (ok)
      for (char c : v) out = out * 10 + static_cast<uint64_t>(c - '0');
    if (!ok || out < min || out > max)
      fail(n, key + ": '" + v + "' is not a number from " + std::to_string(min) + " to " + std::to_string(max));
    return static_cast<uint32_t>(out);
  }

  template <typename T>
  T checked(const YAML::Node& n, const std::string& key, Result<T> r) const {
    if (!r) fail(n, key + ": " + r.error());
    return std::move(*r);
  }

  std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    if (n.IsScalar()) return {n.as<std::string>()};
    if (!n.IsSequence()) fail(n, key + ": expected a list, like " + key + ": [a, b]");
    for (const auto& item : n) out.push_back(scalar(item, key));
    return out;
  }

 private:
  std::string origin_;
};

HealthCheckConfig read_health(const Reader& r, const YAML::Node& n, const std::string& where) {
  r.keys(n, "health of " + where, {"type", "path", "expect", "interval_ms", "timeout_ms", "rise", "fall", "slow_start_ms"});
  HealthCheckConfig h;
  if (auto v = n["type"]) h.type = r.checked(v, "type", parse_name<CheckType>(r.scalar(v, "type")));
  if (auto v = n["path"]) {
    h.http_path = r.scalar(v, "path");
    if (h.http_path.empty() || h.http_path.front() != '/' || h.http_path.find_first_of(" \r\n") != std::string::npos)
      r.fail(v, "path: give an absolute URL path without spaces, like /healthz");
  }
  if (auto v = n["expect"]) {
    const std::string text = r.scalar(v, "expect");
    auto range = parse_ports(text);
    if (!range || range->first < 100 || range->last > 599)
      r.fail(v, "expect: give a status or a range from 100 to 599, like 200-399");
    h.expect_min = range->first;
    h.expect_max = range->last;
  }
  if (auto v = n["interval_ms"]) h.interval_ms = r.number(v, "interval_ms", kMinHealthIntervalMs, 3600000);
  if (auto v = n["timeout_ms"]) h.timeout_ms = r.number(v, "timeout_ms", 10, 3600000);
  if (auto v = n["rise"]) h.rise = r.number(v, "rise", 1, 100);
  if (auto v = n["fall"]) h.fall = r.number(v, "fall", 1, 100);
  if (auto v = n["slow_start_ms"]) h.slow_start_ms = r.number(v, "slow_start_ms", 0, 3600000);
  return h;
}

BackendSpec read_backend(const Reader& r, const YAML::Node& n, const ServiceConfig& svc) {
  const std::string where = "a backend of service '" + svc.name + "'";
  r.keys(n, where, {"container", "address", "port", "source", "lxcpath", "weight", "backup", "drain", "fast_path"});
  BackendSpec b;
  b.line = Reader::line_of(n);
  b.port = svc.backend_port;
  const auto container = n["container"], address = n["address"];
  if (!container == !address)
    r.fail(n, where + ": give either container: NAME or address: ADDR[:PORT]");
  if (container) {
    b.container = r.scalar(container, "container");
    if (auto s = check_container_name(b.container); !s) r.fail(container, "container: " + s.error());
    if (auto v = n["source"]) {
      b.source = r.checked(v, "source", parse_name<BackendSource>(r.scalar(v, "source")));
      if (b.source == BackendSource::Addr) r.fail(v, "source: a container's source is auto, lxd or lxc");
    }
    if (auto v = n["lxcpath"]) b.lxcpath = r.scalar(v, "lxcpath");
  } else {
    auto ep = r.checked(address, "address", parse_endpoint(r.scalar(address, "address"), svc.backend_port));
    b.address = ep.addr;
    b.port = ep.port;
    b.source = BackendSource::Addr;
    for (const char* k : {"source", "lxcpath"})
      if (auto v = n[k]) r.fail(v, std::string(k) + ": only for a container backend");
  }
  if (auto v = n["port"]) b.port = r.checked(v, "port", parse_port(r.scalar(v, "port")));
  if (auto v = n["weight"]) b.weight = r.checked(v, "weight", parse_weight(r.scalar(v, "weight")));
  if (auto v = n["backup"]) b.backup = r.boolean(v, "backup");
  if (auto v = n["drain"]) b.drain = r.boolean(v, "drain");
  if (auto v = n["fast_path"]) b.fast_path = r.boolean(v, "fast_path");
  return b;
}

ServiceSpec read_service(const Reader& r, const YAML::Node& n) {
  r.keys(n, "a service", {"name", "port", "backend_port", "proto", "listen", "scheduler", "affinity", "health", "backends"});
  ServiceSpec s;
  s.line = Reader::line_of(n);
  ServiceConfig& svc = s.service;
  const auto name = n["name"];
  if (!name) r.fail(n, "a service needs a name: write name: web");
  svc.name = r.scalar(name, "name");
  if (auto st = check_service_name(svc.name); !st) r.fail(name, "name: " + st.error());
  const std::string where = "service '" + svc.name + "'";
  const auto port = n["port"];
  if (!port) r.fail(n, where + " needs a port: write port: 8000 (or a range, port: 8000-8010)");
  auto ports = r.checked(port, "port", parse_ports(r.scalar(port, "port")));
  svc.port = ports.first;
  svc.port_last = ports.last;
  if (auto v = n["backend_port"]) svc.backend_port = r.checked(v, "backend_port", parse_port(r.scalar(v, "backend_port")));
  if (auto v = n["proto"]) svc.protos = r.checked(v, "proto", parse_name<ProtoSet>(r.scalar(v, "proto")));
  if (auto v = n["listen"])
    for (const auto& text : r.strings(v, "listen")) {
      auto a = r.checked(v, "listen", IpAddress::parse(text));
      if (std::find(svc.listen.begin(), svc.listen.end(), a) == svc.listen.end()) svc.listen.push_back(a);
    }
  if (auto v = n["scheduler"]) svc.scheduler = r.checked(v, "scheduler", parse_name<Scheduler>(r.scalar(v, "scheduler")));
  if (auto v = n["affinity"]) svc.affinity = r.checked(v, "affinity", parse_name<Affinity>(r.scalar(v, "affinity")));
  if (!svc.tcp()) svc.health_check.type = CheckType::None;  // as `service add --proto udp`
  if (auto v = n["health"]) {
    svc.health_check = read_health(r, v, where);
    if (!svc.tcp() && svc.health_check.type != CheckType::None)
      r.fail(v, "health of " + where + ": the service is UDP only and " + name_of(svc.health_check.type) +
                    " checks probe TCP; write type: none");
  }
  if (auto v = n["backends"]) {
    if (!v.IsSequence()) r.fail(v, "backends: expected a list of '- container: NAME' or '- address: ADDR' items");
    std::set<std::string> seen;
    for (const auto& item : v) {
      BackendSpec b = read_backend(r, item, svc);
      if (!seen.insert(backend_key(b)).second)
        r.fail(item, "backend " + backend_key(b) + " is listed twice in " + where + "; keep one");
      s.backends.push_back(std::move(b));
    }
  }
  return s;
}

BridgeSpec read_bridge(const Reader& r, const YAML::Node& n) {
  r.keys(n, "a bridge", {"name", "uplinks", "xdp_mode", "flow_table", "syn_table", "hairpin_ports", "host_local", "services"});
  BridgeSpec b;
  b.line = Reader::line_of(n);
  const auto name = n["name"];
  if (!name) r.fail(n, "a bridge needs a name: write name: lxdbr0");
  b.name = r.scalar(name, "name");
  if (auto s = check_interface_name(b.name); !s) r.fail(name, "name: " + s.error());
  if (auto v = n["uplinks"])
    for (const auto& u : r.strings(v, "uplinks")) {
      if (auto s = check_interface_name(u); !s) r.fail(v, "uplinks: " + s.error());
      if (u == b.name) r.fail(v, "uplinks: the bridge " + u + " cannot be its own uplink");
      b.uplinks.push_back(u);
    }
  if (auto v = n["xdp_mode"]) b.xdp_mode = r.checked(v, "xdp_mode", parse_name<XdpMode>(r.scalar(v, "xdp_mode")));
  if (auto v = n["flow_table"]) b.attach.flow_table = r.number(v, "flow_table", XDPLB_MIN_FLOWS, AttachSettings::kMaxFlowTable);
  if (auto v = n["syn_table"]) {
    b.attach.syn_table = r.number(v, "syn_table", 0, AttachSettings::kMaxFlowTable);
    if (auto sizes = check_table_sizes(b.attach.flow_table, b.attach.syn_table); !sizes)
      r.fail(v, "syn_table: " + sizes.error());
  }
  if (auto v = n["hairpin_ports"]) {
    auto ports = r.checked(v, "hairpin_ports", parse_ports(r.scalar(v, "hairpin_ports")));
    if (ports.first == ports.last) r.fail(v, "hairpin_ports: a range is needed, write MIN-MAX, e.g. 61000-65000");
    b.attach.hairpin_first = ports.first;
    b.attach.hairpin_last = ports.last;
  }
  if (auto v = n["host_local"]) b.attach.host_local = r.boolean(v, "host_local");
  if (auto v = n["services"]) {
    if (!v.IsSequence()) r.fail(v, "services: expected a list of '- name: NAME' items");
    std::set<std::string> names;
    for (const auto& item : v) {
      ServiceSpec s = read_service(r, item);
      if (!names.insert(s.service.name).second)
        r.fail(item, "service '" + s.service.name + "' is listed twice on bridge " + b.name + "; keep one");
      b.services.push_back(std::move(s));
    }
  }
  return b;
}

// bgp: asn, router_id, neighbors (- address, asn, exports [vips, return_routes]), bird_socket,
// include, announce {SERVICE: bool}, return_routes [PREFIX], withdraw_hold_ms.
bgp::BgpConfig read_bgp(const Reader& r, const YAML::Node& n) {
  r.keys(n, "bgp", {"asn", "router_id", "neighbors", "bird_socket", "include", "announce", "return_routes",
                    "withdraw_hold_ms"});
  bgp::BgpConfig c;
  const auto asn = n["asn"];
  if (!asn) r.fail(n, "bgp needs this node's AS: write asn: 65001");
  c.asn = r.number(asn, "asn", 1, 4294967295u);
  if (auto v = n["router_id"]) {
    c.router_id = r.checked(v, "router_id", IpAddress::parse(r.scalar(v, "router_id")));
    if (!c.router_id.is_v4()) r.fail(v, "router_id: BGP router ids are IPv4 addresses, like 10.0.0.2");
  }
  const auto neighbors = n["neighbors"];
  if (!neighbors || !neighbors.IsSequence() || neighbors.size() == 0)
    r.fail(neighbors ? neighbors : n, "bgp: neighbors: give a list of '- address: ADDR' with asn: AS");
  for (const auto& item : neighbors) {
    r.keys(item, "a BGP neighbour", {"address", "asn", "exports"});
    if (!item["address"] || !item["asn"]) r.fail(item, "a BGP neighbour needs address: and asn:");
    bgp::Neighbor nb{r.checked(item["address"], "address", IpAddress::parse(r.scalar(item["address"], "address"))),
                     r.number(item["asn"], "asn", 1, 4294967295u)};
    if (auto v = item["exports"]) {
      nb.vips = false;
      for (const auto& what : r.strings(v, "exports")) {
        if (what == "vips") nb.vips = true;
        else if (what == "return_routes") nb.return_routes = true;
        else r.fail(v, "exports: '" + what + "' is not vips or return_routes; write exports: [vips, return_routes]");
      }
    }
    c.neighbors.push_back(nb);
  }
  if (auto v = n["bird_socket"]) c.bird_socket = r.scalar(v, "bird_socket");
  if (auto v = n["include"]) c.include = r.scalar(v, "include");
  if (auto v = n["announce"]) {
    if (!v.IsMap()) r.fail(v, "bgp: announce: expected SERVICE: true or false lines");
    for (const auto& kv : v) {
      const std::string name = kv.first.as<std::string>();
      c.announce[name] = r.boolean(kv.second, "announce: " + name);
    }
  }
  if (auto v = n["return_routes"])
    for (const auto& text : r.strings(v, "return_routes"))
      c.return_routes.push_back(r.checked(v, "bgp: return_routes", bgp::parse_prefix(text)));
  if (auto v = n["withdraw_hold_ms"]) c.withdraw_hold = std::chrono::milliseconds(r.number(v, "withdraw_hold_ms", 0, 60000));
  if (auto st = bgp::check_bgp(c); !st) r.fail(n, st.error());
  return c;
}

// Quoted when YAML could read it as something else (addresses with ':', numbers, booleans).
std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string ports_text(const ServiceConfig& s) {
  return s.port == s.port_last ? std::to_string(s.port) : std::to_string(s.port) + "-" + std::to_string(s.port_last);
}

}  // namespace

Result<ConfigFile> parse_config(std::string_view text, const std::string& origin) {
  Reader r(origin);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    ConfigFile out;
    if (root.IsNull()) return out;  // an empty file (the commented default): nothing to run
    r.keys(root, "the top level", {"bridges", "bgp"});
    if (auto v = root["bgp"]) out.bgp = read_bgp(r, v);
    const auto bridges = root["bridges"];
    if (!bridges) return out;
    if (!bridges.IsSequence()) r.fail(bridges, "bridges: expected a list of '- name: BRIDGE' items");
    std::set<std::string> names;
    for (const auto& item : bridges) {
      BridgeSpec b = read_bridge(r, item);
      if (!names.insert(b.name).second) r.fail(item, "bridge " + b.name + " is listed twice; keep one");
      out.bridges.push_back(std::move(b));
    }
    return out;
  } catch (const ConfigError& e) {
    return make_error(e.message);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return make_error(origin + (line ? ":" + std::to_string(line) : "") + ": not valid YAML: " + e.msg);
  }
}

std::string config_to_yaml(const ConfigFile& config) {
  const ServiceConfig defaults;
  const HealthCheckConfig hdef;
  std::ostringstream o;
  if (config.bgp) {
    const bgp::BgpConfig& c = *config.bgp;
    o << "bgp:\n  asn: " << c.asn << "\n";
    if (c.router_id.family) o << "  router_id: " << quoted(c.router_id.to_string()) << "\n";
    o << "  neighbors:\n";
    for (const auto& n : c.neighbors) {
      o << "    - address: " << quoted(n.address.to_string()) << "\n      asn: " << n.asn << "\n";
      if (!n.vips || n.return_routes)
        o << "      exports: [" << (n.vips ? "vips" : "") << (n.vips && n.return_routes ? ", " : "")
          << (n.return_routes ? "return_routes" : "") << "]\n";
    }
    if (c.bird_socket != bgp::kDefaultBirdSocket) o << "  bird_socket: " << quoted(c.bird_socket) << "\n";
    if (c.include != bgp::kDefaultInclude) o << "  include: " << quoted(c.include) << "\n";
    if (!c.announce.empty()) {
      o << "  announce:\n";
      for (const auto& [name, on] : c.announce) o << "    " << name << ": " << (on ? "true" : "false") << "\n";
    }
    if (!c.return_routes.empty()) {
      o << "  return_routes: [";
      for (size_t i = 0; i < c.return_routes.size(); ++i) o << (i ? ", " : "") << quoted(c.return_routes[i].to_string());
      o << "]\n";
    }
    if (c.withdraw_hold != bgp::kDefaultWithdrawHold) o << "  withdraw_hold_ms: " << c.withdraw_hold.count() << "\n";
  }
  if (config.bridges.empty()) return o.str() + "bridges: []\n";
  o << "bridges:\n";
  for (const auto& b : config.bridges) {
    o << "  - name: " << b.name << "\n";
    if (!b.uplinks.empty()) {
      o << "    uplinks: [";
      for (size_t i = 0; i < b.uplinks.size(); ++i) o << (i ? ", " : "") << b.uplinks[i];
      o << "]\n";
    }
    if (b.xdp_mode != XdpMode::Auto) o << "    xdp_mode: " << name_of(b.xdp_mode) << "\n";
    const AttachSettings adef;
    if (b.attach.flow_table != adef.flow_table) o << "    flow_table: " << b.attach.flow_table << "\n";
    if (b.attach.syn_table != adef.syn_table) o << "    syn_table: " << b.attach.syn_table << "\n";
    if (hairpin_text(b.attach) != hairpin_text(adef)) o << "    hairpin_ports: " << quoted(hairpin_text(b.attach)) << "\n";
    if (b.attach.host_local != adef.host_local) o << "    host_local: " << (b.attach.host_local ? "true" : "false") << "\n";
    o << "    services:" << (b.services.empty() ? " []" : "") << "\n";
    for (const auto& s : b.services) {
      const ServiceConfig& svc = s.service;
      o << "      - name: " << svc.name << "\n";
      o << "        port: " << ports_text(svc) << "\n";
      if (svc.backend_port != defaults.backend_port) o << "        backend_port: " << svc.backend_port << "\n";
      if (svc.protos != defaults.protos) o << "        proto: " << name_of(svc.protos) << "\n";
      if (!svc.listen.empty()) {
        o << "        listen: [";
        for (size_t i = 0; i < svc.listen.size(); ++i) o << (i ? ", " : "") << quoted(svc.listen[i].to_string());
        o << "]\n";
      }
      if (svc.scheduler != defaults.scheduler) o << "        scheduler: " << name_of(svc.scheduler) << "\n";
      if (svc.affinity != defaults.affinity) o << "        affinity: " << name_of(svc.affinity) << "\n";
      const HealthCheckConfig& h = svc.health_check;
      HealthCheckConfig h_default = hdef;
      if (!svc.tcp()) h_default.type = CheckType::None;
      if (h != h_default) {
        o << "        health:\n";
        o << "          type: " << name_of(h.type) << "\n";
        if (h.http_path != hdef.http_path) o << "          path: " << quoted(h.http_path) << "\n";
        if (h.expect_min != hdef.expect_min || h.expect_max != hdef.expect_max)
          o << "          expect: " << quoted(std::to_string(h.expect_min) + "-" + std::to_string(h.expect_max)) << "\n";
        if (h.interval_ms != hdef.interval_ms) o << "          interval_ms: " << h.interval_ms << "\n";
        if (h.timeout_ms != hdef.timeout_ms) o << "          timeout_ms: " << h.timeout_ms << "\n";
        if (h.rise != hdef.rise) o << "          rise: " << h.rise << "\n";
        if (h.fall != hdef.fall) o << "          fall: " << h.fall << "\n";
        if (h.slow_start_ms != hdef.slow_start_ms) o << "          slow_start_ms: " << h.slow_start_ms << "\n";
      }
      o << "        backends:" << (s.backends.empty() ? " []" : "") << "\n";
      for (const auto& be : s.backends) {
        if (be.container.empty()) {
          o << "          - address: " << quoted(Endpoint{be.address, be.port}.to_string()) << "\n";
        } else {
          o << "          - container: " << be.container << "\n";
          if (be.port != svc.backend_port) o << "            port: " << be.port << "\n";
          if (be.source != BackendSource::Auto) o << "            source: " << name_of(be.source) << "\n";
          if (!be.lxcpath.empty()) o << "            lxcpath: " << quoted(be.lxcpath) << "\n";
        }
        if (be.weight != 1) o << "            weight: " << be.weight << "\n";
        if (be.backup) o << "            backup: true\n";
        if (be.drain) o << "            drain: true\n";
        if (!be.fast_path) o << "            fast_path: false\n";
      }
    }
  }
  return o.str();
}

}  // namespace xdplb::config
