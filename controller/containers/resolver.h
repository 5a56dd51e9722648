// Containers as backends: find a container by name in LXD or classic LXC and report what the
// datapath needs (addresses, eth0's MAC, the host-side veth on the bridge), and switch on GRO
// inside it so XDP redirects into its veth work.
#pragma once

#include <string>
#include <vector>

#include "containers/container_info.h"
#include "core/result.h"

namespace xdplb {

// Looks in LXD (when its socket exists) and in classic LXC (options.lxcpath), as
// options.source allows. Errors name the container and say what to do: the same name in
// both ("use --source"), stopped ("start it with ..."), unknown (where it looked, what is there).
// A running container without any usable address yet is polled for up to options.wait; it is
// returned as soon as it has one (IPv6 addresses still in duplicate address detection do not
// count). IPv4 from DHCP usually comes first; the global IPv6 address from router
// advertisements follows about 2 s after boot — resolve again to pick it up.
// Call from a thread in the host's network namespace.
Result<ContainerInfo> resolve_container(const std::string& name,
                                        const ResolveOptions& options = {});

// The daemon's poll: resolve_container(), and whether a failure says nothing about the
// container (unknown: LXD's API answered an error or nonsense, liblxc failed, a library threw)
// rather than that it does not run (stopped, gone, no address). Never throws.
struct ContainerLookup {
  Result<ContainerInfo> info;
  bool unknown = false;
};
ContainerLookup lookup_container(const std::string& name, const ResolveOptions& options);

// The containers of `source` (Auto = both; LXD is skipped when absent unless asked for).
// lxcpath empty = liblxc's default.
Result<std::vector<ContainerListing>> list_containers(ContainerSource source,
                                                      const std::string& lxcpath = "");

// Switches GRO on for eth0 inside the container (its namespace, entered on a separate
// thread), which gives that veth end NAPI: without it every XDP redirect into the host-side
// veth fails (xdp_redirect_err -95). Returns whether GRO is on afterwards.
Result<bool> enable_container_gro(const ContainerInfo& info);

}  // namespace xdplb
