#include "datapath/meta.h"

#include <bpf/bpf.h>
#include <unistd.h>
#include <xdplb/abi.h>

#include <cerrno>
#include <cstring>

#include "core/fd.h"

namespace xdplb {

uint32_t abi_version() { return XDPLB_ABI_VERSION; }

Status write_meta(const std::string& pin_dir) {
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdplb_meta", sizeof(uint32_t), sizeof(uint32_t), 1, nullptr));
  if (!fd.valid()) return make_error(std::string("creating the meta map failed: ") + std::strerror(errno));
  const uint32_t key = 0, version = abi_version();
  if (bpf_map_update_elem(fd.get(), &key, &version, BPF_ANY) != 0)
    return make_error(std::string("writing the meta map failed: ") + std::strerror(errno));
  const std::string pin = pin_dir + "/" + kMetaPin;
  ::unlink(pin.c_str());
  if (bpf_obj_pin(fd.get(), pin.c_str()) != 0)
    return make_error("pinning " + pin + " failed: " + std::strerror(errno));
  return {};
}

Result<std::optional<uint32_t>> read_meta(const std::string& pin_dir) {
  const std::string pin = pin_dir + "/" + kMetaPin;
  if (::access(pin.c_str(), F_OK) != 0) return std::optional<uint32_t>();
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  if (!fd.valid()) return make_error("opening " + pin + " failed: " + std::strerror(errno));
  const uint32_t key = 0;
  uint32_t version = 0;
  if (bpf_map_lookup_elem(fd.get(), &key, &version) != 0)
    return make_error("reading " + pin + " failed: " + std::strerror(errno));
  return std::optional<uint32_t>(version);
}

}  // namespace xdplb
