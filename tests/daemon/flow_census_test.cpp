// flows_per_backend() on a real (unattached) flow table: entries are counted per backend, and
// only those with a packet in the window count as recent. Needs root (loads BPF maps).
#include "datapath/flow_census.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <time.h>

#include "xdplb_bpf.skel.h"

namespace xdplb {
namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void put_flow(Datapath& dp, uint16_t sport, uint32_t backend, uint64_t last_seen) {
  xdplb_flow_key k{};
  k.src.v4 = htonl(0x0a000002);
  k.dst.v4 = htonl(0x0a000101);
  k.sport = htons(sport);
  k.dport = htons(8000);
  k.proto = 6;
  k.family = XDPLB_AF_INET;
  xdplb_flow f{};
  f.backend = backend;
  f.last_seen_ns = last_seen;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(dp.skeleton()->maps.flows), &k, &f, BPF_ANY), 0);
}

TEST(FlowCensus, CountsPerBackendAndRecent) {
  auto dp = Datapath::load_unattached();
  ASSERT_TRUE(dp) << dp.error();
  const uint64_t now = monotonic_ns();
  for (uint16_t i = 0; i < 10; ++i) put_flow(**dp, 1000 + i, 1, now);                    // recent
  for (uint16_t i = 0; i < 5; ++i) put_flow(**dp, 2000 + i, 1, now - 60'000'000'000ull);  // old
  for (uint16_t i = 0; i < 3; ++i) put_flow(**dp, 3000 + i, 2, now - 60'000'000'000ull);  // old
  auto c = flows_per_backend(**dp, std::chrono::seconds(5));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ((*c)[1].total, 15u);
  EXPECT_EQ((*c)[1].recent, 10u);
  EXPECT_EQ((*c)[2].total, 3u);
  EXPECT_EQ((*c)[2].recent, 0u) << "a drained backend with only old entries counts as quiet";
  EXPECT_EQ(c->count(3), 0u);
}

TEST(FlowCensus, EmptyTable) {
  auto dp = Datapath::load_unattached();
  ASSERT_TRUE(dp) << dp.error();
  auto c = flows_per_backend(**dp);
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->empty());
}

}  // namespace
}  // namespace xdplb
