// Running the datapath's programs on one frame through BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "packet.h"

namespace xdplb::test {

struct RunResult {
  int verdict = -1;      // XDP_* or TC_ACT_*
  Bytes out;             // the frame after the program
  uint32_t ns_per_run = 0;
};

// ifindex: the frame's ingress device in the caller's namespace (0: the test run's loopback).
Result<RunResult> run_xdp(int prog_fd, const Bytes& in, uint32_t repeat = 1, int ifindex = 0);
// ifindex: device the skb arrives on (also its ingress_ifindex), in the caller's namespace;
// 0 = loopback. flags: BPF_F_TEST_* (BPF_F_TEST_SKB_CHECKSUM_COMPLETE: the skb arrives with
// CHECKSUM_COMPLETE, and the run fails with EBADMSG unless skb->csum still sums the packet).
Result<RunResult> run_tc(int prog_fd, const Bytes& in, int ifindex = 0, uint32_t repeat = 1, uint32_t flags = 0);

}  // namespace xdplb::test
