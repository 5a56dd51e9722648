#include "twin_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "xdplb_bpf.skel.h"

namespace xdplb::bench {
namespace {

uint32_t prog_id(int fd) {
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// The program of `obj` named like the program of `real` whose id is `id`.
struct bpf_program* twin(struct bpf_object* obj, struct bpf_object* real, uint32_t id) {
  struct bpf_program* p;
  bpf_object__for_each_program(p, real) {
    if (bpf_program__fd(p) < 0 || prog_id(bpf_program__fd(p)) != id) continue;
    return bpf_object__find_program_by_name(obj, bpf_program__name(p));
  }
  return nullptr;
}

// .rodata, .data, .bss: the tunables the real object was loaded with (same source, same layout;
// libbpf refuses a size that differs). Constant sections (.rodata.cst32, .rodata.str1.1: what
// the compiler merged) are each build's own: another build may hold other constants there.
Status copy_global_data(struct bpf_map* m, struct bpf_object* real, const std::string& what) {
  const std::string name = bpf_map__name(m);
  const std::string section = name.substr(name.find('.'));
  if (section != ".rodata" && section != ".data" && section != ".bss") return {};
  struct bpf_map* r;
  bpf_object__for_each_map(r, real) {
    const std::string rn = bpf_map__name(r);
    if (!bpf_map__is_internal(r) || rn.substr(rn.find('.')) != section) continue;
    size_t size = 0;
    const void* data = bpf_map__initial_value(r, &size);
    if (data && bpf_map__set_initial_value(m, data, size))
      return make_error("copying " + section + " into the " + what + " failed");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<TwinObject>> TwinObject::load(Datapath& dp, const std::string& object_path,
                                                     const std::function<bool(const std::string&)>& load_program,
                                                     const std::string& what) {
  std::unique_ptr<TwinObject> t(new TwinObject(dp));
  t->obj_ = bpf_object__open_file(object_path.c_str(), nullptr);
  if (!t->obj_) return make_error("opening " + object_path + " failed: " + std::strerror(errno));
  struct bpf_object* real = dp.skeleton()->obj;
  struct bpf_map* m;
  bpf_object__for_each_map(m, t->obj_) {
    const std::string name = bpf_map__name(m);
    bpf_map__set_pin_path(m, nullptr);
    if (name == "tc_jump") continue;  // its own (fill_tc_jumps): the entries are programs
    if (bpf_map__is_internal(m) && name != ".data.trace") {  // the trace switch is shared
      XDPLB_TRY(copy_global_data(m, real, what));
      continue;
    }
    struct bpf_map* r = bpf_object__find_map_by_name(real, name.c_str());
    if (!r) return make_error("the datapath has no map " + name);
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(r)); err)
      return make_error("sharing map " + name + " failed: " + std::strerror(-err));
  }
  // The verifier's last words for a program it refuses (the debug output cuts long logs).
  static std::vector<char> log(1 << 24);
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, t->obj_) {
    bpf_program__set_log_buf(prog, log.data(), log.size());
    if (!load_program(bpf_program__name(prog))) bpf_program__set_autoload(prog, false);
  }
  if (int err = bpf_object__load(t->obj_); err) {
    const std::string text(log.data(), strnlen(log.data(), log.size()));
    return make_error("loading the " + what + " failed: " + std::string(std::strerror(-err)) + ": " +
                      text.substr(text.size() > 20000 ? text.size() - 20000 : 0));
  }
  return t;
}

TwinObject::~TwinObject() { bpf_object__close(obj_); }

int TwinObject::twin_fd(int real_fd) const {
  struct bpf_program* p = twin(obj_, dp_.skeleton()->obj, prog_id(real_fd));
  return p ? bpf_program__fd(p) : -1;
}

Status TwinObject::fill_tc_jumps() {
  const int real_jump = bpf_map__fd(dp_.skeleton()->maps.tc_jump);
  struct bpf_map* own = bpf_object__find_map_by_name(obj_, "tc_jump");
  if (!own) return make_error("the twin object has no tc_jump");
  for (uint32_t i = 0; i < XDPLB_TC_JUMP_MAX; ++i) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(real_jump, &i, &id) != 0) continue;
    struct bpf_program* p = twin(obj_, dp_.skeleton()->obj, id);
    if (!p) return make_error("no twin of tail-call target " + std::to_string(i));
    const int fd = bpf_program__fd(p);
    if (fd < 0) continue;  // not loaded: the tail call falls through
    if (bpf_map_update_elem(bpf_map__fd(own), &i, &fd, BPF_ANY))
      return make_error("filling the twin's tail-call table failed: " + std::string(std::strerror(errno)));
  }
  return {};
}

}  // namespace xdplb::bench
