#include "core/maglev.h"

#include <algorithm>
#include <cstdint>
#include <bitset>
#include <unordered_set>

namespace xdplb {
namespace {

// Seeds of the two independent hashes (offset and skip). Arbitrary, but fixed forever.
constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

// splitmix64's finalizer: every input bit affects every output bit, so the FNV pass below only
// has to be injective-ish, not well mixed.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  // 64-bit square so d*d cannot overflow near UINT32_MAX; at most ~32768 iterations.
  for (uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

uint64_t maglev_hash(std::string_view key, uint64_t seed) {
  // FNV-1a over the bytes (defined on bytes, so the same on every machine), seeded and
  // length-salted, then a strong finalizer.
  uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed + key.size());
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h ^ seed);
}

MaglevPermutation maglev_permutation(std::string_view key, uint32_t ring_size) {
  MaglevPermutation p;
  if (ring_size < 2) return p;
  p.offset = static_cast<uint32_t>(maglev_hash(key, kOffsetSeed) % ring_size);
  // With a prime ring size any skip in 1..ring_size-1 visits every slot exactly once.
  p.skip = static_cast<uint32_t>(maglev_hash(key, kSkipSeed) % (ring_size - 1)) + 1;
  return p;
}

Status check_maglev_input(const std::vector<MaglevBackend>& backends, uint32_t ring_size) {
  if (ring_size > XDPLB_MAGLEV_RING_SIZE)
    return make_error("Maglev ring size " + std::to_string(ring_size) +
                      " is larger than the datapath's ring (" +
                      std::to_string(XDPLB_MAGLEV_RING_SIZE) + " slots): use a smaller prime");
  if (!is_prime(ring_size))
    return make_error("Maglev ring size " + std::to_string(ring_size) +
                      " is not a prime: use a prime such as " +
                      std::to_string(XDPLB_MAGLEV_RING_SIZE));
  if (backends.size() >= ring_size)
    return make_error("Maglev ring size " + std::to_string(ring_size) + " must be larger than " +
                      "the number of backends (" + std::to_string(backends.size()) +
                      "): use a prime at least 100x the backends");
  // A bit per possible id and a hash set of keys: no tree nodes, no strings built unless an
  // error is reported (this runs before every ring build).
  std::bitset<XDPLB_MAX_BACKENDS> ids;
  std::unordered_set<std::string_view> keys;
  keys.reserve(backends.size());
  for (const auto& b : backends) {
    const bool fine = b.id < XDPLB_MAX_BACKENDS && b.weight >= 1 && b.weight <= XDPLB_MAX_WEIGHT &&
                      !b.key.empty() && !ids.test(b.id) && keys.insert(b.key).second;
    if (fine) {
      ids.set(b.id);
      continue;
    }
    const std::string who = "backend " + std::to_string(b.id) + " ('" + b.key + "')";
    if (b.id >= XDPLB_MAX_BACKENDS)
      return make_error(who + ": id must be below " + std::to_string(XDPLB_MAX_BACKENDS));
    if (b.weight < 1 || b.weight > XDPLB_MAX_WEIGHT)
      return make_error(who + ": weight " + std::to_string(b.weight) + " is out of range: use 1-" +
                        std::to_string(XDPLB_MAX_WEIGHT));
    if (b.key.empty()) return make_error(who + ": empty key; give each backend its address or name");
    if (ids.test(b.id)) return make_error(who + ": id appears twice in the pool");
    return make_error(who + ": key appears twice in the pool; keys must be unique");
  }
  return {};
}

Result<std::vector<uint32_t>> build_maglev_ring(std::vector<MaglevBackend> backends,
                                                uint32_t ring_size) {
  XDPLB_TRY(check_maglev_input(backends, ring_size));
  std::vector<uint32_t> ring(ring_size, XDPLB_NO_BACKEND);
  if (backends.empty()) return ring;

  // Sorted by key so the ring does not depend on the order the caller listed the backends in
  // (keys are unique, so the order is total).
  std::sort(backends.begin(), backends.end(),
            [](const MaglevBackend& a, const MaglevBackend& b) { return a.key < b.key; });

  // One contiguous record per backend, walked in key order every round. A backend's
  // permutation is offset + k*skip (mod ring_size); `pos` holds its next element, so a step is
  // an add and a conditional subtract instead of a 64-bit modulo. ring_size <= 65537 (checked
  // above), so pos + skip cannot overflow.
  struct Turn {
    uint32_t pos;
    uint32_t skip;
    uint32_t steps;  // permutation elements used so far (< ring_size while the ring has room)
    uint32_t weight;
    uint64_t credit;
    uint32_t id;
  };
  static_assert(uint64_t{XDPLB_MAGLEV_RING_SIZE} * 2 < UINT32_MAX);
  const size_t n = backends.size();
  std::vector<Turn> turns(n);
  uint32_t max_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    const MaglevPermutation p = maglev_permutation(backends[i].key, ring_size);
    turns[i] = {p.offset, p.skip, 0, backends[i].weight, 0, backends[i].id};
    max_weight = std::max(max_weight, backends[i].weight);
  }
  // Which slots are taken, one bit each: 8 KiB for the full ring, so the random probes of the
  // permutations hit L1 instead of the 256 KiB ring.
  std::vector<uint64_t> taken((ring_size + 63) / 64, 0);

  // Weighted turns as in Katran's MaglevHashV2: each round a backend adds its weight to a
  // credit and takes a turn whenever the credit reaches the largest weight, so turns (and
  // hence slots, one per turn) are proportional to weight. The heaviest backend takes a turn
  // every round, so at most ring_size rounds fill the ring.
  uint32_t filled = 0;
  for (uint32_t round = 0; round < ring_size; ++round) {
    for (Turn& t : turns) {
      t.credit += t.weight;
      if (t.credit < max_weight) continue;
      t.credit -= max_weight;
      // Take the first free slot in this backend's permutation. Slots passed over earlier are
      // still taken, so a free one lies ahead while the ring is not full: steps < ring_size.
      uint32_t pos = t.pos;
      uint32_t steps = t.steps;
      while (taken[pos >> 6] >> (pos & 63) & 1) {
        pos += t.skip;
        if (pos >= ring_size) pos -= ring_size;
        ++steps;
      }
      if (steps >= ring_size) return make_error("Maglev: permutation exhausted (bug)");
      taken[pos >> 6] |= uint64_t{1} << (pos & 63);
      ring[pos] = t.id;
      pos += t.skip;
      if (pos >= ring_size) pos -= ring_size;
      t.pos = pos;
      t.steps = steps + 1;
      if (++filled == ring_size) return ring;
    }
  }
  return make_error("Maglev: ring not filled after " + std::to_string(ring_size) + " rounds (bug)");
}

}  // namespace xdplb
