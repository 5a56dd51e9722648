#include "containers/resolver.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <variant>

#include "containers/lxc_container.h"
#include "containers/lxd_client.h"
#include "core/fd.h"
#include "net/address.h"
#include "net/gro.h"
#include "net/link.h"
#include "net/netns.h"

namespace xdplb {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr size_t kMaxNamesInHint = 12;

struct Location {
  ContainerSource source;
  std::string lxcpath;
};

// An inspection failure worth retrying: the container is between init processes (restart).
struct Transient {
  std::string message;
};

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
  });
}

std::string lxcpath_or_default(const std::string& lxcpath) {
  return lxcpath.empty() ? default_lxcpath() : lxcpath;
}

std::string describe(const std::string& name, ContainerSource source) {
  return "container '" + name + "' (" + std::string(to_string(source)) + ")";
}

std::string start_hint(const std::string& name, const Location& at) {
  if (at.source == ContainerSource::Lxd) return "`lxc start " + name + "`";
  std::string cmd = "`lxc-start -n " + name;
  if (at.lxcpath != default_lxcpath()) cmd += " -P " + at.lxcpath;
  return cmd + "`";
}

std::string address_hint(const std::string& name, const Location& at) {
  if (at.source == ContainerSource::Lxd) return "`lxc exec " + name + " -- ip addr`";
  std::string cmd = "`lxc-attach -n " + name;
  if (at.lxcpath != default_lxcpath()) cmd += " -P " + at.lxcpath;
  return cmd + " -- ip addr`";
}

std::string lowercase(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Does LXD know `name` as a container? Asks the REST API; if the daemon does not answer,
// falls back to its container directory.
// `unknown` is set when LXD's API answered an error or nonsense: nothing is known then.
Result<bool> lxd_has(const LxdSite& site, const std::string& name, bool& unknown) {
  auto r = LxdClient(site.socket).get("/1.0/instances/" + name);
  if (!r) {
    spdlog::debug("{}; looking at {} instead", r.error(), site.lxcpath);
    struct stat st {};
    return ::stat((site.lxcpath + "/" + name).c_str(), &st) == 0;
  }
  if (r->status == 404) return false;
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || body.is_discarded() || !body.contains("metadata") || !body["metadata"].is_object()) {
    unknown = true;
    return make_error("LXD API GET /1.0/instances/" + name + " answered " +
                      std::to_string(r->status));
  }
  const auto type = body["metadata"].value("type", std::string("container"));
  if (type != "container") {
    return make_error("'" + name + "' is an LXD " + type +
                      "; xdplb balances to containers only (they share the host's kernel and "
                      "bridge)");
  }
  return true;
}

std::string names_hint(const Result<std::vector<ContainerListing>>& listing) {
  if (!listing) return "(cannot list: " + listing.error() + ")";
  if (listing->empty()) return "no containers";
  std::string out;
  size_t shown = 0;
  for (const auto& c : *listing) {
    if (shown == kMaxNamesInHint) {
      out += ", …";
      break;
    }
    out += (shown++ ? ", " : "") + c.name;
  }
  return "containers " + out;
}

Result<Location> locate(const std::string& name, const ResolveOptions& options,
                        const std::string& lxcpath, bool& unknown) {
  const bool want_lxd = options.source != ContainerSource::Lxc;
  const bool want_lxc = options.source != ContainerSource::Lxd;
  const auto site = find_lxd();
  bool in_lxd = false;
  bool in_lxc = false;
  if (want_lxd && site) {
    auto has = lxd_has(*site, name, unknown);
    if (!has) return make_error(has.error());
    in_lxd = *has;
  }
  if (want_lxc) {
    auto c = LxcContainer::open(name, lxcpath);
    in_lxc = c && c->defined();
  }
  if (in_lxd && in_lxc) {
    return make_error("container '" + name + "' exists both in LXD (" + site->lxcpath +
                      ") and in classic LXC (lxcpath " + lxcpath +
                      ") — say which one with `--source lxd` or `--source lxc`");
  }
  if (in_lxd) return Location{ContainerSource::Lxd, site->lxcpath};
  if (in_lxc) return Location{ContainerSource::Lxc, lxcpath};

  std::string where;
  if (want_lxd) {
    where += site ? "not in LXD at " + site->socket + " (" +
                        names_hint(list_containers(ContainerSource::Lxd)) + ")"
                  : "LXD not found (no socket at " + lxd_socket_candidates() + ")";
  }
  if (want_lxc) {
    struct stat st {};
    const bool exists = ::stat(lxcpath.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    where += std::string(where.empty() ? "" : "; ") + "not in classic LXC at lxcpath " + lxcpath +
             " (" +
             (exists ? names_hint(list_containers(ContainerSource::Lxc, lxcpath))
                     : std::string("no such directory")) +
             ")";
  }
  return make_error("no container named '" + name + "': " + where);
}

// Reads one running container. Transient failures (the init process just went away) are
// told apart so the caller can poll through a restart.
std::variant<ContainerInfo, Transient, Error> inspect(const LxcContainer& c,
                                                      const std::string& name, const Location& at) {
  ContainerInfo info;
  info.name = name;
  info.source = at.source;
  info.lxcpath = at.lxcpath;
  info.running = true;
  info.init_pid = c.init_pid();
  if (info.init_pid <= 0) return Transient{describe(name, at.source) + " has no init process"};

  const std::string ns_path = "/proc/" + std::to_string(info.init_pid) + "/ns/net";
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    return Transient{describe(name, at.source) + ": open " + ns_path + ": " + std::strerror(errno)};
  }
  // eth0 and its usable addresses in one visit to the namespace. (Addresses over netlink,
  // not liblxc's get_ips(): that cannot tell an IPv6 address still in duplicate address
  // detection — not reachable yet — from a usable one.)
  struct Eth0 {
    net::LinkInfo link;
    std::vector<net::InterfaceAddress> addresses;
  };
  auto seen = net::run_in_netns(ns.get(), []() -> Result<Eth0> {
    auto link = net::get_link("eth0");
    if (!link) return make_error(link.error());
    auto addresses = net::link_addresses(link->ifindex);
    if (!addresses) return make_error("addresses of eth0: " + addresses.error());
    return Eth0{*link, *addresses};
  });
  if (!seen) {
    return make_error(describe(name, at.source) + ": cannot read its eth0 (" + seen.error() +
                      "); xdplb needs the container's eth0 on a bridge");
  }
  const net::LinkInfo* eth0 = &seen->link;
  if (eth0->kind != "veth" || eth0->peer_ifindex <= 0) {
    return make_error(describe(name, at.source) + ": eth0 is a '" + eth0->kind +
                      "' link, not a veth; xdplb needs a veth on a bridge");
  }
  auto host = net::get_link(eth0->peer_ifindex);
  if (!host || host->kind != "veth" || host->peer_ifindex != eth0->ifindex) {
    return make_error(describe(name, at.source) + ": the host side of its eth0 (ifindex " +
                      std::to_string(eth0->peer_ifindex) +
                      ") is not in this network namespace; run xdplb in the host's namespace");
  }
  if (c.init_pid() != info.init_pid) return Transient{describe(name, at.source) + " restarted"};

  info.mac = eth0->mac;
  info.container_ifindex = eth0->ifindex;
  info.host_veth = host->name;
  info.host_ifindex = host->ifindex;
  info.bridge_ifindex = host->master;
  if (at.source == ContainerSource::Lxc) {
    // liblxc's own record of the pair; only a cross-check (net.0 may not be eth0).
    auto pair = c.running_config_item("lxc.net.0.veth.pair");
    if (pair && !pair->empty() && *pair != info.host_veth)
      spdlog::debug("{}: lxc.net.0.veth.pair is {}, eth0's peer is {}", name, *pair, host->name);
  }
  for (const auto& a : seen->addresses) {
    if (a.tentative) continue;
    (a.address.is_v4() ? info.ipv4 : info.ipv6).push_back(a.address);
  }
  return info;
}

Result<ContainerInfo> resolve(const std::string& name, const ResolveOptions& options, bool& unknown) {
  if (!valid_name(name)) {
    return make_error("'" + name + "' is not a container name (letters, digits, '-', '_', '.')");
  }
  const std::string lxcpath = lxcpath_or_default(options.lxcpath);
  auto at = locate(name, options, lxcpath, unknown);
  if (!at) return make_error(at.error());

  const auto started = Clock::now();
  const auto deadline = started + options.wait;
  std::string problem;
  for (;;) {
    auto c = LxcContainer::open(name, at->lxcpath);
    if (!c) {
      unknown = true;
      return make_error(c.error());
    }
    const std::string state = c->state();
    if (state == "STOPPED") {
      return make_error(describe(name, at->source) + " is stopped — start it with " +
                        start_hint(name, *at));
    }
    if (state == "RUNNING") {
      auto got = inspect(*c, name, *at);
      if (auto* err = std::get_if<Error>(&got)) return *err;
      if (auto* t = std::get_if<Transient>(&got)) {
        problem = t->message;
      } else {
        auto& info = std::get<ContainerInfo>(got);
        if (!info.ipv4.empty() || !info.ipv6.empty()) return std::move(info);
        const auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        problem = describe(name, at->source) + " is running but its eth0 has no address after " +
                  std::to_string(waited.count()) + " ms — is its DHCP client running? (see " +
                  address_hint(name, *at) + ")";
      }
    } else {
      problem = describe(name, at->source) + " is " + lowercase(state) + ", not running";
    }
    if (Clock::now() >= deadline) return make_error(problem);
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Result<ContainerInfo> resolve_container(const std::string& name, const ResolveOptions& options) {
  bool unknown = false;
  return resolve(name, options, unknown);
}

ContainerLookup lookup_container(const std::string& name, const ResolveOptions& options) {
  bool unknown = false;
  try {
    auto info = resolve(name, options, unknown);
    const bool unknown_failure = !info.ok() && unknown;
    return {std::move(info), unknown_failure};
  } catch (const std::exception& e) {
    return {make_error("looking up container '" + name + "': " + e.what()), true};
  }
}

Result<std::vector<ContainerListing>> list_containers(ContainerSource source,
                                                      const std::string& lxcpath) {
  std::vector<ContainerListing> out;
  if (source != ContainerSource::Lxc) {
    const auto site = find_lxd();
    if (!site && source == ContainerSource::Lxd)
      return make_error("LXD not found (no socket at " + lxd_socket_candidates() + ")");
    if (site) {
      auto list = LxdClient(site->socket).get_metadata("/1.0/instances?recursion=1");
      if (!list) return make_error(list.error());
      if (!list->is_array()) return make_error("LXD API /1.0/instances: not a list");
      for (const auto& inst : *list) {
        if (inst.value("type", std::string("container")) != "container") continue;
        out.push_back({inst.value("name", std::string()), ContainerSource::Lxd,
                       inst.value("status", std::string()) == "Running"});
      }
    }
  }
  if (source != ContainerSource::Lxd) {
    const std::string path = lxcpath_or_default(lxcpath);
    for (const auto& name : lxc_container_names(path)) {
      auto c = LxcContainer::open(name, path);
      out.push_back({name, ContainerSource::Lxc, c && c->running()});
    }
  }
  return out;
}

Result<bool> enable_container_gro(const ContainerInfo& info) {
  const std::string who = describe(info.name, info.source);
  if (info.init_pid <= 0) return make_error(who + " is not running");
  const std::string ns_path = "/proc/" + std::to_string(info.init_pid) + "/ns/net";
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) {
    return make_error(who + ": its init process " + std::to_string(info.init_pid) +
                      " is gone (restarted or stopped?) — resolve it again");
  }
  return net::run_in_netns(ns.get(), [&]() -> Result<bool> {
    auto eth0 = net::get_link("eth0");
    if (!eth0) return make_error(who + ": no eth0 in its network namespace: " + eth0.error());
    if (eth0->mac != info.mac)
      return make_error(who + ": eth0 changed since it was resolved — resolve it again");
    auto set = net::set_gro(eth0->ifindex, true);
    if (!set) return make_error(who + ": " + set.error());
    return with_context(net::get_gro(eth0->ifindex), who);
  });
}

}  // namespace xdplb
