// AttachedBridge of attached.h.
#include "attached.h"

#include <net/if.h>
#include <unistd.h>

#include <filesystem>

namespace xdplb::test {

Result<std::unique_ptr<AttachedBridge>> AttachedBridge::create(const TestNetns& ns, const std::string& tag,
                                                               const std::string& bridge,
                                                               const std::string& uplink,
                                                               const Tunables& tunables) {
  XDPLB_TRY(ensure_bpffs());
  std::unique_ptr<AttachedBridge> a(new AttachedBridge);
  a->root_ = "/sys/fs/bpf/" + tag + std::to_string(::getpid());
  a->pin_dir_ = a->root_ + "/" + bridge;
  std::error_code ec;
  std::filesystem::create_directories(a->root_, ec);
  if (ec) return make_error("creating " + a->root_ + " failed: " + ec.message());
  Result<std::unique_ptr<Datapath>> dp = make_error("not run");
  XDPLB_TRY(ns.run([&] {
    AttachSpec spec;
    spec.pin_dir = a->pin_dir_;
    spec.bridge = bridge;
    spec.bridge_ifindex = static_cast<int>(if_nametoindex(bridge.c_str()));
    spec.uplinks.push_back({uplink, static_cast<int>(if_nametoindex(uplink.c_str()))});
    spec.tunables = tunables;
    dp = Datapath::attach(spec, nullptr);
  }));
  if (!dp) return make_error(dp.error());
  a->dp_ = std::move(*dp);
  return a;
}

AttachedBridge::~AttachedBridge() {
  dp_.reset();
  if (Datapath::is_attached(pin_dir_)) (void)Datapath::detach(pin_dir_);
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

}  // namespace xdplb::test
