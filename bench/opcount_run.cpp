#include "opcount_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/fd.h"
#include "xdplb_bpf.skel.h"

namespace xdplb::bench {
namespace {

uint32_t prog_id(int fd) {
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// The program of `obj` named like the program of `real` whose fd is `fd`.
struct bpf_program* twin(struct bpf_object* obj, struct bpf_object* real, uint32_t id) {
  struct bpf_program* p;
  bpf_object__for_each_program(p, real) {
    if (bpf_program__fd(p) < 0 || prog_id(bpf_program__fd(p)) != id) continue;
    return bpf_object__find_program_by_name(obj, bpf_program__name(p));
  }
  return nullptr;
}

}  // namespace

const char* op_kind_name(int kind) {
  static const char* names[XDPLB_OPC_MAX] = {"lookup", "update", "delete", "atomic", "fib", "redir",
                                             "csum", "bytes", "ktime", "tail", "other"};
  return kind >= 0 && kind < XDPLB_OPC_MAX ? names[kind] : "?";
}

Result<std::unique_ptr<OpCounter>> OpCounter::load(Datapath& dp, const std::string& object_path) {
  std::unique_ptr<OpCounter> c(new OpCounter());
  c->obj_ = bpf_object__open_file(object_path.c_str(), nullptr);
  if (!c->obj_) return make_error("opening " + object_path + " failed: " + std::strerror(errno));
  struct bpf_object* real = dp.skeleton()->obj;
  struct bpf_map* m;
  bpf_object__for_each_map(m, c->obj_) {
    const std::string name = bpf_map__name(m);
    bpf_map__set_pin_path(m, nullptr);
    if (name == "tc_jump") continue;
    if (bpf_map__is_internal(m)) {
      // .rodata and friends: the tunables the real object was loaded with.
      const std::string section = name.substr(name.find('.'));
      struct bpf_map* r;
      bpf_object__for_each_map(r, real) {
        const std::string rn = bpf_map__name(r);
        if (!bpf_map__is_internal(r) || rn.substr(rn.find('.')) != section) continue;
        size_t size = 0;
        const void* data = bpf_map__initial_value(r, &size);
        if (data && bpf_map__set_initial_value(m, data, size))
          return make_error("copying " + section + " into the instrumented object failed");
      }
      continue;
    }
    struct bpf_map* r = bpf_object__find_map_by_name(real, name.c_str());
    if (!r) return make_error("the datapath has no map " + name);
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(r)); err)
      return make_error("sharing map " + name + " failed: " + std::strerror(-err));
  }
  // The verifier's last words for a program it refuses (the debug output cuts long logs).
  // The hairpin programs stay out: at 87% and 39% of the verifier's budget as they are, the
  // counting pushes the first past it (no path measured here reaches them).
  static std::vector<char> log(1 << 24);
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, c->obj_) {
    bpf_program__set_log_buf(prog, log.data(), log.size());
    const std::string name = bpf_program__name(prog);
    if (name == "xdplb_tc_hairpin" || name == "xdplb_tc_hairpin_fragment") bpf_program__set_autoload(prog, false);
  }
  if (int err = bpf_object__load(c->obj_); err) {
    const std::string text(log.data(), strnlen(log.data(), log.size()));
    return make_error("loading the instrumented object failed: " + std::string(std::strerror(-err)) + ": " +
                      text.substr(text.size() > 20000 ? text.size() - 20000 : 0));
  }
  // Its own tail-call table, entry for entry as the real one.
  const int real_jump = bpf_map__fd(dp.skeleton()->maps.tc_jump);
  const int own_jump = bpf_map__fd(bpf_object__find_map_by_name(c->obj_, "tc_jump"));
  for (uint32_t i = 0; i < XDPLB_TC_JUMP_MAX; ++i) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(real_jump, &i, &id) != 0) continue;
    struct bpf_program* p = twin(c->obj_, real, id);
    if (!p) return make_error("no instrumented twin of tail-call target " + std::to_string(i));
    const int fd = bpf_program__fd(p);
    if (fd < 0) continue;  // not loaded (above): the tail call falls through
    if (bpf_map_update_elem(own_jump, &i, &fd, BPF_ANY))
      return make_error("filling the instrumented tail-call table failed: " + std::string(std::strerror(errno)));
  }
  struct bpf_program* xdp = twin(c->obj_, real, prog_id(dp.xdp_prog_fd()));
  struct bpf_program* tc = twin(c->obj_, real, prog_id(dp.tc_prog_fd()));
  if (!xdp || !tc) return make_error("the instrumented object lacks the XDP or TC program");
  c->xdp_fd_ = bpf_program__fd(xdp);
  c->tc_fd_ = bpf_program__fd(tc);
  // The counters: the instrumented object's .bss, which holds nothing else.
  struct bpf_map* bss = bpf_object__find_map_by_name(c->obj_, ".bss");
  if (!bss || bpf_map__value_size(bss) != sizeof(uint64_t) * XDPLB_OPC_MAX)
    return make_error("the instrumented object's .bss is not just its counters");
  c->counts_fd_ = bpf_map__fd(bss);
  return c;
}

OpCounter::~OpCounter() { bpf_object__close(obj_); }

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
