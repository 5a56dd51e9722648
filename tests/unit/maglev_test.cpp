// Maglev ring: filled, weighted, minimally disrupted, deterministic, validated.
#include "core/maglev.h"
#include "maglev_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <iostream>
#include <random>
#include <set>

namespace xdplb {
namespace {

std::vector<MaglevBackend> pool(uint32_t n, uint32_t weight = 1) {
  std::vector<MaglevBackend> out;
  for (uint32_t i = 0; i < n; ++i)
    out.push_back({i, "10.0.3." + std::to_string(10 + i) + ":80", weight});
  return out;
}

std::map<uint32_t, uint32_t> counts(const std::vector<uint32_t>& ring) {
  std::map<uint32_t, uint32_t> c;
  for (uint32_t id : ring) ++c[id];
  return c;
}

std::vector<uint32_t> build(std::vector<MaglevBackend> b, uint32_t size) {
  auto r = build_maglev_ring(std::move(b), size);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : std::vector<uint32_t>();
}

// Every slot holds a backend of the pool and the shares match the weights to within 1% of
// the ring (the brief's bound when the ring is >= 100x the backends).
void expect_weighted_shares(const std::vector<MaglevBackend>& backends, uint32_t size) {
  auto ring = build(backends, size);
  ASSERT_EQ(ring.size(), size);
  uint64_t total_weight = 0;
  for (const auto& b : backends) total_weight += b.weight;
  auto c = counts(ring);
  ASSERT_EQ(c.count(XDPLB_NO_BACKEND), 0u) << "an empty slot";
  uint32_t sum = 0;
  for (const auto& b : backends) {
    const double want = double(b.weight) / double(total_weight);
    const double got = double(c[b.id]) / size;
    EXPECT_NEAR(got, want, 0.01) << "backend " << b.id << " weight " << b.weight;
    EXPECT_NEAR(got, want, want * 0.01 + 1.0 / size) << "backend " << b.id << " relative";
    sum += c[b.id];
  }
  EXPECT_EQ(sum, size) << "slots hold ids outside the pool";
}

TEST(IsPrime, SmallAndLarge) {
  std::vector<uint32_t> primes = {2, 3, 5, 7, 11, 13, 65537, 4294967291u};
  std::vector<uint32_t> not_primes = {0, 1, 4, 9, 15, 25, 65535, 65536, 4294967295u, 3u * 21845u};
  for (uint32_t p : primes) EXPECT_TRUE(is_prime(p)) << p;
  for (uint32_t n : not_primes) EXPECT_FALSE(is_prime(n)) << n;
  EXPECT_TRUE(is_prime(XDPLB_MAGLEV_RING_SIZE));
  // Compare with a sieve up to 10000.
  std::vector<bool> composite(10001, false);
  for (uint32_t i = 2; i <= 10000; ++i) {
    if (!composite[i])
      for (uint32_t j = i * i; j <= 10000; j += i) composite[j] = true;
    EXPECT_EQ(is_prime(i), !composite[i]) << i;
  }
}

TEST(MaglevHash, PinnedValuesKeepRingsStableAcrossVersions) {
  // Every node must build the same ring; a change here moves flows between backends after an
  // upgrade. Update these only on purpose.
  EXPECT_EQ(maglev_hash("10.0.3.11:80", 0), 0xe9bd5d5f8ac31213ULL);
  EXPECT_EQ(maglev_hash("", 1), 0x5f90f30ca8fe7b37ULL);
  EXPECT_NE(maglev_hash("web1", 1), maglev_hash("web1", 2));
  EXPECT_NE(maglev_hash("web1", 1), maglev_hash("web2", 1));
  EXPECT_NE(maglev_hash("ab", 1), maglev_hash("ba", 1));
}

TEST(MaglevPermutation, InRange) {
  for (uint32_t size : {2u, 7u, 13u, 65537u}) {
    for (int i = 0; i < 200; ++i) {
      auto p = maglev_permutation("key" + std::to_string(i), size);
      EXPECT_LT(p.offset, size);
      EXPECT_GE(p.skip, 1u);
      EXPECT_LT(p.skip, size);
    }
  }
}

TEST(MaglevPermutation, OffsetAndSkipAreSpread) {
  // Offsets of many keys cover the small ring and skips are not all equal: the two hashes are
  // independent enough that permutations differ.
  std::set<uint32_t> offsets, skips;
  for (int i = 0; i < 200; ++i) {
    auto p = maglev_permutation("10.0.3." + std::to_string(i) + ":80", 13);
    offsets.insert(p.offset);
    skips.insert(p.skip);
  }
  EXPECT_EQ(offsets.size(), 13u);
  EXPECT_EQ(skips.size(), 12u);
}

TEST(Maglev, EmptyPoolGivesEmptyRing) {
  auto ring = build({}, 7);
  ASSERT_EQ(ring.size(), 7u);
  for (uint32_t id : ring) EXPECT_EQ(id, XDPLB_NO_BACKEND);
  auto big = build({}, XDPLB_MAGLEV_RING_SIZE);
  EXPECT_EQ(big.size(), size_t(XDPLB_MAGLEV_RING_SIZE));
  EXPECT_EQ(counts(big)[XDPLB_NO_BACKEND], uint32_t(XDPLB_MAGLEV_RING_SIZE));
}

TEST(Maglev, DefaultRingSizeIsTheAbiOne) {
  auto r = build_maglev_ring(pool(3));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->size(), size_t(XDPLB_MAGLEV_RING_SIZE));
}

TEST(Maglev, TinyRingOneBackendTakesEverySlot) {
  auto ring = build({{5, "web1", 1}}, 7);
  EXPECT_EQ(ring, std::vector<uint32_t>(7, 5));
}

TEST(Maglev, TinyRingEqualWeights) {
  // Ring 13, three equal backends: four full rounds of one turn each (12 slots) and the first
  // backend in key order takes the 13th: 5/4/4.
  std::vector<MaglevBackend> b = {{2, "c", 1}, {0, "a", 1}, {1, "b", 1}};
  auto ring = build(b, 13);
  auto c = counts(ring);
  EXPECT_EQ(c[0], 5u);
  EXPECT_EQ(c[1], 4u);
  EXPECT_EQ(c[2], 4u);
  // The first turn of the first backend ("a") lands on its offset; the first turn of "b" on
  // its offset unless "a" took it, then on offset+skip.
  auto pa = maglev_permutation("a", 13);
  EXPECT_EQ(ring[pa.offset], 0u);
  auto pb = maglev_permutation("b", 13);
  if (pb.offset != pa.offset)
    EXPECT_EQ(ring[pb.offset], 1u);
  else
    EXPECT_EQ(ring[(pb.offset + pb.skip) % 13], 1u);
}

TEST(Maglev, TinyRingFollowsThePermutation) {
  // Two backends on a ring of 7, replayed by hand: turns alternate a, b, a, b...; each takes
  // the next slot of its own permutation that is still free.
  std::vector<MaglevBackend> b = {{10, "web1", 1}, {20, "web2", 1}};
  auto ring = build(b, 7);
  std::vector<uint32_t> want(7, XDPLB_NO_BACKEND);
  MaglevPermutation p[2] = {maglev_permutation("web1", 7), maglev_permutation("web2", 7)};
  uint32_t next[2] = {0, 0}, ids[2] = {10, 20};
  for (int filled = 0; filled < 7; ++filled) {
    int i = filled % 2;
    uint32_t slot;
    do slot = (p[i].offset + next[i]++ * p[i].skip) % 7;
    while (want[slot] != XDPLB_NO_BACKEND);
    want[slot] = ids[i];
  }
  EXPECT_EQ(ring, want);
  auto c = counts(ring);
  EXPECT_EQ(c[10], 4u);
  EXPECT_EQ(c[20], 3u);
}

TEST(Maglev, TinyRingWeights) {
  // Weights 2:1 on 7 slots: per two rounds the heavy one takes two turns, the light one one.
  // Turns: A | A B | A | A B | A -> 5 and 2.
  auto ring = build({{1, "heavy", 2}, {2, "light", 1}}, 7);
  auto c = counts(ring);
  EXPECT_EQ(c[1], 5u);
  EXPECT_EQ(c[2], 2u);
}

TEST(Maglev, PinnedTinyRing) {
  // The cross-node contract for one small pool; see MaglevHash.PinnedValues.
  auto ring = build({{0, "10.0.3.11:80", 1}, {1, "10.0.3.12:80", 1}, {2, "10.0.3.13:80", 1}}, 13);
  std::vector<uint32_t> want = {1, 1, 0, 2, 0, 1, 2, 0, 1, 2, 0, 0, 2};
  EXPECT_EQ(ring, want) << ::testing::PrintToString(ring);
}

TEST(Maglev, EqualWeightSharesWithinOnePercent) {
  for (uint32_t n : {1u, 2u, 3u, 10u, 100u, 655u}) expect_weighted_shares(pool(n), 65537);
  expect_weighted_shares(pool(10), 1009);  // ring ~100x backends
}

TEST(Maglev, UnequalWeightSharesWithinOnePercent) {
  std::vector<MaglevBackend> b = {
      {0, "web1", 1}, {1, "web2", 2}, {2, "web3", 3}, {3, "web4", 10}, {4, "web5", 1000}};
  expect_weighted_shares(b, 65537);
  // Random weights, 50 backends.
  std::mt19937 rng(42);
  std::vector<MaglevBackend> r;
  for (uint32_t i = 0; i < 50; ++i)
    r.push_back({i, "backend-" + std::to_string(i), static_cast<uint32_t>(1 + rng() % XDPLB_MAX_WEIGHT)});
  expect_weighted_shares(r, 65537);
}

TEST(Maglev, MaxWeightWithTinyOthersStillFillsAndBoundsRounds) {
  // 1000:1 with a full-size ring: the light backend gets ~65 slots.
  auto ring = build({{0, "big", XDPLB_MAX_WEIGHT}, {1, "small", 1}}, 65537);
  auto c = counts(ring);
  EXPECT_EQ(c[0] + c[1], 65537u);
  EXPECT_NEAR(c[1], 65537.0 / 1001, 2);
}

// Fraction of slots whose backend differs between two rings.
double moved_fraction(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  size_t moved = 0;
  for (size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i];
  return double(moved) / a.size();
}

TEST(Maglev, RemovingOneOfNMovesAboutOneNth) {
  const uint32_t size = 65537;
  for (uint32_t n : {5u, 10u, 50u}) {
    auto full = pool(n);
    auto before = build(full, size);
    for (uint32_t removed : {0u, n / 2, n - 1}) {
      auto less = full;
      less.erase(less.begin() + removed);
      auto after = build(less, size);
      // Every slot of the removed backend must move, and little else.
      const double moved = moved_fraction(before, after);
      const double its_share = double(counts(before)[removed]) / size;
      EXPECT_GE(moved, its_share - 1e-9);
      EXPECT_LE(moved, 1.0 / n + 0.02) << "n=" << n << " removed=" << removed;
      // Survivors keep most of their slots.
      size_t kept = 0, survivor_slots = 0;
      for (size_t i = 0; i < size; ++i) {
        if (before[i] == removed) continue;
        ++survivor_slots;
        kept += before[i] == after[i];
      }
      EXPECT_GE(double(kept) / survivor_slots, 0.98) << "n=" << n << " removed=" << removed;
      std::cout << "n=" << n << " remove " << removed << ": moved " << moved * 100
                << "% of slots (1/n = " << 100.0 / n << "%)\n";
    }
  }
}

TEST(Maglev, AddingOneMovesAboutOneNth) {
  const uint32_t size = 65537;
  auto before = build(pool(10), size);
  auto after = build(pool(11), size);
  EXPECT_LE(moved_fraction(before, after), 1.0 / 11 + 0.02);
}

TEST(Maglev, DeterministicAndOrderIndependent) {
  auto b = pool(20);
  b[3].weight = 7;
  b[11].weight = 300;
  auto first = build(b, 65537);
  EXPECT_EQ(build(b, 65537), first);
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(b.begin(), b.end(), rng);
    EXPECT_EQ(build(b, 65537), first) << "shuffle " << i;
  }
  std::reverse(b.begin(), b.end());
  EXPECT_EQ(build(b, 65537), first);
}

TEST(Maglev, RingDependsOnKeysNotOnlyIds) {
  // Same ids, different identities: a different ring (keys, not ids, are hashed).
  auto a = build({{0, "web1", 1}, {1, "web2", 1}}, 1009);
  auto b = build({{0, "web3", 1}, {1, "web4", 1}}, 1009);
  EXPECT_NE(a, b);
}

// The fast build against the reference it replaced, slot for slot: equal, unequal and random
// weights, pools up to 1000 backends, tiny and full-size rings, shuffled input order.
TEST(Maglev, SameRingAsTheReferenceBuild) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::vector<MaglevBackend>, uint32_t>> inputs = {
      {pool(1), 13}, {pool(3), 13}, {pool(12), 13}, {pool(10), 1009}, {pool(100), 65537},
      {{{0, "big", XDPLB_MAX_WEIGHT}, {1, "small", 1}}, 65537}};
  for (uint32_t n : {2u, 50u, 1000u}) {
    std::vector<MaglevBackend> b;
    for (uint32_t i = 0; i < n; ++i)
      b.push_back({i * 3 % XDPLB_MAX_BACKENDS, "10." + std::to_string(i / 250) + "." +
                   std::to_string(i % 250) + ".11:80", 1});
    inputs.push_back({b, 65537});
    for (auto& x : b) x.weight = 1 + rng() % XDPLB_MAX_WEIGHT;
    std::shuffle(b.begin(), b.end(), rng);
    inputs.push_back({b, 65537});
    if (n < 1000) inputs.push_back({b, n < 10 ? 1009u : 10007u});
  }
  for (const auto& [backends, size] : inputs) {
    const auto want = reference::build_maglev_ring(backends, size);
    ASSERT_EQ(want.size(), size) << "reference failed for " << backends.size() << " backends";
    const auto got = build(backends, size);
    ASSERT_EQ(got.size(), want.size());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
    EXPECT_EQ(differ, 0u) << backends.size() << " backends, ring " << size << ": " << differ
                          << " slots differ from the reference build";
  }
}

TEST(Maglev, InvalidInput) {
  auto expect_error = [](std::vector<MaglevBackend> b, uint32_t size, const std::string& part) {
    auto r = build_maglev_ring(std::move(b), size);
    ASSERT_FALSE(r.ok()) << "size " << size;
    EXPECT_NE(r.error().find(part), std::string::npos) << r.error();
  };
  expect_error(pool(3), 0, "not a prime");
  expect_error(pool(3), 1, "not a prime");
  expect_error(pool(3), 65536, "not a prime");
  expect_error(pool(3), 4294967291u, "larger than the datapath");
  expect_error(pool(7), 7, "larger than the number of backends");
  expect_error(pool(8), 7, "larger than the number of backends");
  expect_error({{0, "a", 0}}, 7, "weight 0 is out of range");
  expect_error({{0, "a", XDPLB_MAX_WEIGHT + 1}}, 7, "out of range");
  expect_error({{0, "a", 1}, {0, "b", 1}}, 7, "id appears twice");
  expect_error({{0, "a", 1}, {1, "a", 1}}, 7, "key appears twice");
  expect_error({{XDPLB_MAX_BACKENDS, "a", 1}}, 7, "id must be below");
  expect_error({{XDPLB_NO_BACKEND, "a", 1}}, 7, "id must be below");
  expect_error({{0, "", 1}}, 7, "empty key");
  EXPECT_TRUE(check_maglev_input(pool(6), 7).ok());
  EXPECT_TRUE(build_maglev_ring(pool(1), 2).ok());
}

}  // namespace
}  // namespace xdplb
