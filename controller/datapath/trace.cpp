// The packet trace's maps: trace_conf (on/off and the filter), trace_reasons (per CPU, the
// reasons noted for the packet being handled), trace_ring (the events); and the programs'
// trace switch (lib/trace_switch.h), a global of the object in a section (a map) of its own.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/link_pins.h"
#include "datapath/map_walk.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

Status write_conf(const struct bpf_map* map, const struct xdplb_trace_conf& conf) {
  const uint32_t zero = 0;
  if (int err = bpf_map__update_elem(map, &zero, sizeof zero, &conf, sizeof conf, BPF_ANY); err)
    return make_error("writing the trace settings failed: " + errno_text(err));
  return {};
}

// The trace switch's section as the skeleton declares it, and its map's name in the kernel.
using SwitchSection = std::remove_pointer_t<decltype(::xdplb_bpf::data_trace)>;
constexpr const char* kSwitchMapName = ".data.trace";

uint64_t lease_end(std::chrono::milliseconds lease) {
  return monotonic_ns() + uint64_t(std::chrono::nanoseconds(lease).count());
}

// The switch maps of the programs pin_dir's links run, one per load of the object (several
// only while an upgrade swaps the links one by one). Programs of a build before the switch
// have none: they read trace_conf only.
Result<std::vector<UniqueFd>> linked_switch_maps(const std::string& pin_dir) {
  auto progs = linked_programs(pin_dir);
  if (!progs) return make_error(progs.error());
  std::vector<uint32_t> seen;
  std::vector<UniqueFd> maps;
  for (const auto& prog : *progs) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (int err = bpf_obj_get_info_by_fd(prog.get(), &info, &len); err)
      return make_error("reading a linked program failed: " + errno_text(err));
    std::vector<uint32_t> ids(info.nr_map_ids);
    info = bpf_prog_info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
    len = sizeof info;
    if (int err = bpf_obj_get_info_by_fd(prog.get(), &info, &len); err)
      return make_error("reading a linked program's maps failed: " + errno_text(err));
    ids.resize(std::min<size_t>(ids.size(), info.nr_map_ids));
    for (uint32_t id : ids) {
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      UniqueFd map(bpf_map_get_fd_by_id(id));
      if (!map.valid()) continue;  // gone meanwhile (an upgrade's old programs)
      bpf_map_info minfo{};
      uint32_t mlen = sizeof minfo;
      if (bpf_obj_get_info_by_fd(map.get(), &minfo, &mlen) != 0) continue;
      if (minfo.type == BPF_MAP_TYPE_ARRAY && std::strcmp(minfo.name, kSwitchMapName) == 0 &&
          minfo.value_size == sizeof(SwitchSection))
        maps.push_back(std::move(map));
    }
  }
  return maps;
}

Status write_switch(int map_fd, bool on) {
  const uint32_t zero = 0;
  SwitchSection section;
  if (bpf_map_lookup_elem(map_fd, &zero, &section) != 0)
    return make_error("reading the trace switch failed: " + errno_text(errno));
  section.trace_switch = on ? 1 : 0;
  if (bpf_map_update_elem(map_fd, &zero, &section, BPF_ANY) != 0)
    return make_error("setting the trace switch failed: " + errno_text(errno));
  return {};
}

}  // namespace

Status Datapath::set_trace_switch(bool on) {
  // Loaded here (attach, tests, benchmarks): the skeleton's own map. Opened from pins: the
  // map is not pinned, so the one of the programs the links run.
  if (const int fd = bpf_map__fd(skel_->maps.data_trace); fd >= 0) return write_switch(fd, on);
  if (pin_dir_.empty()) return {};
  auto maps = linked_switch_maps(pin_dir_);
  if (!maps) return make_error("finding the trace switch: " + maps.error());
  for (const auto& map : *maps) XDPLB_TRY(write_switch(map.get(), on));
  return {};
}

Status Datapath::start_trace(const TraceFilter& filter, std::chrono::milliseconds lease) {
  struct xdplb_trace_conf conf;
  std::memset(&conf, 0, sizeof conf);
  if (filter.client) {
    conf.match |= XDPLB_TRACE_MATCH_CLIENT;
    conf.client = filter.client->to_abi();
    conf.client_family = filter.client->is_v6() ? XDPLB_AF_INET6 : XDPLB_AF_INET;
    if (filter.client_is_host) conf.match |= XDPLB_TRACE_MATCH_HOST;
  }
  if (filter.service_slot) {
    conf.match |= XDPLB_TRACE_MATCH_SERVICE;
    conf.slot = *filter.service_slot;
    for (uint32_t id : filter.service_backends)
      if (id < XDPLB_MAX_BACKENDS) conf.backends[id / 64] |= 1ull << (id % 64);
  }
  // Without this the first traced packet on each CPU would carry every reason noted since
  // attach. (Packets between this and `on` add a few bits to their CPU's next one.)
  const int cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
  const std::vector<struct xdplb_trace_cpu> none(static_cast<size_t>(cpus), xdplb_trace_cpu{0, 0});
  const uint32_t zero = 0;
  if (int err = bpf_map__update_elem(skel_->maps.trace_reasons, &zero, sizeof zero, none.data(),
                                     none.size() * sizeof none[0], BPF_ANY); err)
    return make_error("starting the trace failed: " + errno_text(err));
  conf.on = 1;
  conf.until_ns = lease_end(lease);
  XDPLB_TRY(write_conf(skel_->maps.trace_conf, conf));
  return set_trace_switch(true);  // after the settings: a switched-on program finds them
}

Status Datapath::renew_trace(std::chrono::milliseconds lease) {
  struct xdplb_trace_conf conf;
  const uint32_t zero = 0;
  if (int err = bpf_map__lookup_elem(skel_->maps.trace_conf, &zero, sizeof zero, &conf, sizeof conf, 0); err)
    return make_error("reading the trace settings failed: " + errno_text(err));
  conf.until_ns = lease_end(lease);
  XDPLB_TRY(write_conf(skel_->maps.trace_conf, conf));
  // Again each time: programs an upgrade put in since start have their own switch, and a
  // program that found the lease run out (a renewal late past it) switched itself off.
  return set_trace_switch(true);
}

Status Datapath::stop_trace() {
  XDPLB_TRY(set_trace_switch(false));
  struct xdplb_trace_conf conf;
  std::memset(&conf, 0, sizeof conf);
  return write_conf(skel_->maps.trace_conf, conf);
}

int Datapath::trace_ring_fd() const { return bpf_map__fd(skel_->maps.trace_ring); }

}  // namespace xdplb
