// MapMapping: a BPF_F_MMAPABLE array map mapped into this process (read-write, shared with the
// kernel), unmapped once. The controller writes such maps with plain stores where the map
// syscalls would cost per element (the Maglev rings) or lose the datapath's concurrent atomic
// updates (the connection counters).
#pragma once

#include <cstddef>
#include <utility>

#include "core/result.h"

struct bpf_map;

namespace xdplb {

class MapMapping {
 public:
  MapMapping() = default;
  MapMapping(const MapMapping&) = delete;
  MapMapping& operator=(const MapMapping&) = delete;
  MapMapping(MapMapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), stride_(o.stride_),
        origin_(o.origin_) {}
  MapMapping& operator=(MapMapping&& o) noexcept;
  ~MapMapping() { reset(); }

  // The whole of map (max_entries values, each at a multiple of 8 bytes as the kernel lays
  // array values out). Fails for a map without BPF_F_MMAPABLE; `what` names it in the error.
  static Result<MapMapping> of(const struct bpf_map* map, const char* what);
  // Only the pages that hold elements [first, first + count): the kernel maps every page at
  // mmap() time, so a window costs a fraction of the whole (a ring's 129 pages of 4097).
  static Result<MapMapping> of(const struct bpf_map* map, const char* what, size_t first, size_t count);

  bool mapped() const { return addr_ != nullptr; }
  // The value of element i of the map (no bounds check: the caller keeps i in the window).
  template <typename V>
  V* at(size_t i) const {
    return reinterpret_cast<V*>(static_cast<char*>(addr_) + (i * stride_ - origin_));
  }
  void reset();

 private:
  void* addr_ = nullptr;
  size_t bytes_ = 0;
  size_t stride_ = 0;  // bytes from one element to the next
  size_t origin_ = 0;  // offset in the map of the first mapped byte (a page multiple)
};

}  // namespace xdplb
