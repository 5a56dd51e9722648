#include "cases.h"

#include <gtest/gtest.h>

#include "core/reasons.h"
#include "packet6.h"
#include "prog_run.h"
#include "trace_reader.h"

namespace xdplb::test {

namespace {

std::string reason_name(uint32_t r) { return reason_info(r).name ? reason_info(r).name : std::to_string(r); }

void check_case(Datapath& dp, Prog prog, const Case& c, int ifindex) {
  SCOPED_TRACE(c.description);
  if (c.setup) {
    auto s = c.setup(dp);
    ASSERT_TRUE(s) << "setup: " << s.error();
  }
  std::optional<TraceReader> trace;
  if (c.trace) {
    trace.emplace(dp);
    ASSERT_TRUE(trace->ok());
    trace->drain();
    ASSERT_TRUE(dp.start_trace({}));
  }
  auto before = dp.reason_counters();
  ASSERT_TRUE(before) << before.error();
  auto run = prog == Prog::Xdp ? run_xdp(dp.xdp_prog_fd(), c.input, 1, ifindex)
                               : run_tc(dp.tc_prog_fd(), c.input, ifindex);
  ASSERT_TRUE(run) << run.error();
  auto after = dp.reason_counters();
  ASSERT_TRUE(after) << after.error();
  if (c.trace) {
    ASSERT_TRUE(dp.stop_trace());
    const auto ev = trace->drain();
    ASSERT_EQ(ev.size(), 1u) << "trace records written for the frame";
    EXPECT_EQ(ev[0].hook, *c.trace) << "trace record's hook";
    EXPECT_EQ(ev[0].verdict, c.verdict) << "trace record's verdict";
    uint64_t bits = 0;
    for (uint32_t r : c.reasons) bits |= 1ull << r;
    EXPECT_EQ(ev[0].reasons, bits) << "trace record's reasons";
  }

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
