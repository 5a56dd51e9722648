#include "datapath/map_mapping.h"

#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "datapath/skeleton.h"

namespace xdplb {

MapMapping& MapMapping::operator=(MapMapping&& o) noexcept {
  if (this != &o) {
    reset();
    addr_ = std::exchange(o.addr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    stride_ = o.stride_;
    origin_ = o.origin_;
  }
  return *this;
}

Result<MapMapping> MapMapping::of(const struct bpf_map* map, const char* what) {
  return of(map, what, 0, bpf_map__max_entries(map));
}

Result<MapMapping> MapMapping::of(const struct bpf_map* map, const char* what, size_t first, size_t count) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // The kernel's array_map_alloc: each value rounded up to 8 bytes.
  const size_t stride = (static_cast<size_t>(bpf_map__value_size(map)) + 7) / 8 * 8;
  const size_t origin = first * stride / page * page;
  const size_t end = ((first + count) * stride + page - 1) / page * page;
  void* p = ::mmap(nullptr, end - origin, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map),
                   static_cast<off_t>(origin));
  if (p == MAP_FAILED)
    return make_error(std::string("mapping the ") + what + " failed: " + errno_text(-errno) +
                      " (a datapath attached by an older xdplb: run `xdplb attach` with this one to replace it)");
  MapMapping m;
  m.addr_ = p;
  m.bytes_ = end - origin;
  m.stride_ = stride;
  m.origin_ = origin;
  return m;
}

void MapMapping::reset() {
  if (addr_) ::munmap(addr_, bytes_);
  addr_ = nullptr;
  bytes_ = 0;
}

}  // namespace xdplb
