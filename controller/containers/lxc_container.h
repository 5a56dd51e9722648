// LxcContainer: an owned liblxc handle (lxc_container_new … lxc_container_put) with the few
// queries the resolver needs (state, init pid, running config), returning C++ values. Works for
// classic LXC and for LXD's containers (LXD runs them through liblxc under its own lxcpath).
// Call from a thread in the host's network namespace: liblxc's command socket is
// namespace-local.
#pragma once

#include <lxc/lxccontainer.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace xdplb {

class LxcContainer {
 public:
  static Result<LxcContainer> open(const std::string& name, const std::string& lxcpath);
  LxcContainer(const LxcContainer&) = delete;
  LxcContainer& operator=(const LxcContainer&) = delete;
  LxcContainer(LxcContainer&& o) noexcept;
  LxcContainer& operator=(LxcContainer&& o) noexcept;
  ~LxcContainer();

  // Has a config file under lxcpath (classic LXC; LXD keeps its configs elsewhere).
  bool defined() const;
  bool running() const;
  std::string state() const;  // "STOPPED", "STARTING", "RUNNING", ...
  pid_t init_pid() const;     // -1 when not running
  // A config item of the running container (e.g. "lxc.net.0.veth.pair").
  std::optional<std::string> running_config_item(const std::string& key) const;

 private:
  explicit LxcContainer(lxc_container* c) : c_(c) {}
  lxc_container* c_ = nullptr;
};

// liblxc's default lxcpath (lxc.lxcpath, normally /var/lib/lxc).
std::string default_lxcpath();

// Names of the containers defined or running under lxcpath.
std::vector<std::string> lxc_container_names(const std::string& lxcpath);

}  // namespace xdplb
