// DNAT rules as `iptables-save` and `nft list ruleset` print them, one rule a line. A rule for a
// port becomes a service on that port, its destination a backend; rules for the same port are
// one service (tcp and udp: both). Matches xdplb cannot express are reported.
#include <algorithm>
#include <sstream>

#include "config/import.h"
#include "core/parse.h"

namespace xdplb::config {

namespace {

struct Rule {
  int line = 0;
  std::string iface;
  ProtoSet proto = ProtoSet::Tcp;
  std::optional<uint16_t> port;
  std::optional<IpAddress> daddr;
  std::string to;  // ADDR[:PORT]
  std::vector<std::string> unsupported;
};

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) {
    if (w.size() >= 2 && w.front() == '"' && w.back() == '"') w = w.substr(1, w.size() - 2);
    out.push_back(w);
  }
  return out;
}

std::optional<IpAddress> host_address(std::string text) {
  if (auto slash = text.find('/'); slash != std::string::npos) {
    const std::string len = text.substr(slash + 1);
    if (len != "32" && len != "128") return std::nullopt;
    text = text.substr(0, slash);
  }
  auto a = IpAddress::parse(text);
  return a ? std::optional<IpAddress>(*a) : std::nullopt;
}

// -A CHAIN ... -j DNAT --to-destination ADDR[:PORT]
std::optional<Rule> iptables_rule(const std::vector<std::string>& w, int line) {
  if (std::find(w.begin(), w.end(), "DNAT") == w.end()) return std::nullopt;
  Rule r;
  r.line = line;
  for (size_t i = 2; i < w.size(); ++i) {
    const std::string& o = w[i];
    const bool has_arg = i + 1 < w.size();
    if ((o == "-i" || o == "--in-interface") && has_arg) r.iface = w[++i];
    else if ((o == "-p" || o == "--protocol") && has_arg) {
      const std::string& p = w[++i];
      if (p == "udp") r.proto = ProtoSet::Udp;
      else if (p != "tcp") r.unsupported.push_back("-p " + p + " (xdplb balances TCP and UDP)");
    } else if ((o == "--dport" || o == "--destination-port") && has_arg) {
      auto p = parse_port(w[++i]);
      if (p) r.port = *p;
      else r.unsupported.push_back("--dport " + w[i] + " (one port per rule)");
    } else if ((o == "-d" || o == "--destination") && has_arg) {
      r.daddr = host_address(w[++i]);
      if (!r.daddr) r.unsupported.push_back("-d " + w[i] + " (only one address is a service address)");
    } else if (o == "--to-destination" && has_arg) r.to = w[++i];
    else if (o == "-j" && has_arg) ++i;
    else if (o == "-m" && has_arg) {
      const std::string& m = w[++i];
      if (m == "addrtype" && i + 2 < w.size() && w[i + 1] == "--dst-type" && w[i + 2] == "LOCAL") i += 2;  // the host's addresses: xdplb's default
      else if (m != "tcp" && m != "udp" && m != "comment") r.unsupported.push_back("-m " + m);
    } else if (o == "--comment" && has_arg) ++i;
    else r.unsupported.push_back(o);
  }
  return r;
}

// [iifname "eth0"] [ip daddr A] tcp|udp dport N ... dnat [ip] to ADDR[:PORT]
std::optional<Rule> nft_rule(const std::vector<std::string>& w, int line) {
  if (std::find(w.begin(), w.end(), "dnat") == w.end()) return std::nullopt;
  Rule r;
  r.line = line;
  for (size_t i = 0; i < w.size(); ++i) {
    const std::string& o = w[i];
    const bool has_arg = i + 1 < w.size();
    if ((o == "iifname" || o == "iif") && has_arg) r.iface = w[++i];
    else if ((o == "tcp" || o == "udp" || o == "th") && has_arg && w[i + 1] == "dport" && i + 2 < w.size()) {
      if (o == "udp") r.proto = ProtoSet::Udp;
      auto p = parse_port(w[i + 2]);
      if (p) r.port = *p;
      else r.unsupported.push_back(o + " dport " + w[i + 2] + " (one port per rule)");
      i += 2;
    } else if ((o == "ip" || o == "ip6") && has_arg && w[i + 1] == "daddr" && i + 2 < w.size()) {
      r.daddr = host_address(w[i + 2]);
      if (!r.daddr) r.unsupported.push_back(o + " daddr " + w[i + 2]);
      i += 2;
    } else if (o == "meta" && i + 2 < w.size() && w[i + 1] == "l4proto") {
      if (w[i + 2] == "udp") r.proto = ProtoSet::Udp;
      i += 2;
    } else if (o == "dnat") {
      size_t j = i + 1;
      if (j < w.size() && (w[j] == "ip" || w[j] == "ip6")) ++j;
      if (j < w.size() && w[j] == "to") ++j;
      if (j < w.size()) r.to = w[j];
      i = j;
    } else if (o == "counter" || o == "accept") {
    } else if (o == "packets" || o == "bytes") {
      ++i;
    } else {
      r.unsupported.push_back(o);
    }
  }
  return r;
}

}  // namespace

Result<Imported> import_dnat(std::string_view text, const std::string& origin, const std::string& bridge) {
  Imported out;
  out.bridge.name = bridge;
  std::istringstream in{std::string(text)};
  int n = 0;
  bool any = false;
  for (std::string line; std::getline(in, line);) {
    ++n;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    std::optional<Rule> r = (w[0] == "-A" || w[0] == "-I") && w.size() > 1 ? iptables_rule(w, n) : nft_rule(w, n);
    if (!r) continue;
    any = true;
    const std::string at = origin + ":" + std::to_string(n) + ": ";
    if (!r->port || r->to.empty()) {
      out.report.push_back(at + "a DNAT rule without one destination port and one target: not carried over");
      continue;
    }
    auto target = parse_endpoint(r->to, *r->port);
    if (!target) {
      out.report.push_back(at + "DNAT target " + r->to + ": " + target.error() + " (address ranges are not carried over)");
      continue;
    }
    for (const auto& u : r->unsupported)
      out.report.push_back(at + u + ": a match xdplb cannot express; the service answers without it");
    if (!r->iface.empty() && std::find(out.bridge.uplinks.begin(), out.bridge.uplinks.end(), r->iface) == out.bridge.uplinks.end())
      out.bridge.uplinks.push_back(r->iface);
    auto& services = out.bridge.services;
    auto svc = std::find_if(services.begin(), services.end(), [&](const ServiceSpec& s) { return s.service.port == *r->port; });
    if (svc == services.end()) {
      ServiceSpec s;
      s.line = n;
      s.service.name = "dnat-" + std::to_string(*r->port);
      s.service.port = s.service.port_last = *r->port;
      s.service.protos = r->proto;
      s.service.backend_port = target->port;
      if (r->proto == ProtoSet::Udp) s.service.health_check.type = CheckType::None;
      services.push_back(std::move(s));
      svc = services.end() - 1;
    } else if (svc->service.protos != r->proto) {
      svc->service.protos = ProtoSet::Both;
    }
    if (r->daddr && std::find(svc->service.listen.begin(), svc->service.listen.end(), *r->daddr) == svc->service.listen.end())
      svc->service.listen.push_back(*r->daddr);
    BackendSpec b;
    b.address = target->addr;
    b.port = target->port;
    b.source = BackendSource::Addr;
    b.line = n;
    if (std::none_of(svc->backends.begin(), svc->backends.end(), [&](const BackendSpec& o) { return o == b; }))
      svc->backends.push_back(b);
  }
  if (!any) return make_error(origin + ": no DNAT rule found (give `iptables-save -t nat` or `nft list ruleset` output)");
  for (const auto& s : out.bridge.services)
    if (s.service.protos == ProtoSet::Both) out.report.push_back(s.service.name + ": tcp and udp rules: one service for both");
  return out;
}

}  // namespace xdplb::config
