// Writing the Maglev rings. The ring map is BPF_F_MMAPABLE: the controller maps it once and
// stores the slots that change in place. Through the map syscalls each slot cost 0.15-0.6 us
// in the kernel (a batch update of a whole ring: 10-30 ms); a store costs nanoseconds, and it
// cannot fail halfway. A slot is one aligned 4-byte value, so the datapath (which reads it with
// one load) sees the old backend or the new one, never a mix.
#include "datapath/datapath.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

Status Datapath::write_ring(uint32_t pool, const std::vector<uint32_t>& ring) {
  auto written = write_ring_changes(pool, ring, nullptr);
  if (!written) return make_error(written.error());
  return {};
}

Result<uint32_t> Datapath::write_ring_changes(uint32_t pool, const std::vector<uint32_t>& ring,
                                              const std::vector<uint32_t>* before) {
  if (pool >= XDPLB_MAX_POOLS) return make_error("pool " + std::to_string(pool) + " out of range");
  if (ring.size() != XDPLB_MAGLEV_RING_SIZE || (before && before->size() != ring.size()))
    return make_error("ring has " + std::to_string(ring.size()) + " slots, expected " +
                      std::to_string(XDPLB_MAGLEV_RING_SIZE));
  const size_t first = static_cast<size_t>(pool) * XDPLB_MAGLEV_RING_SIZE;
  MapMapping& window = rings_[pool];
  if (!window.mapped()) {
    auto m = MapMapping::of(skel_->maps.ring, "Maglev ring", first, XDPLB_MAGLEV_RING_SIZE);
    if (!m) return make_error("writing the ring of pool " + std::to_string(pool) + ": " + m.error());
    window = std::move(*m);
  }
  uint32_t written = 0;
  for (uint32_t i = 0; i < ring.size(); ++i) {
    if (before && (*before)[i] == ring[i]) continue;
    // Release: the backend entries written before the ring are seen before the slot naming
    // them (a plain store on x86).
    __atomic_store_n(window.at<uint32_t>(first + i), ring[i], __ATOMIC_RELEASE);
    ++written;
  }
  return written;
}

}  // namespace xdplb
