// ensure_bpffs: pins need a bpf filesystem; some hosts (and containers) have none mounted.
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>

#include "datapath/datapath.h"

namespace xdplb {

namespace {
constexpr const char* kBpffs = "/sys/fs/bpf";

bool is_bpffs(const char* path) {
  struct statfs st {};
  return statfs(path, &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}
}  // namespace

Result<std::string> ensure_bpffs() {
  if (is_bpffs(kBpffs)) return std::string();
  if (mkdir(kBpffs, 0700) != 0 && errno != EEXIST)
    return make_error(std::string("creating ") + kBpffs + " failed: " + std::strerror(errno));
  if (mount("bpf", kBpffs, "bpf", 0, "mode=0700") != 0)
    return make_error(std::string("mounting a bpf filesystem on ") + kBpffs + " failed: " +
                      std::strerror(errno) + " (run as root, or mount it: mount -t bpf bpf " +
                      kBpffs + ")");
  return std::string("mounted a bpf filesystem on ") + kBpffs + " (none was mounted; pins need one)";
}

}  // namespace xdplb
