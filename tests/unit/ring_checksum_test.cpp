// Ring checksum: what nodes compare to know they place flows alike.
#include "core/ring_checksum.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace xdplb {
namespace {

std::vector<MaglevBackend> three() {
  return {{0, "10.0.3.11:80", 1}, {1, "10.0.3.12:80", 2}, {2, "web3", 1}};
}

uint64_t sum(std::vector<MaglevBackend> m, uint32_t size = XDPLB_MAGLEV_RING_SIZE) {
  auto r = ring_checksum(std::move(m), size);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : 0;
}

TEST(RingChecksum, SameBackendsAndWeightsInAnyOrderAndWithOtherIds) {
  const uint64_t base = sum(three());
  auto reversed = three();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(sum(reversed), base);
  // Another node numbers its backends otherwise: ids are local, keys are shared.
  auto renumbered = three();
  for (auto& m : renumbered) m.id += 7;
  EXPECT_EQ(sum(renumbered), base);
}

TEST(RingChecksum, AnotherWeightKeyOrBackendChangesIt) {
  const uint64_t base = sum(three());
  auto weight = three();
  weight[1].weight = 3;
  EXPECT_NE(sum(weight), base);
  auto key = three();
  key[2].key = "web4";
  EXPECT_NE(sum(key), base);
  auto fewer = three();
  fewer.pop_back();
  EXPECT_NE(sum(fewer), base);
  EXPECT_NE(sum(three(), 251), base);
}

TEST(RingChecksum, EmptyPoolHasAFixedChecksumAndBadInputIsAnError) {
  EXPECT_EQ(sum({}), sum({}));
  EXPECT_NE(sum({}), sum(three()));
  auto dup = three();
  dup[1].key = dup[0].key;
  EXPECT_FALSE(ring_checksum(dup).ok());
}

// The checksum is part of the cross-node contract like the Maglev hash: pinned, so a change
// of either shows here before nodes of two versions disagree silently.
TEST(RingChecksum, Pinned) {
  EXPECT_EQ(checksum_text(0x1234), "0000000000001234");
  EXPECT_EQ(checksum_text(sum(three(), 13)), "7b083ebfa8e76926");
}

}  // namespace
}  // namespace xdplb
