#include "prog_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>

namespace xdplb::test {

namespace {
constexpr size_t kMaxOut = 4096;
}

Result<RunResult> run_xdp(int prog_fd, const Bytes& in, uint32_t repeat) {
  RunResult r;
  r.out.resize(kMaxOut);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(r.out.size()), .repeat = static_cast<int>(repeat));
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err)
    return make_error(std::string("XDP test run failed: ") + std::strerror(-err));
  r.out.resize(opts.data_size_out);
  r.verdict = static_cast<int>(opts.retval);
  r.ns_per_run = opts.duration;
  return r;
}

Result<RunResult> run_tc(int prog_fd, const Bytes& in, int ifindex, uint32_t repeat) {
  RunResult r;
  r.out.resize(kMaxOut);
  struct __sk_buff ctx;
  std::memset(&ctx, 0, sizeof ctx);
  ctx.ifindex = ifindex;
  ctx.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(r.out.size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof ctx, .repeat = static_cast<int>(repeat));
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err)
    return make_error(std::string("TC test run failed: ") + std::strerror(-err));
  r.out.resize(opts.data_size_out);
  r.verdict = static_cast<int>(opts.retval);
  r.ns_per_run = opts.duration;
  return r;
}

}  // namespace xdplb::test
