// Loading the host-local hooks over a bridge's pinned maps, attaching them to the cgroup v2
// root through bpf links, and pinning those links next to the datapath's.
#include "hostlocal/hostlocal.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/fd.h"
#include "datapath/pinned_map.h"
#include "xdplb_sock_bpf.skel.h"

namespace fs = std::filesystem;

namespace xdplb::hostlocal {

namespace {

// Same prefix as the datapath's links: Datapath::detach unpins every link_* in the pin dir.
constexpr const char* kLinkPrefix = "link_hostlocal_";

std::string err_text(int negative_errno) {
  return std::strerror(negative_errno < 0 ? -negative_errno : negative_errno);
}

struct SkelDeleter {
  void operator()(struct xdplb_sock_bpf* s) const { xdplb_sock_bpf__destroy(s); }
};
using SockSkel = std::unique_ptr<struct xdplb_sock_bpf, SkelDeleter>;

struct LinkDeleter {
  void operator()(struct bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<struct bpf_link, LinkDeleter>;

struct Hook {
  const char* name;  // pin suffix
  struct bpf_program* prog;
};

// Every hook of bpf/xdplb_sock.bpf.c, both families; link_pin_names() derives from this list.
std::vector<Hook> hooks_of(struct xdplb_sock_bpf* s) {
  return {{"connect4", s ? s->progs.xdplb_connect4 : nullptr},
          {"sendmsg4", s ? s->progs.xdplb_sendmsg4 : nullptr},
          {"recvmsg4", s ? s->progs.xdplb_recvmsg4 : nullptr},
          {"getpeername4", s ? s->progs.xdplb_getpeername4 : nullptr},
          {"connect6", s ? s->progs.xdplb_connect6 : nullptr},
          {"sendmsg6", s ? s->progs.xdplb_sendmsg6 : nullptr},
          {"recvmsg6", s ? s->progs.xdplb_recvmsg6 : nullptr},
          {"getpeername6", s ? s->progs.xdplb_getpeername6 : nullptr},
          {"sock_release", s ? s->progs.xdplb_sock_release : nullptr}};
}

// A map declared LIBBPF_PIN_BY_NAME, pointed at the bridge's pin of the same name.
Status reuse_pin(struct bpf_map* map, const std::string& pin_dir) {
  return reuse_pinned_map(map, pin_dir + "/" + bpf_map__name(map));
}

// Removes the links pinned so far if attach fails half-way.
class PinUndo {
 public:
  PinUndo() = default;
  PinUndo(const PinUndo&) = delete;
  PinUndo& operator=(const PinUndo&) = delete;
  ~PinUndo() {
    if (!armed_) return;
    for (const auto& p : pins_) ::unlink(p.c_str());
  }
  void pinned(std::string p) { pins_.push_back(std::move(p)); }
  void dismiss() { armed_ = false; }

 private:
  std::vector<std::string> pins_;
  bool armed_ = true;
};

}  // namespace

std::vector<std::string> link_pin_names() {
  std::vector<std::string> names;
  for (const auto& hook : hooks_of(nullptr)) names.push_back(std::string(kLinkPrefix) + hook.name);
  return names;
}

bool is_attached(const std::string& pin_dir) {
  std::error_code ec;
  for (const auto& n : link_pin_names())
    if (fs::exists(pin_dir + "/" + n, ec)) return true;
  return false;
}

Status attach(const std::string& pin_dir) {
  if (is_attached(pin_dir))
    return make_error("host-local hooks are already attached (pins " + pin_dir + "/" + kLinkPrefix + "*)");
  auto cgroup = cgroup2_root();
  if (!cgroup) return make_error(cgroup.error());
  auto cookie = current_netns_cookie();
  if (!cookie) return make_error(cookie.error());

  SockSkel skel(xdplb_sock_bpf__open());
  if (!skel) return make_error("opening the host-local BPF object failed: " + err_text(errno));
  skel->rodata->host_netns_cookie = *cookie;
  struct bpf_map* map;
  // Every map but our own (socket storage, rodata) is the bridge's, from lib/maps.h.
  bpf_object__for_each_map(map, skel->obj) {
    if (map == skel->maps.sock_nat || map == skel->maps.rodata) continue;
    XDPLB_TRY(reuse_pin(map, pin_dir));
  }
  if (int err = xdplb_sock_bpf__load(skel.get()); err)
    return make_error("loading the host-local BPF programs failed: " + err_text(err) +
                      " (the verifier log is in the debug output, -v)");

  UniqueFd cg(::open(cgroup->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid())
    return make_error("opening the cgroup v2 root " + *cgroup + " failed: " + std::strerror(errno));

  PinUndo undo;
  std::vector<LinkPtr> links;
  for (const auto& hook : hooks_of(skel.get())) {
    LinkPtr link(bpf_program__attach_cgroup(hook.prog, cg.get()));
    if (!link)
      return make_error(std::string("attaching cgroup/") + hook.name + " to " + *cgroup +
                        " failed: " + err_text(errno) + " (attach with --no-host-local to go without)");
    const std::string pin = pin_dir + "/" + kLinkPrefix + hook.name;
    if (int err = bpf_link__pin(link.get(), pin.c_str()); err)
      return make_error("pinning " + pin + " failed: " + err_text(err));
    undo.pinned(pin);
    links.push_back(std::move(link));
  }
  // From here the pins hold the links; our link handles close with this scope.
  undo.dismiss();
  spdlog::debug("host-local hooks on {} for netns cookie {}", *cgroup, *cookie);
  return {};
}

Status detach(const std::string& pin_dir) {
  std::string failed;
  for (const auto& n : link_pin_names()) {
    const std::string p = pin_dir + "/" + n;
    UniqueFd link(bpf_obj_get(p.c_str()));
    if (!link.valid()) continue;
    // Detach first: an unpin alone frees the link later, from a work queue.
    if (bpf_link_detach(link.get()) != 0 && errno != EINVAL)
      failed += " " + p + " (detach: " + std::strerror(errno) + ")";
    if (::unlink(p.c_str()) != 0) failed += " " + p + " (" + std::strerror(errno) + ")";
  }
  if (!failed.empty()) return make_error("detaching the host-local hooks failed:" + failed);
  return {};
}

}  // namespace xdplb::hostlocal
