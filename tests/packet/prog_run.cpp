#include "prog_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string_view>

#include "fuzz_input.h"

namespace xdplb::test {

namespace {
constexpr size_t kMaxOut = 4096;

// XDPLB_FUZZ_SEEDS=DIR: every frame run here is also written to DIR as a seed of the datapath
// fuzzer (tests/fuzz); every TC frame also once after the XDP frame run before it, and once
// followed by an answer to its own output, so the corpus starts with flows opened and answered
// (external and hairpin); every frame also again after its backend failed.
void write_seed(const std::vector<fuzz::FrameIn>& frames) {
  const char* dir = std::getenv("XDPLB_FUZZ_SEEDS");
  if (!dir || !*dir) return;
  const Bytes input = fuzz::encode_input(frames);
  const size_t h = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(input.data()), input.size()));
  std::ofstream(std::string(dir) + "/seed-" + std::to_string(h), std::ios::binary)
      .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
}

Bytes last_xdp_frame;

// A control frame (fuzz_input.h): op 4 = the previous frame's backend goes inactive.
const fuzz::FrameIn kPrevBackendFails{fuzz::Hook::Xdp, {4, 0}, false, true};

void seed_xdp(const Bytes& in) {
  last_xdp_frame = in;
  write_seed({{fuzz::Hook::Xdp, in}});
  write_seed({{fuzz::Hook::Xdp, in}, kPrevBackendFails, {fuzz::Hook::Xdp, in}});
}

void seed_tc(const Bytes& in) {
  write_seed({{fuzz::Hook::Tc, in}});
  write_seed({{fuzz::Hook::Tc, in}, kPrevBackendFails, {fuzz::Hook::Tc, in}});
  write_seed({{fuzz::Hook::Tc, in}, {fuzz::Hook::Tc, in, true}});
  if (!last_xdp_frame.empty()) write_seed({{fuzz::Hook::Xdp, last_xdp_frame}, {fuzz::Hook::Tc, in}});
}
}  // namespace

Result<RunResult> run_xdp(int prog_fd, const Bytes& in, uint32_t repeat, int ifindex) {
  seed_xdp(in);
  RunResult r;
  r.out.resize(kMaxOut);
  struct xdp_md ctx;
  std::memset(&ctx, 0, sizeof ctx);
  ctx.data_end = static_cast<uint32_t>(in.size());
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(r.out.size()), .ctx_in = ifindex ? &ctx : nullptr,
              .ctx_size_in = ifindex ? static_cast<uint32_t>(sizeof ctx) : 0u,
              .repeat = static_cast<int>(repeat));
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err)
    return make_error(std::string("XDP test run failed: ") + std::strerror(-err));
  r.out.resize(opts.data_size_out);
  r.verdict = static_cast<int>(opts.retval);
  r.ns_per_run = opts.duration;
  return r;
}

Result<RunResult> run_tc(int prog_fd, const Bytes& in, int ifindex, uint32_t repeat, uint32_t flags) {
  seed_tc(in);
  RunResult r;
  r.out.resize(kMaxOut);
  struct __sk_buff ctx;
  std::memset(&ctx, 0, sizeof ctx);
  ctx.ifindex = ifindex;
  ctx.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(r.out.size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof ctx, .repeat = static_cast<int>(repeat), .flags = flags);
  if (int err = bpf_prog_test_run_opts(prog_fd, &opts); err)
    return make_error(std::string("TC test run failed: ") + std::strerror(-err));
  r.out.resize(opts.data_size_out);
  r.verdict = static_cast<int>(opts.retval);
  r.ns_per_run = opts.duration;
  return r;
}

}  // namespace xdplb::test
