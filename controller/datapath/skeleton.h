// Owning the generated skeleton (xdplb_bpf.skel.h): open it with or without a pin root, and
// route libbpf's own messages (verifier logs, pin reuse) through spdlog.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct xdplb_bpf;

namespace xdplb {

struct SkeletonDeleter {
  void operator()(struct ::xdplb_bpf* skel) const;
};
using SkeletonPtr = std::unique_ptr<struct ::xdplb_bpf, SkeletonDeleter>;

// Opens (does not load) the object. With a pin root, maps declared LIBBPF_PIN_BY_NAME are
// reused from / pinned to pin_root/<map name> at load; without one, pinning is switched off.
Result<SkeletonPtr> open_skeleton(const std::string* pin_root);

// Fills the TC program's tail-call table (enum xdplb_tc_jump -> program) of a loaded skeleton.
// Every load that loads the programs calls it; `open` (programs not loaded) must not.
Status fill_tc_jumps(struct ::xdplb_bpf* skel);

// The file names the maps are pinned under (their names), from the object itself.
Result<std::vector<std::string>> map_pin_names();

// "what failed: strerror" for a libbpf-style negative errno.
std::string errno_text(int negative_errno);

}  // namespace xdplb
