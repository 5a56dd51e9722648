#include "config/config.h"

#include <algorithm>

namespace xdplb::config {

bool BackendSpec::operator==(const BackendSpec& o) const {
  return container == o.container && address == o.address && port == o.port && source == o.source &&
         lxcpath == o.lxcpath && weight == o.weight && backup == o.backup && drain == o.drain &&
         fast_path == o.fast_path;
}

std::string backend_key(const BackendSpec& b) {
  if (!b.container.empty()) return b.container;
  return Endpoint{b.address, b.port}.to_string();
}

BridgeSpec spec_of_state(const BridgeState& state) {
  BridgeSpec out;
  out.name = state.bridge;
  out.uplinks = state.uplinks;
  out.xdp_mode = state.xdp_mode;
  out.attach = state.attach;
  for (const auto& svc : state.services) {
    ServiceSpec s;
    s.service = svc;
    s.service.slot = 0;
    for (const auto& b : state.backends) {
      if (b.service != svc.name) continue;
      BackendSpec spec;
      spec.container = b.name;
      if (b.name.empty()) spec.address = b.addr;
      spec.port = b.port;
      // A container asked for as auto is saved as what it resolved to (LXD or LXC): the export
      // says what was found, and diff_bridge lets auto match either.
      spec.source = b.name.empty() ? BackendSource::Addr : b.source;
      spec.lxcpath = b.lxcpath;
      spec.weight = b.weight;
      spec.backup = b.backup;
      spec.drain = b.drained;
      spec.fast_path = !b.fast_path_disabled;
      // One entry per family: the first stands for the container.
      const bool seen = std::any_of(s.backends.begin(), s.backends.end(), [&](const BackendSpec& o) {
        return !spec.container.empty() && o.container == spec.container;
      });
      if (!seen) s.backends.push_back(std::move(spec));
    }
    out.services.push_back(std::move(s));
  }
  return out;
}

}  // namespace xdplb::config
