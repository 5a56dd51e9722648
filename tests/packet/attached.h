// A datapath attached for real inside a test's namespace (TC on the bridge, XDP on one
// uplink), pinned under /sys/fs/bpf/<tag><pid>; the destructor detaches and removes the pins,
// host-local links included (Datapath::detach unpins every link_*).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "datapath/datapath.h"
#include "test_netns.h"

namespace xdplb::test {

class AttachedBridge {
 public:
  static Result<std::unique_ptr<AttachedBridge>> create(const TestNetns& ns, const std::string& tag,
                                                        const std::string& bridge, const std::string& uplink,
                                                        const Tunables& tunables = {});
  ~AttachedBridge();
  AttachedBridge(const AttachedBridge&) = delete;
  AttachedBridge& operator=(const AttachedBridge&) = delete;

  Datapath& dp() { return *dp_; }
  const std::string& pin_dir() const { return pin_dir_; }

 private:
  AttachedBridge() = default;
  std::string root_, pin_dir_;
  std::unique_ptr<Datapath> dp_;
};

}  // namespace xdplb::test
