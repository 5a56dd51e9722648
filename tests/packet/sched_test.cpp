// The schedulers (bpf/lib/select.h) and the active-connection counts (bpf/lib/conns.h) through
// BPF_PROG_TEST_RUN on the XDP program: which backend each new flow gets, that known flows keep
// theirs, and that a flow's count goes up once and down once (FIN, RST, re-placement, idle).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <map>

#include "datapath/datapath.h"
#include "prog_run.h"
#include "scenario.h"

namespace xdplb::test {
namespace {

class SchedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = load_scenario();
    ASSERT_TRUE(d) << d.error();
    dp = std::move(*d);
  }

  void use(uint32_t scheduler) {
    auto s = dp->set_scheduler(kPool, scheduler);
    ASSERT_TRUE(s) << s.error();
  }

  // Runs p through XDP; returns the backend id it was sent to (by its rewritten destination),
  // or -1 if it was not forwarded.
  int send(const Packet& p) {
    auto r = run_xdp(dp->xdp_prog_fd(), p.bytes());
    EXPECT_TRUE(r) << r.error();
    if (!r || (r->verdict != XDP_PASS && r->verdict != XDP_REDIRECT)) return -1;
    auto out = parse(r->out);
    EXPECT_TRUE(out.has_value());
    for (const auto* b : {&kB0, &kB1, &kB2})
      if (out && out->dst == b->addr) return static_cast<int>(b->id);
    ADD_FAILURE() << "forwarded to " << (out ? out->dst : "?") << ", not to a backend";
    return -1;
  }

  int64_t conns(const TestBackend& b) {
    auto c = dp->active_connections(b.id);
    EXPECT_TRUE(c) << c.error();
    return c ? *c : -999;
  }

  uint64_t reason(uint32_t r) {
    auto all = dp->reason_counters();
    EXPECT_TRUE(all) << all.error();
    return all ? (*all)[r] : 0;
  }

  static Packet syn(uint16_t sport) { return Packet::tcp("192.168.1.2", sport, kVip, kPort); }
  static Packet with_flags(Packet p, uint8_t flags) {
    p.tcp_flags = flags;
    return p;
  }

  std::unique_ptr<Datapath> dp;
  const std::vector<uint32_t> ring = ring_of({kB0.id, kB1.id, kB2.id});
};

TEST_F(SchedTest, RoundRobinGivesEqualTurnsInMemberOrder) {
  use(XDPLB_SCHED_ROUND_ROBIN);
  std::vector<int> got;
  for (uint16_t i = 0; i < 9; ++i) got.push_back(send(syn(40000 + i)));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
  for (const auto* b : {&kB0, &kB1, &kB2}) EXPECT_EQ(conns(*b), 3) << "backend " << b->id;
  // UDP flows take the same turns (the counter is the pool's, not the protocol's).
  EXPECT_EQ(send(Packet::udp("192.168.1.2", 50000, kVip, kPort)), 0);
  EXPECT_EQ(send(Packet::udp("192.168.1.2", 50001, kVip, kPort)), 1);
}

TEST_F(SchedTest, RoundRobinSkipsAnInactiveMember) {
  use(XDPLB_SCHED_ROUND_ROBIN);
  ASSERT_TRUE(put_backend(*dp, kB1, /*active=*/false));
  std::vector<int> got;
  for (uint16_t i = 0; i < 4; ++i) got.push_back(send(syn(40000 + i)));
  EXPECT_EQ(got, (std::vector<int>{0, 2, 2, 0})) << "turn 1 (inactive b1) falls to b2";
}

TEST_F(SchedTest, WeightedWalksTheRingSlotBySlot) {
  use(XDPLB_SCHED_WEIGHTED);
  // A ring where b1 holds two slots out of three (as Maglev gives weight 2 against 1).
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB0.id, kB1.id, kB1.id})));
  std::vector<int> got;
  for (uint16_t i = 0; i < 6; ++i) got.push_back(send(syn(40000 + i)));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(conns(kB0), 2);
  EXPECT_EQ(conns(kB1), 4);
  EXPECT_EQ(conns(kB2), 0);
}

TEST_F(SchedTest, LeastConnPicksFewestConnectionsAndTiesTakeTurns) {
  use(XDPLB_SCHED_LEAST_CONN);
  // Ties: the scan starts one member later each time.
  EXPECT_EQ(send(syn(40000)), 0);
  EXPECT_EQ(send(syn(40001)), 1);
  EXPECT_EQ(send(syn(40002)), 2);
  // b1's connection ends (client FIN): b1 is the only one with fewer, whatever the start.
  send(with_flags(syn(40001), kTcpFin | kTcpAck));
  EXPECT_EQ(conns(kB1), 0);
  EXPECT_EQ(send(syn(40003)), 1);
  // All at 1 again: a tie, decided by the turn. This is the pool's fifth turn (4 % 3 = 1).
  EXPECT_EQ(send(syn(40004)), 1);
  EXPECT_EQ(send(syn(40005)), 2) << "sixth turn, b1 now has 2: b2 (start 2)";
}

TEST_F(SchedTest, LeastConnWeighsConnectionsByWeight) {
  use(XDPLB_SCHED_LEAST_CONN);
  ASSERT_TRUE(dp->write_pool_members(kPool, {{kB0.id, 3}, {kB1.id, 1}}));
  std::map<int, int> got;
  for (uint16_t i = 0; i < 8; ++i) got[send(syn(40000 + i))]++;
  EXPECT_EQ(got[0], 6) << "weight 3: three connections for each of b1's";
  EXPECT_EQ(got[1], 2);
  EXPECT_EQ(got.count(2), 0u) << "b2 is not a member";
}

TEST_F(SchedTest, LeastConnTiesGoToTheLargerWeight) {
  use(XDPLB_SCHED_LEAST_CONN);
  // b0 first in the scan (turn 0), but b1 weighs more: a backend in slow start loses ties.
  ASSERT_TRUE(dp->write_pool_members(kPool, {{kB0.id, 1}, {kB1.id, 5}}));
  EXPECT_EQ(send(syn(40000)), 1);
  EXPECT_EQ(send(syn(40001)), 0) << "1/5 against 0/1: b0 has fewer per weight";
}


// The scan reads the counts alone first; a member that may not take flows (here: turned off
// while still listed) has the fewest connections every time, so every pick needs the second
// scan, which skips it. The picks stay those of the least-loaded usable members.
TEST_F(SchedTest, LeastConnSkipsAnInactiveMemberWithTheFewestConnections) {
  use(XDPLB_SCHED_LEAST_CONN);
  ASSERT_TRUE(put_backend(*dp, kB1, /*active=*/false));
  std::vector<int> got;
  for (uint16_t i = 0; i < 4; ++i) got.push_back(send(syn(40000 + i)));
  EXPECT_EQ(got, (std::vector<int>{0, 2, 2, 0})) << "ties take turns between b0 and b2";
  EXPECT_EQ(conns(kB0), 2);
  EXPECT_EQ(conns(kB1), 0);
  EXPECT_EQ(conns(kB2), 2);
}
TEST_F(SchedTest, ConnectionCountsGoUpOnceAndDownOnce) {
  const Packet s0 = with_sport_for(ring, syn(40000), kB1.id);
  EXPECT_EQ(send(s0), 1);
  EXPECT_EQ(conns(kB1), 1) << "new flow counted";
  send(with_flags(s0, kTcpAck));
  EXPECT_EQ(conns(kB1), 1) << "a packet of a known flow changes nothing";
  send(with_flags(s0, kTcpSyn));
  EXPECT_EQ(conns(kB1), 1) << "a retried SYN of a counted flow is not counted twice";
  send(with_flags(s0, kTcpFin | kTcpAck));
  EXPECT_EQ(conns(kB1), 0) << "client FIN";
  send(with_flags(s0, kTcpFin | kTcpAck));
  send(with_flags(s0, kTcpRst));
  EXPECT_EQ(conns(kB1), 0) << "once only";
  EXPECT_EQ(send(with_flags(s0, kTcpSyn)), 1) << "the ring still says b1";
  EXPECT_EQ(conns(kB1), 1) << "a new connection on the old 5-tuple is counted again";
  send(with_flags(s0, kTcpRst));
  EXPECT_EQ(conns(kB1), 0) << "client RST";

  const Packet stray = with_sport_for(ring, with_flags(syn(41000), kTcpRst | kTcpAck), kB2.id);
  EXPECT_EQ(send(stray), 2);
  EXPECT_EQ(conns(kB2), 0) << "an RST of an unknown flow is forwarded, never counted";
}

TEST_F(SchedTest, ReplacedFlowMovesItsCount) {
  const Packet s0 = with_sport_for(ring, syn(40000), kB1.id);
  EXPECT_EQ(send(s0), 1);
  ASSERT_TRUE(put_backend(*dp, kB1, /*active=*/false));
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB2.id})));
  const uint64_t before = reason(XDPLB_R_FLOW_RESELECTED);
  EXPECT_EQ(send(with_flags(s0, kTcpAck)), 2);
  EXPECT_EQ(reason(XDPLB_R_FLOW_RESELECTED), before + 1);
  EXPECT_EQ(conns(kB1), 0) << "the old backend's count goes down";
  EXPECT_EQ(conns(kB2), 1) << "the new backend's goes up";
}

TEST_F(SchedTest, SynOnAKnownFlowKeepsItsBackendUntilItLeavesThePool) {
  use(XDPLB_SCHED_ROUND_ROBIN);
  const Packet s0 = syn(40000);
  EXPECT_EQ(send(s0), 0);
  EXPECT_EQ(send(s0), 0) << "a retried SYN reaches the same backend, not the next turn";
  EXPECT_EQ(conns(kB0), 1);
  // b0 drained: out of the member list (and ring), entry still active.
  ASSERT_TRUE(dp->write_pool_members(kPool, {{kB1.id, 1}, {kB2.id, 1}}));
  ASSERT_TRUE(dp->write_ring(kPool, ring_of({kB1.id, kB2.id})));
  EXPECT_EQ(send(with_flags(s0, kTcpAck)), 0) << "the established flow stays on the drained backend";
  const int moved = send(s0);
  EXPECT_TRUE(moved == 1 || moved == 2) << "a new connection on the tuple leaves the drained backend";
  EXPECT_EQ(conns(kB0), 0);
  EXPECT_EQ(conns(kB1) + conns(kB2), 1);
}

TEST_F(SchedTest, MidFlowPacketOfAnUnknownFlowIsPlacedByTheHash) {
  use(XDPLB_SCHED_ROUND_ROBIN);  // its first turn would be b0
  const Packet ack = with_sport_for(ring, with_flags(syn(40000), kTcpAck), kB2.id);
  EXPECT_EQ(send(ack), 2);
  EXPECT_EQ(send(syn(41000)), 0) << "new flows still take turns from the first";
}

TEST_F(SchedTest, IdleFlowsAreUncountedAndCountedAgainWhenTheySpeak) {
  const Packet s0 = with_sport_for(ring, syn(40000), kB0.id);
  const Packet u0 = with_sport_for(ring, Packet::udp("192.168.1.2", 50000, kVip, kPort), kB1.id);
  send(s0);
  send(u0);
  ASSERT_EQ(conns(kB0), 1);
  ASSERT_EQ(conns(kB1), 1);
  auto none = dp->uncount_idle_flows(std::chrono::hours(1), std::chrono::hours(1));
  ASSERT_TRUE(none) << none.error();
  EXPECT_EQ(none->uncounted, 0u) << "nothing is idle for an hour";
  auto tcp_only = dp->uncount_idle_flows(std::chrono::nanoseconds(0), std::chrono::hours(1));
  ASSERT_TRUE(tcp_only) << tcp_only.error();
  EXPECT_EQ(tcp_only->uncounted, 1u);
  EXPECT_EQ(conns(kB0), 0) << "idle TCP flow uncounted";
  EXPECT_EQ(conns(kB1), 1) << "UDP has its own idle time";
  auto again = dp->uncount_idle_flows(std::chrono::nanoseconds(0), std::chrono::nanoseconds(0));
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->uncounted, 1u) << "only the UDP flow is still counted";
  EXPECT_EQ(conns(kB1), 0);
  EXPECT_EQ(send(with_flags(s0, kTcpAck)), 0) << "the idle flow keeps its backend";
  EXPECT_EQ(conns(kB0), 1) << "and is counted again";
  send(with_flags(s0, kTcpFin | kTcpAck));
  EXPECT_EQ(conns(kB0), 0);
}

}  // namespace
}  // namespace xdplb::test
