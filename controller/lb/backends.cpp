#include "lb/backends.h"

#include "containers/resolver.h"

namespace xdplb {

namespace {

// A named backend's current address and veth, checked against the bridge.
Result<ContainerInfo> resolve_named(const net::LinkInfo& bridge, const SavedBackend& b,
                                    std::chrono::milliseconds wait) {
  ResolveOptions opts;
  auto source = parse_container_source(b.source);
  if (source) opts.source = *source;
  opts.lxcpath = b.lxcpath;
  opts.wait = wait;
  auto info = resolve_container(b.name, opts);
  if (!info) return info;
  if (info->ipv4.empty())
    return make_error("container '" + b.name + "' has no IPv4 address (IPv6 backends come later)");
  if (info->bridge_ifindex != bridge.ifindex) {
    auto other = net::get_link(info->bridge_ifindex);
    return make_error("container '" + b.name + "' is on " +
                      (other ? other->name : std::string("no bridge")) + ", not on " + bridge.name +
                      ": attach xdplb to its bridge, or connect it to " + bridge.name);
  }
  return info;
}

}  // namespace

std::string describe(const SavedBackend& b) {
  const std::string ep = b.addr.family ? Endpoint{b.addr, b.port}.to_string() : "no address";
  return b.name.empty() ? ep : b.name + " (" + ep + ")";
}

Result<ForwardingPlan> install_backend(Datapath& dp, const net::LinkInfo& bridge, SavedBackend& b,
                                       std::chrono::milliseconds wait, bool active) {
  ForwardingRequest req;
  req.addr = b.addr;
  req.port = b.port;
  req.fast_path_disabled = b.fast_path_disabled;
  if (!b.name.empty()) {
    auto info = resolve_named(bridge, b, wait);
    if (!info) return make_error(info.error());
    b.addr = info->ipv4.front();
    b.source = std::string(to_string(info->source));
    req.addr = b.addr;
    req.host_ifindex = info->host_ifindex;
    req.init_pid = info->init_pid;
    req.mac = info->mac;
  }
  ForwardingPlan plan = plan_forwarding(bridge, req);
  plan.entry.active = active;
  if (auto s = dp.put_backend(b.id, plan.entry); !s) return make_error(s.error());
  b.path = path_name(plan.entry);
  b.via = plan.via;
  b.path_reason = plan.reason;
  return plan;
}

Status mark_down(Datapath& dp, SavedBackend& b, const std::string& why) {
  b.path = "down";
  b.via.clear();
  b.path_reason = why;
  return dp.delete_backend(b.id);
}

std::vector<std::string> program_backends(Datapath& dp, const net::LinkInfo& bridge,
                                          BridgeState& state) {
  std::vector<std::string> report;
  for (auto& b : state.backends) {
    auto plan = install_backend(dp, bridge, b, kDefaultContainerWait, b.health != "down");
    if (!plan) {
      (void)mark_down(dp, b, plan.error());
      report.push_back("backend " + describe(b) + " is down: " + plan.error());
    } else {
      report.push_back("restored backend " + describe(b) + " (" + b.path + ": " + b.path_reason + ")");
    }
  }
  return report;
}

}  // namespace xdplb
