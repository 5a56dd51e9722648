#include "datapath/skeleton.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdplb/abi.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>

#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

// libbpf prints verifier logs and pin decisions itself; send them to our log instead of
// letting them interleave with the CLI's output. A line below the log level is not even
// formatted: opening the object prints hundreds of debug lines.
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  const auto ours = level == LIBBPF_WARN   ? spdlog::level::warn
                    : level == LIBBPF_INFO ? spdlog::level::debug
                                           : spdlog::level::trace;
  if (!spdlog::should_log(ours)) return 0;
  char buf[4096];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  std::string line(buf, n > 0 ? std::min<size_t>(n, sizeof buf - 1) : 0);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  spdlog::log(ours, "libbpf: {}", line);
  return n;
}

void route_libbpf_log() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(libbpf_print); });
}

}  // namespace

void SkeletonDeleter::operator()(struct ::xdplb_bpf* skel) const { xdplb_bpf__destroy(skel); }

std::string errno_text(int negative_errno) { return std::strerror(negative_errno < 0 ? -negative_errno : negative_errno); }

Result<SkeletonPtr> open_skeleton(const std::string* pin_root) {
  route_libbpf_log();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root ? pin_root->c_str() : nullptr);
  SkeletonPtr skel(xdplb_bpf__open_opts(&opts));
  if (!skel) return make_error("opening the BPF object failed: " + errno_text(errno));
  if (!pin_root) {
    // Unattached loads (tests, benchmarks) must not touch pins: libbpf would otherwise
    // reuse or create them under its default /sys/fs/bpf.
    struct bpf_map* map;
    bpf_object__for_each_map(map, skel->obj) {
      if (int err = bpf_map__set_pin_path(map, nullptr); err)
        return make_error(std::string("switching off pinning of map ") + bpf_map__name(map) +
                          " failed: " + errno_text(err));
    }
  }
  return skel;
}

Status fill_tc_jumps(struct ::xdplb_bpf* skel) {
  const std::pair<uint32_t, struct bpf_program*> jumps[] = {
      {XDPLB_TC_JUMP_ICMP, skel->progs.xdplb_tc_icmp},
      {XDPLB_TC_JUMP_FRAGMENT, skel->progs.xdplb_tc_fragment},
      {XDPLB_TC_JUMP_HAIRPIN, skel->progs.xdplb_tc_hairpin},
      {XDPLB_TC_JUMP_HAIRPIN_FRAGMENT, skel->progs.xdplb_tc_hairpin_fragment},
      {XDPLB_TC_JUMP_HAIRPIN_FRAG_NEEDED, skel->progs.xdplb_tc_hairpin_frag_needed},
  };
  static_assert(std::size(jumps) == XDPLB_TC_JUMP_MAX, "a tail call of abi.h has no program here");
  for (const auto& [slot, prog] : jumps) {
    const int fd = bpf_program__fd(prog);
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.tc_jump), &slot, &fd, BPF_ANY))
      return make_error(std::string("filling the TC tail-call table with ") + bpf_program__name(prog) +
                        " failed: " + errno_text(errno));
  }
  return {};
}

Result<std::vector<std::string>> map_pin_names() {
  // The build's names: read from the object once per process (opening it parses the whole
  // ELF, and every command asks through is_attached, some several times).
  static std::mutex mutex;
  static std::optional<std::vector<std::string>> cached;
  std::lock_guard<std::mutex> hold(mutex);
  if (cached) return *cached;
  auto skel = open_skeleton(nullptr);
  if (!skel) return make_error(skel.error());
  std::vector<std::string> names;
  struct bpf_map* map;
  // Internal maps (.rodata, .bss) are never pinned; their names hold a '.', which bpffs
  // refuses even to look up (EPERM).
  bpf_object__for_each_map(map, (*skel)->obj) {
    if (!bpf_map__is_internal(map)) names.emplace_back(bpf_map__name(map));
  }
  cached = names;
  return names;
}

}  // namespace xdplb
