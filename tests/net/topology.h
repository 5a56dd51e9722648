// Test topology for tests/net: everything lives in namespaces this process creates (names
// carry the "xnl" prefix and the PID, so parallel test processes never collide) and removes
// in the destructor, also when an assertion fails.
//
//   namespace xnlh-<pid> ("host"):  bridge xnlbr0 10.77.0.1/24 fd00:77::1/64
//                                     ├─ xnlv1 ── eth0 in xnla-<pid>  10.77.0.11 fd00:77::11
//                                     └─ xnlv2 ── eth0 in xnlb-<pid>  10.77.0.12 fd00:77::12
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/fd.h"
#include "core/result.h"
#include "net/netns.h"

namespace xdplb::net::testing {

// Run a shell command; an error carries the command and its exit status.
inline Status sh(const std::string& command) {
  const int rc = std::system((command + " >/dev/null 2>&1").c_str());
  if (rc != 0) return make_error("`" + command + "` failed (status " + std::to_string(rc) + ")");
  return {};
}

// Output of a shell command (for cross-checking against other tools), trailing newline cut.
inline std::string sh_output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// `ip netns add NAME` on construction, `ip netns del NAME` on destruction.
class NamedNetns {
 public:
  explicit NamedNetns(std::string name) : name_(std::move(name)) {
    created_ = sh("ip netns add " + name_).ok();
    if (created_) {
      if (auto fd = open_netns(name_)) fd_ = std::move(*fd);
      // No duplicate address detection: IPv6 addresses are usable at once.
      (void)sh("ip netns exec " + name_ +
               " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
      (void)sh("ip -n " + name_ + " link set lo up");
    }
  }
  ~NamedNetns() {
    fd_.reset();
    if (created_) (void)sh("ip netns del " + name_);
  }
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;

  bool ok() const { return created_ && fd_.valid(); }
  const std::string& name() const { return name_; }
  const UniqueFd& fd() const { return fd_; }
  // A shell command run inside this namespace.
  std::string exec(const std::string& command) const {
    return "ip netns exec " + name_ + " " + command;
  }

 private:
  std::string name_;
  bool created_ = false;
  UniqueFd fd_;
};

inline std::string unique_name(const char* prefix) {
  return std::string(prefix) + "-" + std::to_string(::getpid());
}

struct Topology {
  NamedNetns host{unique_name("xnlh")};
  NamedNetns a{unique_name("xnla")};
  NamedNetns b{unique_name("xnlb")};

  // Build links and addresses; call once, ASSERT on the result.
  Status build() {
    if (!host.ok() || !a.ok() || !b.ok()) return make_error("could not create the namespaces");
    const std::string h = "ip -n " + host.name() + " ";
    XDPLB_TRY(sh(h + "link add xnlbr0 type bridge"));
    XDPLB_TRY(sh(h + "link set xnlbr0 up"));
    XDPLB_TRY(sh(h + "addr add 10.77.0.1/24 dev xnlbr0"));
    XDPLB_TRY(sh(h + "addr add fd00:77::1/64 dev xnlbr0 nodad"));
    XDPLB_TRY(add_port("xnlv1", a, "11"));
    XDPLB_TRY(add_port("xnlv2", b, "12"));
    return {};
  }

 private:
  Status add_port(const std::string& veth, const NamedNetns& peer, const std::string& host_id) {
    const std::string h = "ip -n " + host.name() + " ";
    const std::string p = "ip -n " + peer.name() + " ";
    XDPLB_TRY(sh(h + "link add " + veth + " type veth peer name eth0 netns " + peer.name()));
    XDPLB_TRY(sh(h + "link set " + veth + " master xnlbr0 up"));
    XDPLB_TRY(sh(p + "link set eth0 up"));
    XDPLB_TRY(sh(p + "addr add 10.77.0." + host_id + "/24 dev eth0"));
    XDPLB_TRY(sh(p + "addr add fd00:77::" + host_id + "/64 dev eth0 nodad"));
    return {};
  }
};

}  // namespace xdplb::net::testing
