#include "datapath/link_pins.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace xdplb {

namespace {
std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }
}  // namespace

Result<UniqueFd> link_program(int link_fd) {
  bpf_link_info info{};
  uint32_t len = sizeof info;
  if (int err = bpf_obj_get_info_by_fd(link_fd, &info, &len); err) return make_error(errno_text(err));
  UniqueFd prog(bpf_prog_get_fd_by_id(info.prog_id));
  if (!prog.valid()) return make_error(errno_text(errno));
  return prog;
}

Result<std::vector<UniqueFd>> linked_programs(const std::string& pin_dir) {
  std::error_code ec;
  std::vector<UniqueFd> progs;
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir, ec)) {
    if (entry.path().filename().string().rfind(kLinkPrefix, 0) != 0) continue;
    UniqueFd link(bpf_obj_get(entry.path().c_str()));
    if (!link.valid()) return make_error("opening " + entry.path().string() + ": " + errno_text(errno));
    auto prog = link_program(link.get());
    if (!prog) return make_error("the program of " + entry.path().string() + ": " + prog.error());
    progs.push_back(std::move(*prog));
  }
  if (ec) return make_error("reading " + pin_dir + ": " + ec.message());
  return progs;
}

}  // namespace xdplb
