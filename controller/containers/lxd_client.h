// A minimal client for LXD's REST API on its unix socket: one GET per connection (HTTP/1.0,
// the daemon closes when done), JSON body. Enough to ask whether an instance exists, what
// type it is and to list instances (state and pid come from liblxc, the rest from netlink).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace xdplb {

// Where this host's LXD lives: $LXD_DIR, the snap's or the Debian package's directory.
struct LxdSite {
  std::string socket;   // .../unix.socket
  std::string lxcpath;  // .../containers (LXD runs its containers through liblxc here)
};

// The first of $LXD_DIR, /var/snap/lxd/common/lxd, /var/lib/lxd with a unix socket.
std::optional<LxdSite> find_lxd();
// The places find_lxd() looks, for "LXD not found (looked at ...)" messages.
std::string lxd_socket_candidates();

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Parses "HTTP/1.x NNN ...\r\nheaders\r\n\r\nbody" (no chunked encoding: we speak HTTP/1.0).
Result<HttpResponse> parse_http_response(std::string_view raw);

class LxdClient {
 public:
  explicit LxdClient(std::string socket,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000))
      : socket_(std::move(socket)), timeout_(timeout) {}

  // GET path (e.g. "/1.0/instances/web1"); the parsed JSON body, whatever the status.
  Result<HttpResponse> get(const std::string& path) const;
  // GET and require 200; the "metadata" member of LXD's response envelope.
  Result<nlohmann::json> get_metadata(const std::string& path) const;

  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  std::chrono::milliseconds timeout_;
};

}  // namespace xdplb
