#include "core/ring_checksum.h"

#include <cstdio>
#include <map>

namespace xdplb {
namespace {
constexpr uint64_t kChecksumSeed = 0x72696e672d63686bULL;  // "ring-chk"
}  // namespace

Result<uint64_t> ring_checksum(std::vector<MaglevBackend> members, uint32_t ring_size) {
  std::map<uint32_t, std::string> key_of;
  for (const auto& m : members) key_of[m.id] = m.key;
  auto ring = build_maglev_ring(std::move(members), ring_size);
  if (!ring) return make_error(ring.error());
  // One pass over the slots: a run of slots with the same backend folds into (key, run length),
  // so the hashed text stays small while every slot counts.
  std::string text = std::to_string(ring_size);
  for (size_t i = 0; i < ring->size();) {
    size_t j = i;
    while (j < ring->size() && (*ring)[j] == (*ring)[i]) ++j;
    auto it = key_of.find((*ring)[i]);
    text += '\n';
    text += it == key_of.end() ? std::string("-") : it->second;
    text += ' ';
    text += std::to_string(j - i);
    i = j;
  }
  return maglev_hash(text, kChecksumSeed);
}

std::string checksum_text(uint64_t checksum) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(checksum));
  return buf;
}

}  // namespace xdplb
