// LXD's own load balancing: a network forward sends a listen address's ports to target
// addresses on the bridge; a proxy device makes LXD listen on the host and connect into one
// instance. Both become services; the forward's targets are backends by address, a proxy
// device's instance is a backend by container name.
#include <algorithm>
#include <sstream>

#include "config/import.h"
#include "config/yaml_config.h"
#include "core/parse.h"

namespace xdplb::config {

namespace {

ServiceSpec* service_on(BridgeSpec& b, uint16_t port, ProtoSet proto, const std::string& name) {
  for (auto& s : b.services)
    if (s.service.port == port && s.service.protos == proto) return &s;
  ServiceSpec s;
  s.service.name = name;
  s.service.port = s.service.port_last = port;
  s.service.protos = proto;
  if (proto == ProtoSet::Udp) s.service.health_check.type = CheckType::None;
  b.services.push_back(std::move(s));
  return &b.services.back();
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// "tcp:0.0.0.0:8000" -> (tcp, 0.0.0.0, 8000); the address may be [v6].
struct ProxyEnd {
  ProtoSet proto = ProtoSet::Tcp;
  Endpoint ep;
};
std::optional<ProxyEnd> proxy_end(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string proto = text.substr(0, colon);
  ProxyEnd out;
  if (proto == "udp") out.proto = ProtoSet::Udp;
  else if (proto != "tcp") return std::nullopt;
  auto ep = parse_endpoint(text.substr(colon + 1), 0);
  if (!ep) return std::nullopt;
  out.ep = *ep;
  return out;
}

// Whether an instance is on `bridge`: one of its nics names it (network or parent). One whose
// nics name no network at all is taken as on it (nothing says otherwise).
bool on_bridge(const nlohmann::json& devices, const std::string& bridge) {
  bool elsewhere = false;
  for (const auto& [dev, d] : devices.items()) {
    if (str(d, "type") != "nic") continue;
    const std::string net = !str(d, "network").empty() ? str(d, "network") : str(d, "parent");
    if (net == bridge) return true;
    if (!net.empty()) elsewhere = true;
  }
  return !elsewhere;
}

}  // namespace

Result<Imported> import_lxd(const nlohmann::json& forwards, const nlohmann::json& instances, const std::string& bridge) {
  Imported out;
  out.bridge.name = bridge;
  if (forwards.is_array())
    for (const auto& f : forwards) {
      const std::string listen = str(f, "listen_address");
      auto listen_addr = IpAddress::parse(listen);
      const std::string fallback = f.contains("config") ? str(f["config"], "target_address") : "";
      if (!fallback.empty())
        out.report.push_back("forward " + listen + ": target_address " + fallback +
                             " (every other port) is not carried over: xdplb serves listed ports only");
      if (!f.contains("ports") || !f["ports"].is_array()) continue;
      for (const auto& p : f["ports"]) {
        const std::string proto_text = str(p, "protocol");
        const ProtoSet proto = proto_text == "udp" ? ProtoSet::Udp : ProtoSet::Tcp;
        const std::string ports = str(p, "listen_port"), target = str(p, "target_address"), tport = str(p, "target_port");
        auto range = parse_ports(ports);
        if (!range) {
          out.report.push_back("forward " + listen + " port " + ports + ": " + range.error() + " (lists are not carried over)");
          continue;
        }
        auto taddr = IpAddress::parse(target);
        if (!taddr) {
          out.report.push_back("forward " + listen + " port " + ports + ": target " + target + " is not an address");
          continue;
        }
        ServiceSpec* s = service_on(out.bridge, range->first, proto,
                                    "forward-" + std::to_string(range->first) + (proto == ProtoSet::Udp ? "-udp" : ""));
        s->service.port_last = range->last;
        auto bport = tport.empty() ? std::optional<uint16_t>(range->first) : std::optional<uint16_t>();
        if (!tport.empty()) {
          if (auto tp = parse_ports(tport); tp && tp->first == tp->last) bport = tp->first;
          else out.report.push_back("forward " + listen + " port " + ports + ": target_port " + tport +
                                    " is a range: every port of the service goes to the first");
          if (!bport) bport = parse_ports(tport) ? parse_ports(tport)->first : range->first;
        }
        s->service.backend_port = *bport;
        if (listen_addr && std::find(s->service.listen.begin(), s->service.listen.end(), *listen_addr) == s->service.listen.end())
          s->service.listen.push_back(*listen_addr);
        BackendSpec b;
        b.address = *taddr;
        b.port = *bport;
        b.source = BackendSource::Addr;
        if (std::none_of(s->backends.begin(), s->backends.end(), [&](const BackendSpec& o) { return o == b; }))
          s->backends.push_back(b);
      }
    }
  if (instances.is_array())
    for (const auto& inst : instances) {
      const std::string name = str(inst, "name");
      const auto& devices = inst.contains("expanded_devices") ? inst["expanded_devices"] : inst.value("devices", nlohmann::json::object());
      if (!devices.is_object()) continue;
      if (!on_bridge(devices, bridge)) {
        for (const auto& [dev, d] : devices.items())
          if (str(d, "type") == "proxy")
            out.report.push_back("instance " + name + " device " + dev + ": the instance is not on " + bridge +
                                 ": not imported (import with --bridge set to its network)");
        continue;
      }
      for (const auto& [dev, d] : devices.items()) {
        if (str(d, "type") != "proxy") continue;
        const std::string where = "instance " + name + " device " + dev;
        auto l = proxy_end(str(d, "listen")), c = proxy_end(str(d, "connect"));
        if (!l || !c) {
          out.report.push_back(where + ": listen " + str(d, "listen") + " / connect " + str(d, "connect") +
                               ": only tcp:ADDR:PORT and udp:ADDR:PORT are carried over");
          continue;
        }
        if (str(d, "nat") != "true")
          out.report.push_back(where + ": LXD proxies in user space and connects from inside the instance (to " +
                               c->ep.to_string() + "); xdplb forwards to the instance's bridge address, port " +
                               std::to_string(c->ep.port) + ": the service must listen there, not only on loopback");
        ServiceSpec* s = service_on(out.bridge, l->ep.port, l->proto, "proxy-" + name + "-" + dev);
        s->service.backend_port = c->ep.port;
        const bool any = l->ep.addr.is_v4() ? l->ep.addr.to_string() == "0.0.0.0" : l->ep.addr.to_string() == "::";
        if (!any && std::find(s->service.listen.begin(), s->service.listen.end(), l->ep.addr) == s->service.listen.end())
          s->service.listen.push_back(l->ep.addr);
        BackendSpec b;
        b.container = name;
        b.port = c->ep.port;
        b.source = BackendSource::Lxd;
        if (!check_container_name(name)) {
          out.report.push_back(where + ": '" + name + "' is not a container name xdplb takes");
          continue;
        }
        s->backends.push_back(b);
      }
    }
  if (out.bridge.services.empty())
    return make_error("LXD has no network forward on " + bridge + " and no proxy device: nothing to import");
  return out;
}

std::string imported_yaml(const Imported& imported, const std::string& what) {
  std::ostringstream o;
  o << "# " << what << ": check it, then `xdplb apply -f FILE`.\n";
  if (imported.report.empty()) {
    o << "# Everything was carried over.\n";
  } else {
    o << "# Not carried over, or carried over differently:\n";
    for (const auto& line : imported.report) o << "#   " << line << "\n";
  }
  o << config_to_yaml(ConfigFile{{imported.bridge}});
  return o.str();
}

}  // namespace xdplb::config
