#include "cases.h"

#include <gtest/gtest.h>

#include "core/reasons.h"
#include "packet6.h"
#include "prog_run.h"

namespace xdplb::test {

namespace {

std::string reason_name(uint32_t r) { return reason_info(r).name ? reason_info(r).name : std::to_string(r); }

void check_case(Datapath& dp, Prog prog, const Case& c, int ifindex) {
  SCOPED_TRACE(c.description);
  if (c.setup) {
    auto s = c.setup(dp);
    ASSERT_TRUE(s) << "setup: " << s.error();
  }
  auto before = dp.reason_counters();
  ASSERT_TRUE(before) << before.error();
  auto run = prog == Prog::Xdp ? run_xdp(dp.xdp_prog_fd(), c.input, 1, ifindex)
                               : run_tc(dp.tc_prog_fd(), c.input, ifindex);
  ASSERT_TRUE(run) << run.error();
  auto after = dp.reason_counters();
  ASSERT_TRUE(after) << after.error();

  EXPECT_EQ(run->verdict, c.verdict) << "verdict";
  std::vector<uint64_t> want(XDPLB_R_MAX, 0);
  for (uint32_t r : c.reasons) want[r] += 1;
  for (uint32_t r = 0; r < XDPLB_R_MAX; ++r)
    EXPECT_EQ((*after)[r] - (*before)[r], want[r]) << "reason counter " << reason_name(r);

  const Bytes& expected = c.output ? *c.output : c.input;
  EXPECT_EQ(diff(run->out, expected), "") << (c.output ? "output frame" : "frame should be untouched");
  if (c.output) {
    auto p = parse(run->out);
    ASSERT_TRUE(p.has_value());
    if (p->ethertype == 0x86dd) {
      // IPv6: no header checksum; a fragment's L4 checksum covers the whole datagram.
      if (run->out.size() > 20 && run->out[20] != 44)
        EXPECT_TRUE(read6(run->out).csum_ok) << "L4 checksum does not verify";
      return;
    }
    EXPECT_TRUE(p->ip_csum_ok) << "IP checksum does not verify";
    if (!p->fragment) EXPECT_TRUE(p->l4_csum_ok) << "L4 checksum does not verify";
  }
}

}  // namespace

void run_cases(Datapath& dp, Prog prog, const std::vector<Case>& cases, int ifindex) {
  for (const auto& c : cases) check_case(dp, prog, c, ifindex);
}

}  // namespace xdplb::test
