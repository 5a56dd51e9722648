// What the controller needs to know about a container used as a backend: where it came from
// (LXD or classic LXC), whether it runs, its addresses, and the host-side end of its veth —
// the port of the bridge that the datapath redirects into.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.h"
#include "core/mac.h"
#include "core/result.h"

namespace xdplb {

enum class ContainerSource { Auto, Lxd, Lxc };

// "auto", "lxd", "lxc" — as the CLI's --source takes them and messages print them.
std::string_view to_string(ContainerSource source);
Result<ContainerSource> parse_container_source(std::string_view text);

struct ResolveOptions {
  ContainerSource source = ContainerSource::Auto;
  // Classic LXC's container directory; empty = liblxc's default (lxc.lxcpath, /var/lib/lxc).
  std::string lxcpath;
  // A container that was just started may not have its address yet: poll this long.
  std::chrono::milliseconds wait{5000};
};

struct ContainerInfo {
  std::string name;
  ContainerSource source = ContainerSource::Auto;  // Lxd or Lxc once resolved
  std::string lxcpath;                             // where liblxc found it
  bool running = false;
  pid_t init_pid = 0;
  std::vector<IpAddress> ipv4;
  std::vector<IpAddress> ipv6;  // global scope only
  Mac mac{};                    // the container's eth0
  int container_ifindex = 0;    // eth0's ifindex inside the container's namespace
  std::string host_veth;        // host-side end of eth0's veth (changes on every restart)
  int host_ifindex = 0;
  int bridge_ifindex = 0;  // the bridge host_veth is a port of; 0 if none
};

// A container as list_containers() reports it (for hints in error messages and `xdplb`).
struct ContainerListing {
  std::string name;
  ContainerSource source = ContainerSource::Auto;
  bool running = false;
};

}  // namespace xdplb
