// NetlinkSocket: one libmnl socket (rtnetlink or generic netlink) owned RAII-style, plus the
// request/reply loop every query in net/ uses. A socket belongs to the network namespace of
// the thread that opened it, so code that must look into another namespace opens its socket
// inside run_in_netns() (see netns.h).
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct mnl_socket;

namespace xdplb::net {

class NetlinkSocket {
 public:
  // bus: NETLINK_ROUTE or NETLINK_GENERIC. groups: multicast bitmask to join (0 = none).
  static Result<NetlinkSocket> open(int bus, unsigned groups = 0);

  NetlinkSocket(NetlinkSocket&&) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&&) noexcept;
  ~NetlinkSocket();

  // Called for every data message of a reply (the caller's closure keeps what it needs).
  using OnMessage = std::function<void(const nlmsghdr*)>;

  // Send `request` (sequence number and, for non-dumps, NLM_F_ACK are filled in) and feed the
  // reply messages to `on_message` until the kernel's DONE or ACK. A kernel error becomes an
  // Error carrying strerror and the kernel's extended-ack text, if any.
  Status transact(nlmsghdr* request, const OnMessage& on_message = {});

  // Read whatever is queued (for multicast listeners); returns without blocking when the
  // socket was opened with groups != 0 and nothing is pending.
  Status drain(const OnMessage& on_message);

  // errno of the last failed transact() (ENODEV, ENOENT, ...), 0 after a success: lets callers
  // turn specific kernel answers into specific advice.
  int last_errno() const { return last_errno_; }

  int fd() const;
  unsigned portid() const { return portid_; }

  // A buffer large enough for any request this code builds.
  static constexpr size_t kRequestSize = 1024;

 private:
  NetlinkSocket() = default;
  struct Closer {
    void operator()(mnl_socket* s) const;
  };
  std::unique_ptr<mnl_socket, Closer> sock_;
  unsigned portid_ = 0;
  uint32_t seq_ = 0;
  int last_errno_ = 0;
  std::vector<char> buf_;
};

}  // namespace xdplb::net
