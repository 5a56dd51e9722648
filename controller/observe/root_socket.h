// The daemon's root-only unix sockets in the state dir (events, control): bound with mode
// 0600 (replacing one a dead daemon left: the caller holds the daemon's pid lock), listening,
// non-blocking; and the check that a peer is root.
#pragma once

#include <string>

#include "core/fd.h"
#include "core/result.h"

namespace xdplb::observe {

// `what` names the socket in errors ("events socket").
Result<UniqueFd> listen_root_socket(const std::string& path, const std::string& what, int backlog);
bool peer_is_root(int conn);

}  // namespace xdplb::observe
