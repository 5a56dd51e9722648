// Network namespaces: run code inside one (on its own thread, so the caller's thread never
// moves), open one by name, and find the namespace that holds the other end of a veth —
// the backend's side, where GRO must be switched on for the fast path.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "core/fd.h"
#include "core/result.h"
#include "net/link.h"

namespace xdplb::net {

namespace detail {
// Runs `fn` on a new thread that first joins the namespace `netns_fd`; joins that thread.
Status run_on_netns_thread(int netns_fd, const std::function<void()>& fn);
}  // namespace detail

// Run `fn` (returning Status or Result<T>) in the network namespace `netns_fd` and return its
// result. Sockets `fn` opens stay in that namespace after it returns, so a NetlinkSocket or
// NetlinkMonitor created here can be used from the caller's thread afterwards.
template <typename F>
auto run_in_netns(int netns_fd, F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  std::optional<R> out;
  const Status st = detail::run_on_netns_thread(netns_fd, [&] { out = fn(); });
  if (!st.ok()) return make_error(st.error());
  return std::move(*out);
}

// /run/netns/<name>, as `ip netns add` creates it.
Result<UniqueFd> open_netns(const std::string& name);

// The calling thread's own network namespace.
Result<UniqueFd> open_current_netns();

// The id the calling thread's namespace gives `netns_fd` (what IFLA_LINK_NETNSID refers to),
// or -1 if it has none assigned.
Result<int> netns_id(int netns_fd);

// The namespace that holds the peer of the veth `host_veth` (a link seen from the calling
// thread's namespace): looks through /run/netns/* and every /proc/<pid>/ns/net, once per
// namespace, for the one whose id matches host_veth.link_netnsid. If the peer lives in the
// same namespace, returns that one.
Result<UniqueFd> find_peer_netns(const LinkInfo& host_veth);

}  // namespace xdplb::net
