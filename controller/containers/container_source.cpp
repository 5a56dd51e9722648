#include "containers/container_info.h"

namespace xdplb {

std::string_view to_string(ContainerSource source) {
  switch (source) {
    case ContainerSource::Lxd:
      return "lxd";
    case ContainerSource::Lxc:
      return "lxc";
    case ContainerSource::Auto:
      break;
  }
  return "auto";
}

Result<ContainerSource> parse_container_source(std::string_view text) {
  if (text == "auto") return ContainerSource::Auto;
  if (text == "lxd") return ContainerSource::Lxd;
  if (text == "lxc") return ContainerSource::Lxc;
  return make_error("'" + std::string(text) + "' is not a container source (use auto, lxd or lxc)");
}

}  // namespace xdplb
