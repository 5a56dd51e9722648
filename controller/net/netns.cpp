#include "net/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "net/netlink_attr.h"
#include "net/netlink_socket.h"

namespace xdplb::net {

namespace {

Result<UniqueFd> open_ns_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("open " + path + ": " + std::strerror(errno));
  return UniqueFd(fd);
}

Result<int> query_nsid(NetlinkSocket& sock, int netns_fd) {
  char buf[NetlinkSocket::kRequestSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETNSID;
  auto* g = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtgenmsg)));
  g->rtgen_family = AF_UNSPEC;
  mnl_attr_put_u32(nlh, NETNSA_FD, netns_fd);
  int nsid = NETNSA_NSID_NOT_ASSIGNED;
  const Status st = sock.transact(nlh, [&](const nlmsghdr* m) {
    for_each_attr(m, sizeof(rtgenmsg), [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) == NETNSA_NSID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
        nsid = static_cast<int32_t>(mnl_attr_get_u32(attr));
    });
  });
  if (!st.ok()) return make_error("ask the namespace id (RTM_GETNSID): " + st.error());
  return nsid;
}

// Every namespace path worth asking: named ones first (cheap, and what `ip netns` users and
// tests create), then those of running processes (LXC/LXD containers are not named).
std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  for (const char* dir : {"/run/netns", "/proc"}) {
    DIR* d = ::opendir(dir);
    if (!d) continue;
    const bool proc = std::strcmp(dir, "/proc") == 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (proc) {
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        paths.push_back("/proc/" + name + "/ns/net");
      } else {
        paths.push_back(std::string(dir) + "/" + name);
      }
    }
    ::closedir(d);
  }
  return paths;
}

}  // namespace

Status detail::run_on_netns_thread(int netns_fd, const std::function<void()>& fn) {
  std::string error;
  std::thread worker([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      error = std::string("enter network namespace (setns): ") + std::strerror(errno);
      return;
    }
    try {
      fn();
    } catch (const std::exception& e) {
      error = std::string("in network namespace: ") + e.what();
    }
  });
  worker.join();
  if (!error.empty()) return make_error(error);
  return {};
}

Result<UniqueFd> open_netns(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return make_error("'" + name + "' is not a namespace name");
  auto fd = open_ns_path("/run/netns/" + name);
  if (!fd) return make_error("no network namespace named '" + name + "' — see `ip netns list`");
  return fd;
}

Result<UniqueFd> open_current_netns() { return open_ns_path("/proc/thread-self/ns/net"); }

Result<int> netns_id(int netns_fd) {
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  return query_nsid(*sock, netns_fd);
}

Result<UniqueFd> find_peer_netns(const LinkInfo& host_veth) {
  if (host_veth.link_netnsid < 0) {
    if (host_veth.peer_ifindex > 0) return open_current_netns();
    return make_error("'" + host_veth.name + "' (" +
                      (host_veth.kind.empty() ? "no kind" : host_veth.kind) +
                      ") has no peer link in another namespace");
  }
  auto sock = NetlinkSocket::open(NETLINK_ROUTE);
  if (!sock) return make_error(sock.error());
  std::set<std::pair<dev_t, ino_t>> seen;
  for (const std::string& path : candidate_paths()) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;  // the process exited meanwhile
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    auto fd = open_ns_path(path);
    if (!fd) continue;  // same race
    auto nsid = query_nsid(*sock, fd->get());
    if (!nsid) return make_error(nsid.error());
    if (*nsid == host_veth.link_netnsid) return std::move(*fd);
  }
  return make_error("no namespace with id " + std::to_string(host_veth.link_netnsid) +
                    " (peer of '" + host_veth.name + "') under /run/netns or /proc — is the " +
                    "container still running?");
}

}  // namespace xdplb::net
