#include "lb/backends.h"

#include <optional>
#include <thread>

#include "containers/resolver.h"
#include "core/address_policy.h"
#include "core/parse.h"
#include "lb/address_guard.h"

namespace xdplb {

ContainerSource container_source(BackendSource s) {
  return s == BackendSource::Lxd ? ContainerSource::Lxd : s == BackendSource::Lxc ? ContainerSource::Lxc
                                                                                   : ContainerSource::Auto;
}

std::optional<IpAddress> address_of_family(const ContainerInfo& info, int family) {
  const auto& list = family == 6 ? info.ipv6 : info.ipv4;
  if (list.empty()) return std::nullopt;
  return list.front();
}

Status keep_claimable_addresses(ContainerInfo& info, const net::LinkInfo& bridge, int family) {
  auto host = read_host_addresses(bridge.ifindex);
  if (!host) return make_error(host.error());
  auto& list = family == 6 ? info.ipv6 : info.ipv4;
  auto ok = acceptable_container_addresses(info.name, list, bridge.name, host->bridge_subnets, host->host);
  if (!ok) return make_error(ok.error());
  list = *ok;
  return {};
}

namespace {

// A named backend's current address and veth, checked against the bridge. A container that
// has just started may have its IPv4 address (DHCP) before its IPv6 one (router
// advertisement): wait for the backend's family too, within `wait`.
Result<ContainerInfo> resolve_named(const net::LinkInfo& bridge, const SavedBackend& b,
                                    std::chrono::milliseconds wait) {
  ResolveOptions opts;
  opts.source = container_source(b.source);
  opts.lxcpath = b.lxcpath;
  opts.wait = wait;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto info = resolve_container(b.name, opts);
  while (info && !address_of_family(*info, b.family) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    opts.wait = std::chrono::milliseconds(0);
    info = resolve_container(b.name, opts);
  }
  if (!info) return info;
  if (!address_of_family(*info, b.family))
    return make_error("container '" + b.name + "' has no " + (b.family == 6 ? "global IPv6" : "IPv4") +
                      " address" + (b.family == 6 ? " (yet: router advertisements on " + bridge.name +
                                                        "?)" : ""));
  if (info->bridge_ifindex != bridge.ifindex) {
    auto other = net::get_link(info->bridge_ifindex);
    return make_error("container '" + b.name + "' is on " +
                      (other ? other->name : std::string("no bridge")) + ", not on " + bridge.name +
                      ": attach xdplb to its bridge, or connect it to " + bridge.name);
  }
  if (auto s = keep_claimable_addresses(*info, bridge, b.family); !s) return make_error(s.error());
  return info;
}

}  // namespace

Result<std::vector<size_t>> find_backends(const BridgeState& state, const ServiceConfig& svc,
                                          const std::string& target) {
  std::vector<size_t> found;
  const std::string where = state.services.size() > 1 ? "service " + svc.name + " of " + state.bridge : state.bridge;
  const std::string see = ": see `xdplb backend list`";
  if (!looks_like_address(target)) {
    for (size_t i = 0; i < state.backends.size(); ++i)
      if (state.backends[i].service == svc.name && state.backends[i].name == target) found.push_back(i);
    if (found.empty()) return make_error("no backend named '" + target + "' in " + where + see);
    return found;
  }
  auto ep = parse_endpoint(target, svc.backend_port);
  if (!ep) return make_error(ep.error());
  for (size_t i = 0; i < state.backends.size(); ++i) {
    const SavedBackend& b = state.backends[i];
    if (b.service == svc.name && b.addr == ep->addr && b.port == ep->port) found.push_back(i);
  }
  if (found.empty()) return make_error("no backend " + ep->to_string() + " in " + where + see);
  return found;
}

std::string describe(const SavedBackend& b) {
  const std::string ep = b.addr.family ? Endpoint{b.addr, b.port}.to_string() : "no address";
  return b.name.empty() ? ep : b.name + " (" + ep + ")";
}

Result<ForwardingPlan> resolve_backend(const net::LinkInfo& bridge, SavedBackend& b,
                                       std::chrono::milliseconds wait, bool active) {
  ForwardingRequest req;
  req.addr = b.addr;
  req.port = b.port;
  req.fast_path_disabled = b.fast_path_disabled;
  if (!b.name.empty()) {
    auto info = resolve_named(bridge, b, wait);
    if (!info) return make_error(info.error());
    b.addr = *address_of_family(*info, b.family);
    b.source = info->source == ContainerSource::Lxc ? BackendSource::Lxc : BackendSource::Lxd;
    req.addr = b.addr;
    req.host_ifindex = info->host_ifindex;
    req.init_pid = info->init_pid;
    req.mac = info->mac;
  }
  ForwardingPlan plan = plan_forwarding(bridge, req);
  plan.entry.active = active;
  b.path = plan.entry.routed      ? BackendPath::Routed
           : plan.entry.fast_path ? BackendPath::Redirect
                                  : BackendPath::Pass;
  b.via = plan.via;
  b.path_reason = plan.reason;
  return plan;
}

void mark_down(SavedBackend& b, const std::string& why, EntryChanges& entries) {
  b.path = BackendPath::Down;
  b.via.clear();
  b.path_reason = why;
  entries.put.erase(b.id);
  entries.remove.insert(b.id);
}

std::vector<std::string> resolve_backends(const net::LinkInfo& bridge, BridgeState& state, EntryChanges& entries) {
  std::vector<std::string> report;
  for (auto& b : state.backends) {
    auto plan = resolve_backend(bridge, b, kDefaultContainerWait, b.health != Health::Down);
    if (!plan) {
      mark_down(b, plan.error(), entries);
      report.push_back("backend " + describe(b) + " is down: " + plan.error());
    } else {
      entries.put[b.id] = plan->entry;
      report.push_back("restored backend " + describe(b) + " (" + name_of(b.path) + ": " + b.path_reason + ")");
    }
  }
  return report;
}

}  // namespace xdplb
