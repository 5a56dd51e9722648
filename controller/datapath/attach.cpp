// Loading, attaching, pinning and detaching. The datapath outlives the process that attaches
// it: links and maps are pinned under the pin directory, and a link stays attached as long as
// its pin exists. Detaching is detaching each link (at once: the kernel frees an unpinned link
// only later, from a work queue) and unpinning everything; every failure path of attach undoes
// what it did the same way (AttachUndo).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/fd.h"
#include "datapath/datapath.h"
#include "datapath/link_pins.h"
#include "datapath/meta.h"
#include "datapath/pinned_map.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace fs = std::filesystem;

namespace xdplb {

namespace {

// enum bpf_attach_type BPF_TCX_INGRESS (Linux 6.6). The uapi headers shipped with libbpf 1.1
// predate tcx, and libbpf 1.1 has no bpf_program__attach_tcx: bpf_link_create takes it as is.
constexpr int kBpfTcxIngress = 46;

bool on_bpffs(const std::string& path) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

bool dir_has_entries(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec);
}

// Undoes a half-done attach: unpins links and maps, removes the pin directory it created.
class AttachUndo {
 public:
  AttachUndo(std::string pin_dir, bool created_dir)
      : pin_dir_(std::move(pin_dir)), created_dir_(created_dir) {}
  AttachUndo(const AttachUndo&) = delete;
  AttachUndo& operator=(const AttachUndo&) = delete;
  ~AttachUndo() {
    if (!armed_) return;
    // Detach explicitly: dropping the last reference through an unpin frees a link only
    // later, from a work queue, and the interface must be free when we return.
    for (const auto& l : links_) bpf_link_detach(l.get());
    for (const auto& p : pins_) ::unlink(p.c_str());
    if (obj_) {
      struct bpf_map* map;
      bpf_object__for_each_map(map, obj_) {
        if (const char* p = bpf_map__pin_path(map)) ::unlink(p);
      }
    }
    if (created_dir_) ::rmdir(pin_dir_.c_str());
  }
  void pinned(std::string path) { pins_.push_back(std::move(path)); }
  void linked(UniqueFd link) { links_.push_back(std::move(link)); }
  void maps_of(struct bpf_object* obj) { obj_ = obj; }
  void dismiss() { armed_ = false; }

 private:
  std::string pin_dir_;
  bool created_dir_;
  std::vector<std::string> pins_;
  std::vector<UniqueFd> links_;  // closed at the end: from then on the pins hold the links
  struct bpf_object* obj_ = nullptr;
  bool armed_ = true;
};

Result<UniqueFd> link_create(int prog_fd, int ifindex, int attach_type, uint32_t flags) {
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
  int fd = bpf_link_create(prog_fd, ifindex, static_cast<enum bpf_attach_type>(attach_type), &opts);
  if (fd < 0) return make_error(errno_text(fd));
  return UniqueFd(fd);
}

Result<UniqueFd> link_xdp(int prog_fd, const UplinkAttach& up, XdpMode want, XdpMode* got) {
  auto try_mode = [&](XdpMode m) {
    return link_create(prog_fd, up.ifindex, BPF_XDP,
                       m == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
  };
  if (want != XdpMode::Auto) {
    auto link = try_mode(want);
    if (!link)
      return make_error("attaching XDP (" + std::string(to_string(want)) + ") to " + up.name +
                        " failed: " + link.error() +
                        (want == XdpMode::Native ? " (driver without native XDP? try --xdp-mode generic)"
                                                 : " (another XDP program there?)"));
    *got = want;
    return link;
  }
  auto native = try_mode(XdpMode::Native);
  if (native) {
    *got = XdpMode::Native;
    return native;
  }
  auto generic = try_mode(XdpMode::Generic);
  if (!generic)
    return make_error("attaching XDP to " + up.name + " failed: native: " + native.error() +
                      ", generic: " + generic.error() + " (another XDP program there?)");
  spdlog::info("{}: native XDP refused ({}), attached in generic mode", up.name, native.error());
  *got = XdpMode::Generic;
  return generic;
}

Status pin_link(const UniqueFd& link, const std::string& path, AttachUndo& undo) {
  if (int err = bpf_obj_pin(link.get(), path.c_str()); err)
    return make_error("pinning " + path + " failed: " + errno_text(err));
  undo.pinned(path);
  return {};
}

// The pinned map behind a LIBBPF_PIN_BY_NAME map, if it has a pin path.
Status reuse_pinned(struct bpf_map* map) {
  const char* pin = bpf_map__pin_path(map);
  if (!pin) return {};
  return reuse_pinned_map(map, pin);
}

// Tunables into the opened (not yet loaded) skeleton: rodata and the flow tables' size.
Status apply_tunables(struct ::xdplb_bpf* skel, const Tunables& t) {
  if (t.hairpin_port_min == 0 || t.hairpin_port_min > t.hairpin_port_max)
    return make_error("hairpin port range " + std::to_string(t.hairpin_port_min) + "-" +
                      std::to_string(t.hairpin_port_max) + " is empty or starts at 0");
  XDPLB_TRY(check_table_sizes(t.flow_table_size, t.syn_table_size));
  skel->rodata->hairpin_port_min = t.hairpin_port_min;
  skel->rodata->hairpin_port_max = t.hairpin_port_max;
  skel->rodata->flow_table_size = t.flow_table_size;
  skel->rodata->flow_linger_ns = t.flow_linger_ns;
  const uint32_t syn_table = syn_table_entries(t);
  const std::pair<struct bpf_map*, uint32_t> sizes[] = {
      {skel->maps.flows, t.flow_table_size}, {skel->maps.reverse, t.flow_table_size}, {skel->maps.reverse_new, syn_table}};
  for (const auto& [map, entries] : sizes)
    if (int err = bpf_map__set_max_entries(map, entries); err)
      return make_error(std::string("sizing map ") + bpf_map__name(map) + " failed: " + errno_text(err));
  return {};
}

int ifindex_of(const std::string& name, int given) {
  return given > 0 ? given : static_cast<int>(if_nametoindex(name.c_str()));
}

}  // namespace

Result<std::unique_ptr<Datapath>> Datapath::attach(const AttachSpec& spec, AttachResult* result) {
  if (spec.pin_dir.empty()) return make_error("no pin directory given");
  if (dir_has_entries(spec.pin_dir))
    return make_error("already attached: " + spec.pin_dir + " holds pins (detach first)");
  const int bridge_ifindex = ifindex_of(spec.bridge, spec.bridge_ifindex);
  if (bridge_ifindex <= 0) return make_error("bridge " + spec.bridge + " not found");
  if (spec.uplinks.empty()) return make_error("no uplink given: XDP needs at least one");

  // Opening touches no pins (that happens at load); it goes first so the skeleton outlives
  // the undo guard that unpins its maps.
  auto skel = open_skeleton(&spec.pin_dir);
  if (!skel) return make_error(skel.error());
  XDPLB_TRY(apply_tunables(skel->get(), spec.tunables));
  std::error_code ec;
  const bool created_dir = fs::create_directories(spec.pin_dir, ec);
  if (ec)
    return make_error("creating " + spec.pin_dir + " failed: " + ec.message() +
                      " (is /sys/fs/bpf a bpf filesystem? see ensure_bpffs)");
  AttachUndo undo(spec.pin_dir, created_dir);
  if (!on_bpffs(spec.pin_dir))
    return make_error(spec.pin_dir + " is not on a bpf filesystem: pins need one (mount -t bpf bpf /sys/fs/bpf)");

  undo.maps_of((*skel)->obj);
  if (int err = xdplb_bpf__load(skel->get()); err)
    return make_error("loading the BPF programs failed: " + errno_text(err) +
                      " (the verifier log is in the debug output)");
  XDPLB_TRY(fill_tc_jumps(skel->get()));

  AttachResult got;
  const int xdp_fd = bpf_program__fd((*skel)->progs.xdplb_xdp);
  for (const auto& up : spec.uplinks) {
    UplinkAttach u{up.name, ifindex_of(up.name, up.ifindex)};
    if (u.ifindex <= 0) return make_error("uplink " + up.name + " not found");
    XdpMode mode = XdpMode::Auto;
    auto link = link_xdp(xdp_fd, u, spec.xdp_mode, &mode);
    if (!link) return make_error(link.error());
    XDPLB_TRY(pin_link(*link, spec.pin_dir + "/" + kLinkPrefix + "xdp_" + up.name, undo));
    got.xdp_modes.emplace_back(up.name, mode);
    undo.linked(std::move(*link));
  }

  auto tc = link_create(bpf_program__fd((*skel)->progs.xdplb_tc), bridge_ifindex, kBpfTcxIngress, 0);
  if (!tc)
    return make_error("attaching TC (tcx ingress) to " + spec.bridge + " failed: " + tc.error() +
                      " (tcx needs Linux 6.6 or later)");
  XDPLB_TRY(pin_link(*tc, spec.pin_dir + "/" + kLinkPrefix + "tc_" + spec.bridge, undo));
  undo.linked(std::move(*tc));
  XDPLB_TRY(write_meta(spec.pin_dir));
  undo.pinned(spec.pin_dir + "/" + kMetaPin);

  undo.dismiss();
  if (result) *result = std::move(got);
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->skel_ = skel->release();
  return dp;
}

Result<std::unique_ptr<Datapath>> Datapath::open(const std::string& pin_dir) {
  if (!is_attached(pin_dir))
    return make_error("not attached: no pins in " + pin_dir + " (run `xdplb attach` first)");
  // Maps of another layout are never read: their keys and values may mean something else.
  auto version = read_meta(pin_dir);
  if (!version) return make_error(version.error());
  if (version->value_or(0) != abi_version())
    return make_error("the pins in " + pin_dir + " are of ABI version " + std::to_string(version->value_or(0)) +
                      " and this xdplb speaks version " + std::to_string(abi_version()) +
                      ": run `xdplb attach BRIDGE` with this xdplb to replace them in place");
  auto skel = open_skeleton(&pin_dir);
  if (!skel) return make_error(skel.error());
  // Each pinned map's fd goes into the opened object, and the object is never loaded: later
  // commands only read and write maps, and a load (even of no program) costs more CPU than the
  // rest of `backend add` — libbpf parses the kernel's whole BTF for the kfunc extern, loads
  // the object's BTF and probes kernel features. The internal maps (.rodata, .bss) stay
  // uncreated: only the trace switch (.data.trace) is written after attach, through the
  // programs the links run (trace.cpp).
  struct bpf_map* map;
  bpf_object__for_each_map(map, (*skel)->obj) XDPLB_TRY(reuse_pinned(map));
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->skel_ = skel->release();
  dp->pin_dir_ = pin_dir;
  return dp;
}

Result<std::unique_ptr<Datapath>> Datapath::load_staged(const std::string& staged_dir, const Tunables& tunables) {
  if (dir_has_entries(staged_dir)) XDPLB_TRY(detach(staged_dir));  // left by an upgrade that failed
  auto skel = open_skeleton(&staged_dir);
  if (!skel) return make_error(skel.error());
  XDPLB_TRY(apply_tunables(skel->get(), tunables));
  std::error_code ec;
  const bool created_dir = fs::create_directories(staged_dir, ec);
  if (ec) return make_error("creating " + staged_dir + " failed: " + ec.message());
  AttachUndo undo(staged_dir, created_dir);
  undo.maps_of((*skel)->obj);
  if (int err = xdplb_bpf__load(skel->get()); err)
    return make_error("loading the BPF programs failed: " + errno_text(err) + " (the verifier log is in the debug output)");
  XDPLB_TRY(fill_tc_jumps(skel->get()));
  undo.dismiss();
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->skel_ = skel->release();
  return dp;
}

namespace {

// Every entry of dir unpinned, dir removed (a replaced datapath's old pins: names of another
// layout, so not by this build's list of map names).
void drop_dir(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) ::unlink(entry.path().c_str());
  ::rmdir(dir.c_str());
}

// Moves every pin of `from` that is no link into `to` (each moved name into *moved, if given);
// the failures, named.
std::string move_map_pins(const std::string& from, const std::string& to, std::vector<std::string>* moved = nullptr) {
  std::error_code ec;
  std::string failed;
  std::vector<fs::path> pins;
  for (const auto& entry : fs::directory_iterator(from, ec))
    if (entry.path().filename().string().rfind(kLinkPrefix, 0) != 0) pins.push_back(entry.path());
  for (const auto& pin : pins) {
    const std::string name = pin.filename().string();
    if (::rename(pin.c_str(), (to + "/" + name).c_str()) != 0) failed += " " + name + " (" + std::strerror(errno) + ")";
    else if (moved) moved->push_back(name);
  }
  return failed;
}

}  // namespace

void ReplacedDatapath::commit() {
  if (done_) return;
  done_ = true;
  swapped_.clear();  // the old programs go with their last fd
  drop_dir(old_dir_);
}

Status ReplacedDatapath::undo() {
  if (done_) return {};
  done_ = true;
  std::string failed;
  // XDP first, as in the take-over: the old XDP makes old reverse entries for the old TC to come.
  for (auto& [link, old] : swapped_)
    if (int err = bpf_link_update(link.get(), old.get(), nullptr); err) failed += " link (" + errno_text(err) + ")";
  swapped_.clear();
  for (const auto& name : moved_in_)
    if (::unlink((pin_dir_ + "/" + name).c_str()) != 0 && errno != ENOENT) failed += " " + name + " (" + std::strerror(errno) + ")";
  moved_in_.clear();
  failed += move_map_pins(old_dir_, pin_dir_);
  drop_dir(old_dir_);
  if (!failed.empty()) return make_error("putting the replaced datapath back in " + pin_dir_ + " failed:" + failed);
  return {};
}

Result<ReplacedDatapath> Datapath::take_over(const std::string& staged_dir, const std::string& pin_dir,
                                             const std::string& old_dir) {
  const int xdp_fd = bpf_program__fd(skel_->progs.xdplb_xdp), tc_fd = bpf_program__fd(skel_->progs.xdplb_tc);
  std::error_code ec;
  if (fs::exists(old_dir, ec)) drop_dir(old_dir);  // left by a process that died mid-upgrade
  if (::mkdir(old_dir.c_str(), 0700) != 0) return make_error("creating " + old_dir + ": " + std::strerror(errno));
  ReplacedDatapath replaced(pin_dir, old_dir);
  auto fail = [&](std::string why) -> Result<ReplacedDatapath> {
    if (auto s = replaced.undo(); !s) why += "; " + s.error();
    return make_error(why);
  };
  // 1. Every XDP and TC link runs the new program: an atomic swap per interface, which is
  // never without a program. Undone (the old programs back) if one fails.
  // XDP first: until TC follows, replies of established flows still find their old reverse
  // entries, and the new XDP has made new ones for the TC to come. The other order sends
  // replies untranslated for that moment, and their clients reset.
  std::vector<std::pair<fs::path, bool>> links;  // pin, is XDP
  for (const auto& entry : fs::directory_iterator(pin_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(std::string(kLinkPrefix) + "xdp_", 0) == 0) links.insert(links.begin(), {entry.path(), true});
    else if (name.rfind(std::string(kLinkPrefix) + "tc_", 0) == 0) links.emplace_back(entry.path(), false);
  }
  for (const auto& [pin, xdp] : links) {
    UniqueFd link(bpf_obj_get(pin.c_str()));
    if (!link.valid()) return fail("opening " + pin.string() + ": " + errno_text(-errno));
    auto old = link_program(link.get());
    if (!old) return fail("the program of " + pin.string() + ": " + old.error());
    if (int err = bpf_link_update(link.get(), xdp ? xdp_fd : tc_fd, nullptr); err)
      return fail("updating " + pin.string() + " to the new program failed: " + errno_text(err));
    replaced.swapped_.emplace_back(std::move(link), std::move(*old));
  }
  // 2. The old maps and meta move aside (the old programs, kept by fd, still hold them), the
  // new ones take their names.
  std::string failed = move_map_pins(pin_dir, old_dir);
  if (failed.empty()) failed = move_map_pins(staged_dir, pin_dir, &replaced.moved_in_);
  if (!failed.empty()) return fail("moving the pins failed:" + failed);
  ::rmdir(staged_dir.c_str());
  replaced.moved_in_.push_back(kMetaPin);
  if (auto s = write_meta(pin_dir); !s) return fail(s.error());
  return replaced;
}

Result<std::unique_ptr<Datapath>> Datapath::load_unattached(const Tunables& tunables) {
  auto skel = open_skeleton(nullptr);
  if (!skel) return make_error(skel.error());
  XDPLB_TRY(apply_tunables(skel->get(), tunables));
  if (int err = xdplb_bpf__load(skel->get()); err)
    return make_error("loading the BPF programs failed: " + errno_text(err));
  XDPLB_TRY(fill_tc_jumps(skel->get()));
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->skel_ = skel->release();
  return dp;
}

bool Datapath::is_attached(const std::string& pin_dir) {
  std::error_code ec;
  if (!fs::is_directory(pin_dir, ec)) return false;
  auto names = map_pin_names();
  for (const auto& entry : fs::directory_iterator(pin_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kLinkPrefix, 0) == 0) return true;
    if (names && std::find(names->begin(), names->end(), name) != names->end()) return true;
  }
  return false;
}

Status Datapath::detach(const std::string& pin_dir) {
  std::error_code ec;
  if (!fs::is_directory(pin_dir, ec)) return make_error("not attached: " + pin_dir + " does not exist");
  auto names = map_pin_names();
  if (!names) return make_error(names.error());
  // Links first: unpinning the last reference detaches the program from its interface.
  std::vector<std::string> links;
  for (const auto& entry : fs::directory_iterator(pin_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kLinkPrefix, 0) == 0) links.push_back(entry.path().string());
  }
  std::string failed;
  for (const auto& p : links) {
    // Detach through the link itself, then unpin: an unpin alone frees the link only later,
    // from a work queue, and callers expect the interfaces to be free when we return.
    UniqueFd link(bpf_obj_get(p.c_str()));
    if (link.valid() && bpf_link_detach(link.get()) != 0 && errno != EINVAL)
      failed += " " + p + " (detach: " + std::strerror(errno) + ")";
    if (::unlink(p.c_str()) != 0) failed += " " + p + " (" + std::strerror(errno) + ")";
  }
  for (const auto& n : *names) {
    const std::string p = pin_dir + "/" + n;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) failed += " " + p + " (" + std::strerror(errno) + ")";
  }
  if (const std::string meta = pin_dir + "/" + kMetaPin; ::unlink(meta.c_str()) != 0 && errno != ENOENT)
    failed += " " + meta + " (" + std::strerror(errno) + ")";
  if (!failed.empty()) return make_error("unpinning failed:" + failed);
  if (::rmdir(pin_dir.c_str()) != 0) {
    std::string left;
    for (const auto& entry : fs::directory_iterator(pin_dir, ec)) left += " " + entry.path().filename().string();
    return make_error("removing " + pin_dir + " failed: " + std::strerror(errno) +
                      (left.empty() ? "" : " (not ours, left in place:" + left + ")"));
  }
  return {};
}

}  // namespace xdplb
