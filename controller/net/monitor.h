// NetlinkMonitor: rtnetlink events (links, IPv4/IPv6 addresses, neighbours) for a daemon that
// keeps the datapath in step with the kernel — a bridge MAC that changes as ports come and go,
// a backend veth that is recreated on container restart, an address that moves. Poll fd()
// for readability, then call read_events().
#pragma once

#include <functional>
#include <variant>

#include "core/result.h"
#include "net/address.h"
#include "net/link.h"
#include "net/neighbor.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

struct LinkEvent {
  bool removed = false;  // RTM_DELLINK
  LinkInfo link;
};
struct AddressEvent {
  bool removed = false;  // RTM_DELADDR
  InterfaceAddress address;
};
struct NeighborEvent {
  bool removed = false;  // RTM_DELNEIGH
  NeighborEntry neighbor;
};
using NetEvent = std::variant<LinkEvent, AddressEvent, NeighborEvent>;

class NetlinkMonitor {
 public:
  // Subscribes in the calling thread's namespace (open it inside run_in_netns for another).
  static Result<NetlinkMonitor> open();

  // Non-blocking; becomes readable when events are queued.
  int fd() const { return sock_.fd(); }

  // Hand every queued event to `on_event`, then return. An error means events were lost
  // (queue overflow): the caller should re-read the state it tracks.
  Status read_events(const std::function<void(const NetEvent&)>& on_event);

 private:
  explicit NetlinkMonitor(NetlinkSocket sock) : sock_(std::move(sock)) {}
  NetlinkSocket sock_;
};

}  // namespace xdplb::net
