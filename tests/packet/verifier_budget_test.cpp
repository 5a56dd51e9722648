// How much of the verifier's budget each program of the datapath takes: the instructions it
// processed at load (bpf_prog_info.verified_insns), printed for the README and held below 95%
// of the kernel's 1M limit, so growth shows here before a load fails on a user's machine.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "datapath/datapath.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::test {
namespace {

constexpr unsigned kVerifierLimit = 1000000;  // BPF_COMPLEXITY_LIMIT_INSNS

TEST(VerifierBudget, EveryProgramKeepsHeadroom) {
  auto dp = Datapath::load_unattached();
  ASSERT_TRUE(dp) << dp.error();
  struct bpf_program* prog;
  unsigned programs = 0;
  bpf_object__for_each_program(prog, (*dp)->skeleton()->obj) {
    struct bpf_prog_info info = {};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0) << bpf_program__name(prog);
    std::printf("%-28s %8u instructions verified (%.0f%% of the limit)\n", bpf_program__name(prog),
                info.verified_insns, 100.0 * info.verified_insns / kVerifierLimit);
    EXPECT_LT(info.verified_insns, kVerifierLimit * 95 / 100) << bpf_program__name(prog);
    ++programs;
  }
  EXPECT_GE(programs, 6u) << "xdp, tc and the four tail-call targets";
}

}  // namespace
}  // namespace xdplb::test
