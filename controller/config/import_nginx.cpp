// nginx's config is directives (`name args... ;`) and blocks (`name args... { ... }`); this reads
// that tree and maps what has an L4 meaning. Everything else is reported, never dropped silently.
#include <algorithm>
#include <map>

#include "config/import.h"
#include "core/parse.h"

namespace xdplb::config {

namespace {

struct Directive {
  std::string name;
  std::vector<std::string> args;
  std::vector<Directive> block;
  bool has_block = false;
  int line = 0;
};

// Tokens: words (quotes removed), ';', '{', '}'; '#' to the end of the line is a comment.
struct Token {
  std::string text;
  bool word = true;
  int line = 0;
};

Result<std::vector<Token>> tokenize(std::string_view s, const std::string& origin) {
  std::vector<Token> out;
  int line = 1;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (c == ' ' || c == '\t' || c == '\r') { ++i; continue; }
    if (c == '#') { while (i < s.size() && s[i] != '\n') ++i; continue; }
    if (c == ';' || c == '{' || c == '}') { out.push_back({std::string(1, c), false, line}); ++i; continue; }
    std::string word;
    const int at = line;
    if (c == '"' || c == '\'') {
      const char q = c;
      for (++i; i < s.size() && s[i] != q; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        if (s[i] == '\n') ++line;
        word += s[i];
      }
      if (i >= s.size()) return make_error(origin + ":" + std::to_string(at) + ": a quote is not closed");
      ++i;
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != ';' && s[i] != '{' &&
             s[i] != '}')
        word += s[i++];
    }
    out.push_back({word, true, at});
  }
  return out;
}

Result<std::vector<Directive>> parse_block(const std::vector<Token>& t, size_t& i, const std::string& origin, bool top) {
  std::vector<Directive> out;
  while (i < t.size()) {
    if (!t[i].word && t[i].text == "}") {
      if (top) return make_error(origin + ":" + std::to_string(t[i].line) + ": '}' without a block to close");
      ++i;
      return out;
    }
    if (!t[i].word) return make_error(origin + ":" + std::to_string(t[i].line) + ": '" + t[i].text + "' without a directive");
    Directive d;
    d.name = t[i].text;
    d.line = t[i].line;
    for (++i; i < t.size() && t[i].word; ++i) d.args.push_back(t[i].text);
    if (i >= t.size()) return make_error(origin + ":" + std::to_string(d.line) + ": " + d.name + " does not end with ';'");
    if (t[i].text == "{") {
      ++i;
      auto inner = parse_block(t, i, origin, false);
      if (!inner) return make_error(inner.error());
      d.block = std::move(*inner);
      d.has_block = true;
    } else if (t[i].text == ";") {
      ++i;
    } else {
      return make_error(origin + ":" + std::to_string(t[i].line) + ": unexpected '}' after " + d.name);
    }
    out.push_back(std::move(d));
  }
  if (!top) return make_error(origin + ": a block is not closed with '}'");
  return out;
}

// "30s", "1m", "500ms", "10" (seconds) -> milliseconds.
std::optional<uint32_t> nginx_time_ms(const std::string& s) {
  size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  if (n == 0 || n > 7) return std::nullopt;
  const uint32_t v = static_cast<uint32_t>(std::stoul(s.substr(0, n)));
  const std::string unit = s.substr(n);
  if (unit.empty() || unit == "s") return v * 1000;
  if (unit == "ms") return v;
  if (unit == "m") return v * 60000;
  return std::nullopt;
}

struct Upstream {
  ServiceSpec spec;
  bool weights = false;  // a server has a weight: round-robin becomes weighted
  bool used = false;
};

class NginxImport {
 public:
  NginxImport(std::string origin, Imported& out) : origin_(std::move(origin)), out_(out) {}

  void not_carried(const Directive& d, const std::string& why) {
    out_.report.push_back(origin_ + ":" + std::to_string(d.line) + ": " + d.name + ": " + why);
  }

  void upstream(const Directive& d, bool stream) {
    if (d.args.size() != 1) return not_carried(d, "an upstream needs one name");
    Upstream u;
    u.spec.line = d.line;
    u.spec.service.name = service_name(d.args[0]);
    u.spec.service.scheduler = Scheduler::RoundRobin;
    u.spec.service.protos = ProtoSet::Tcp;
    // nginx counts failed requests against every server by default (max_fails=1 in 10 s); the
    // nearest xdplb has is the daemon's active checks: on by default, off with max_fails=0.
    uint32_t max_fails = 1, fail_timeout_ms = 10000;
    bool checks = false;  // max_fails or fail_timeout written
    for (const auto& s : d.block) {
      if (s.name == "least_conn") {
        u.spec.service.scheduler = Scheduler::LeastConn;
      } else if (s.name == "ip_hash") {
        u.spec.service.scheduler = Scheduler::Maglev;
        u.spec.service.affinity = Affinity::Source;
        not_carried(s, "carried as affinity: source (nginx hashes the first three bytes of an IPv4 client, "
                       "xdplb the whole address: clients of one /24 may go to different backends)");
      } else if (s.name == "hash") {
        const bool client = !s.args.empty() && s.args[0] == "$remote_addr";
        const bool consistent = s.args.size() == 2 && s.args[1] == "consistent";
        if (client) {
          u.spec.service.scheduler = Scheduler::Maglev;
          u.spec.service.affinity = Affinity::Source;
          if (!consistent)
            not_carried(s, "carried as affinity: source on the Maglev ring, which is consistent (nginx's "
                           "plain hash moves most clients when a server changes)");
        } else {
          not_carried(s, "hashes on " + (s.args.empty() ? std::string("nothing") : s.args[0]) +
                             ": xdplb sees only addresses and ports (L4); kept the Maglev ring on the connection");
          u.spec.service.scheduler = Scheduler::Maglev;
        }
      } else if (s.name == "server") {
        auto b = server(s, max_fails, fail_timeout_ms, checks);
        if (!b) continue;
        if (b->weight != 1) u.weights = true;
        if (std::any_of(u.spec.backends.begin(), u.spec.backends.end(),
                        [&](const BackendSpec& o) { return backend_key(o) == backend_key(*b); })) {
          not_carried(s, backend_key(*b) + " is listed twice; kept the first");
          continue;
        }
        u.spec.backends.push_back(*b);
      } else {
        not_carried(s, "no L4 meaning in xdplb (connections go to the backends directly)");
      }
    }
    if (u.weights && u.spec.service.scheduler == Scheduler::RoundRobin) u.spec.service.scheduler = Scheduler::Weighted;
    HealthCheckConfig& h = u.spec.service.health_check;
    if (max_fails == 0) {
      h.type = CheckType::None;
    } else if (checks) {
      h.type = CheckType::Tcp;
      h.fall = std::clamp<uint32_t>(max_fails, 1, 100);
      h.interval_ms = std::clamp<uint32_t>(fail_timeout_ms / h.fall, kMinHealthIntervalMs, 3600000);
    }
    (void)stream;
    upstreams_[d.args[0]] = std::move(u);
  }

  // A `server` line of an upstream.
  std::optional<BackendSpec> server(const Directive& s, uint32_t& max_fails, uint32_t& fail_timeout_ms, bool& checks) {
    if (s.args.empty()) return not_carried(s, "a server without an address"), std::nullopt;
    BackendSpec b;
    std::string target = s.args[0];
    if (target.rfind("unix:", 0) == 0) return not_carried(s, target + ": a UNIX socket is not a network backend"), std::nullopt;
    // An address, else a host name: "web3", "web3:80" or "web3.lxd:80" is the container web3.
    auto ep = parse_endpoint(target, 80);
    if (ep || (looks_like_address(target) && std::isdigit(static_cast<unsigned char>(target[0])))) {
      if (!ep) return not_carried(s, ep.error()), std::nullopt;
      b.address = ep->addr;
      b.port = ep->port;
      b.source = BackendSource::Addr;
    } else {
      std::string name = target, port = "80";
      if (auto c = name.rfind(':'); c != std::string::npos) {
        port = name.substr(c + 1);
        name = name.substr(0, c);
      }
      if (auto dot = name.find('.'); dot != std::string::npos) name = name.substr(0, dot);
      auto p = parse_port(port);
      if (!p || !check_container_name(name)) return not_carried(s, target + ": neither an address nor a container name"), std::nullopt;
      b.container = name;
      b.port = *p;
      if (name != target.substr(0, target.rfind(':')))
        not_carried(s, target + ": taken as the container " + name + " (xdplb finds its address through LXD/LXC)");
    }
    for (size_t i = 1; i < s.args.size(); ++i) {
      const std::string& a = s.args[i];
      const auto eq = a.find('=');
      const std::string key = a.substr(0, eq), value = eq == std::string::npos ? "" : a.substr(eq + 1);
      if (key == "weight") {
        auto w = parse_weight(value);
        if (w) b.weight = *w;
        else not_carried(s, "weight=" + value + ": " + w.error());
      } else if (key == "max_fails") {
        auto n = parse_port(value);
        if (value == "0") max_fails = 0;
        else if (n) max_fails = *n;
        checks = true;
        not_carried(s, "max_fails counts failed requests (passive); carried as active TCP checks with fall " +
                           value + " (the daemon runs them)");
      } else if (key == "fail_timeout") {
        if (auto ms = nginx_time_ms(value)) fail_timeout_ms = *ms;
        checks = true;
      } else if (key == "backup") {
        b.backup = true;
      } else if (key == "down") {
        b.drain = true;
        not_carried(s, "down: carried as drain: true (no new flows)");
      } else {
        not_carried(s, a + ": no meaning in xdplb");
      }
    }
    return b;
  }

  // A `server` block: its listen lines and the upstream its proxy_pass names.
  void server_block(const Directive& d, bool stream) {
    std::vector<const Directive*> listens;
    std::string target;
    walk_locations(d.block, listens, target, stream);
    if (target.empty()) return;  // serves something else: not load balancing
    auto it = upstreams_.find(target);
    if (it == upstreams_.end()) {
      Directive at = d;
      not_carried(at, "proxy_pass to " + target + ", which is no upstream of this file");
      return;
    }
    Upstream& u = it->second;
    for (const Directive* l : listens) {
      if (l->args.empty()) continue;
      auto ep = parse_endpoint(l->args[0], 0);
      std::optional<uint16_t> port;
      IpAddress addr;
      if (ep) {
        port = ep->port;
        addr = ep->addr;
      } else if (auto p = parse_port(l->args[0])) {
        port = *p;
      } else if (l->args[0].rfind("*:", 0) == 0) {
        if (auto q = parse_port(l->args[0].substr(2))) port = *q;
      }
      if (!port) {
        not_carried(*l, l->args[0] + ": not a port xdplb can serve");
        continue;
      }
      for (size_t i = 1; i < l->args.size(); ++i) {
        if (l->args[i] == "udp") {
          u.spec.service.protos = ProtoSet::Udp;
          u.spec.service.health_check.type = CheckType::None;  // the daemon's checks probe TCP
        }
        else if (l->args[i] == "ssl" || l->args[i] == "http2" || l->args[i] == "quic")
          not_carried(*l, l->args[i] + ": TLS/HTTP is the backends' job behind an L4 balancer; they get the "
                                       "connection as it came");
        else not_carried(*l, l->args[i] + ": a socket option xdplb does not set");
      }
      if (u.used && u.spec.service.port != *port) {
        not_carried(*l, "another port of upstream " + target + ": the service keeps port " +
                            std::to_string(u.spec.service.port) + "; add a second service for this one");
        continue;
      }
      u.used = true;
      u.spec.service.port = u.spec.service.port_last = *port;
      if (addr.family && std::find(u.spec.service.listen.begin(), u.spec.service.listen.end(), addr) ==
                             u.spec.service.listen.end())
        u.spec.service.listen.push_back(addr);
    }
  }

  void walk_locations(const std::vector<Directive>& block, std::vector<const Directive*>& listens, std::string& target,
                      bool stream) {
    for (const auto& s : block) {
      if (s.name == "listen") {
        listens.push_back(&s);
      } else if (s.name == "proxy_pass" && !s.args.empty()) {
        std::string t = s.args[0];
        for (const char* scheme : {"http://", "https://"})
          if (t.rfind(scheme, 0) == 0) t = t.substr(std::string(scheme).size());
        if (auto slash = t.find('/'); slash != std::string::npos) t = t.substr(0, slash);
        target = t;
      } else if (s.name == "location" && s.has_block) {
        walk_locations(s.block, listens, target, stream);
      } else if (s.name == "server_name" || s.name == "root" || s.name == "index") {
        // Naming the virtual host or its files: nothing to balance.
      } else if (s.name.rfind("proxy_", 0) == 0 || s.name == "add_header" || s.name == "rewrite") {
        not_carried(s, "has no L4 meaning (xdplb does not read or change HTTP)");
      }
    }
  }

  void walk(const std::vector<Directive>& block, bool stream) {
    for (const auto& d : block) {
      if (d.name == "upstream" && d.has_block) upstream(d, stream);
    }
    for (const auto& d : block) {
      if ((d.name == "http" || d.name == "stream") && d.has_block) walk(d.block, d.name == "stream");
      else if (d.name == "server" && d.has_block) server_block(d, stream);
    }
  }

  void finish() {
    for (auto& [name, u] : upstreams_) {
      if (!u.used) {
        out_.report.push_back(origin_ + ":" + std::to_string(u.spec.line) + ": upstream " + name +
                              ": no server block with a listen proxies to it; given port 8000");
        u.spec.service.port = u.spec.service.port_last = 8000;
      }
      if (!u.spec.backends.empty()) u.spec.service.backend_port = u.spec.backends.front().port;
      out_.bridge.services.push_back(std::move(u.spec));
    }
    std::sort(out_.bridge.services.begin(), out_.bridge.services.end(),
              [](const ServiceSpec& a, const ServiceSpec& b) { return a.line < b.line; });
  }

  // An upstream's name as a service name: [A-Za-z0-9_-], starting with a letter.
  static std::string service_name(const std::string& upstream) {
    std::string out;
    for (char c : upstream) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
    if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "u" + out;
    return out.substr(0, 32);
  }

 private:
  std::string origin_;
  Imported& out_;
  std::map<std::string, Upstream> upstreams_;
};

}  // namespace

Result<Imported> import_nginx(std::string_view text, const std::string& origin, const std::string& bridge) {
  auto tokens = tokenize(text, origin);
  if (!tokens) return make_error(tokens.error());
  size_t i = 0;
  auto tree = parse_block(*tokens, i, origin, true);
  if (!tree) return make_error(tree.error());
  Imported out;
  out.bridge.name = bridge;
  NginxImport im(origin, out);
  im.walk(*tree, false);
  im.finish();
  if (out.bridge.services.empty())
    return make_error(origin + ": no upstream block: nothing to import (xdplb reads upstream { server ...; } and the "
                               "server blocks that proxy_pass to it)");
  return out;
}

}  // namespace xdplb::config
