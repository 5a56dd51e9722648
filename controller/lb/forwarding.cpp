#include "lb/forwarding.h"

#include <fcntl.h>

#include <chrono>

#include "core/prefix.h"
#include "net/fdb.h"
#include "net/gro.h"
#include "net/neighbor.h"
#include "net/netns.h"

namespace xdplb {

namespace {

// The namespace of the veth's other end: the container's (by init pid) when known, else the
// one the kernel names for the peer.
Result<UniqueFd> peer_namespace(const net::LinkInfo& veth, int init_pid) {
  if (init_pid > 0) {
    const std::string path = "/proc/" + std::to_string(init_pid) + "/ns/net";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid()) return fd;
  }
  return net::find_peer_netns(veth);
}

ForwardingPlan pass_path(ForwardingPlan plan, std::string reason) {
  plan.entry.fast_path = false;
  plan.reason = std::move(reason);
  return plan;
}

// A backend by address with none of the bridge's subnets holding it: routed. The bridge's
// addresses unreadable: not routed (the pass path still reaches it through the stack).
bool routed_backend(const net::LinkInfo& bridge, const ForwardingRequest& req) {
  if (req.host_ifindex != 0 || req.init_pid > 0) return false;  // a container on the bridge
  auto addrs = net::link_addresses(bridge.ifindex);
  return addrs && outside_subnets(*addrs, req.addr);
}

}  // namespace

bool outside_subnets(const std::vector<net::InterfaceAddress>& bridge_addresses, const IpAddress& addr) {
  bool same_family = false;
  for (const auto& a : bridge_addresses) {
    if (a.address.is_v4() != addr.is_v4()) continue;
    same_family = true;
    if (IpPrefix::of(a.address, a.prefix_len).contains(addr)) return false;
  }
  return same_family;
}

ForwardingPlan plan_forwarding(const net::LinkInfo& bridge, const ForwardingRequest& req) {
  ForwardingPlan plan;
  plan.entry.addr = req.addr;
  plan.entry.port = req.port;
  plan.entry.smac = bridge.mac;
  if (routed_backend(bridge, req)) {
    plan.entry.routed = true;
    plan.reason = "outside " + bridge.name + "'s subnets: routed by the host (FIB lookup per packet)";
    return plan;
  }
  if (req.fast_path_disabled) return pass_path(plan, "fast path disabled (--no-fast-path)");

  Result<Mac> mac = req.mac ? Result<Mac>(*req.mac)
                            : net::resolve_neighbor(bridge.ifindex, req.addr, std::chrono::seconds(2));
  if (!mac) return pass_path(plan, "MAC unknown on " + bridge.name + ": " + mac.error());
  plan.entry.dmac = *mac;

  int port_ifindex = req.host_ifindex;
  if (port_ifindex == 0) {
    auto port = net::bridge_port_for_mac(bridge.ifindex, *mac);
    if (!port) return pass_path(plan, "no bridge port for " + to_string(*mac) + ": " + port.error());
    port_ifindex = *port;
  }
  auto veth = net::get_link(port_ifindex);
  if (!veth) return pass_path(plan, veth.error());
  plan.via = veth->name;
  if (veth->master != bridge.ifindex)
    return pass_path(plan, veth->name + " is not a port of " + bridge.name);
  if (veth->kind != "veth")
    return pass_path(plan, veth->name + " is a " + (veth->kind.empty() ? "plain" : veth->kind) +
                               " link, not a veth: redirect only goes into veths");

  auto ns = peer_namespace(*veth, req.init_pid);
  if (!ns) return pass_path(plan, "cannot reach the namespace behind " + veth->name + ": " + ns.error());
  auto gro = net::get_gro(*ns, veth->peer_ifindex);
  if (!gro) return pass_path(plan, "cannot read GRO behind " + veth->name + ": " + gro.error());
  if (!*gro) {
    // The container side needs NAPI for devmap redirects into the veth (without it they
    // are dropped); GRO on gives it without an XDP program there (which would make the veth
    // copy every skb).
    auto set = net::set_gro(*ns, veth->peer_ifindex, true);
    if (!set) return pass_path(plan, "cannot turn GRO on behind " + veth->name + ": " + set.error());
    plan.reason = "turned GRO on behind " + veth->name + " (NAPI for the redirect)";
  } else {
    plan.reason = "GRO already on behind " + veth->name;
  }
  plan.entry.ifindex = veth->ifindex;
  plan.entry.fast_path = true;
  return plan;
}

}  // namespace xdplb
