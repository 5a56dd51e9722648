#include "opcount_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>

namespace xdplb::bench {

const char* op_kind_name(int kind) {
  static const char* names[XDPLB_OPC_MAX] = {"lookup", "update", "delete", "atomic", "fib", "redir",
                                             "csum", "bytes", "ktime", "tail", "other"};
  return kind >= 0 && kind < XDPLB_OPC_MAX ? names[kind] : "?";
}

Result<std::unique_ptr<OpCounter>> OpCounter::load(Datapath& dp, const std::string& object_path) {
  std::unique_ptr<OpCounter> c(new OpCounter());
  // The hairpin programs stay out: at 87% and 39% of the verifier's budget as they are, the
  // counting pushes the first past it (no path measured here reaches them).
  auto twin = TwinObject::load(
      dp, object_path,
      [](const std::string& name) { return name != "xdplb_tc_hairpin" && name != "xdplb_tc_hairpin_fragment"; },
      "instrumented object");
  if (!twin) return make_error(twin.error());
  c->twin_ = std::move(*twin);
  XDPLB_TRY(c->twin_->fill_tc_jumps());
  c->xdp_fd_ = c->twin_->twin_fd(dp.xdp_prog_fd());
  c->tc_fd_ = c->twin_->twin_fd(dp.tc_prog_fd());
  if (c->xdp_fd_ < 0 || c->tc_fd_ < 0) return make_error("the instrumented object lacks the XDP or TC program");
  // The counters: the instrumented object's .bss, which holds nothing else.
  struct bpf_map* bss = bpf_object__find_map_by_name(c->twin_->obj(), ".bss");
  if (!bss || bpf_map__value_size(bss) != sizeof(uint64_t) * XDPLB_OPC_MAX)
    return make_error("the instrumented object's .bss is not just its counters");
  c->counts_fd_ = bpf_map__fd(bss);
  return c;
}

Status OpCounter::reset() {
  const uint32_t zero_key = 0;
  uint64_t zero[XDPLB_OPC_MAX] = {};
  if (bpf_map_update_elem(counts_fd_, &zero_key, zero, BPF_ANY))
    return make_error(std::string("resetting the op counters failed: ") + std::strerror(errno));
  return {};
}

Result<OpCounts> OpCounter::read() {
  const uint32_t zero_key = 0;
  uint64_t raw[XDPLB_OPC_MAX] = {};
  if (bpf_map_lookup_elem(counts_fd_, &zero_key, raw))
    return make_error(std::string("reading the op counters failed: ") + std::strerror(errno));
  OpCounts out{};
  for (int k = 0; k < XDPLB_OPC_MAX; ++k) out[k] = static_cast<double>(raw[k]);
  return out;
}

}  // namespace xdplb::bench
