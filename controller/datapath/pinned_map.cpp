#include "datapath/pinned_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "core/fd.h"

namespace xdplb {

namespace {
std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }
}  // namespace

Status reuse_pinned_map(struct bpf_map* map, const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid())
    return make_error("map pin " + path + " cannot be opened: " + std::strerror(errno) +
                      " (is the bridge attached? attach it first, or detach and attach again)");
  struct bpf_map_info info {};
  __u32 len = sizeof info;
  if (int err = bpf_obj_get_info_by_fd(fd.get(), &info, &len); err)
    return make_error("reading " + path + " failed: " + errno_text(err));
  // The flow tables are sized at attach: take the size the pinned ones have.
  if (info.type == BPF_MAP_TYPE_LRU_HASH && info.max_entries != bpf_map__max_entries(map))
    if (int err = bpf_map__set_max_entries(map, info.max_entries); err)
      return make_error("sizing " + path + " failed: " + errno_text(err));
  if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
      info.value_size != bpf_map__value_size(map) || info.max_entries != bpf_map__max_entries(map) ||
      (info.map_flags & BPF_F_MMAPABLE) != (bpf_map__map_flags(map) & BPF_F_MMAPABLE))
    return make_error("pinned map " + path + " does not match this build of xdplb (detach and attach again)");
  if (int err = bpf_map__reuse_fd(map, fd.get()); err)
    return make_error("reusing " + path + " failed: " + errno_text(err));
  // The map now has its fd: without a pin path libbpf neither reuses nor re-pins it.
  if (int err = bpf_map__set_pin_path(map, nullptr); err)
    return make_error("clearing the pin path of " + path + " failed: " + errno_text(err));
  return {};
}

}  // namespace xdplb
