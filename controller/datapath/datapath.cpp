#include "datapath/datapath.h"

#include <bpf/libbpf.h>

#include "xdplb_bpf.skel.h"

namespace xdplb {

const char* to_string(XdpMode m) {
  switch (m) {
    case XdpMode::Auto: return "auto";
    case XdpMode::Native: return "native";
    case XdpMode::Generic: return "generic";
  }
  return "?";
}

Datapath::~Datapath() {
  // The mappings go before the skeleton closes the maps' fds.
  for (auto& r : rings_) r.reset();
  conns_.reset();
  xdplb_bpf__destroy(skel_);
}

int Datapath::xdp_prog_fd() const { return bpf_program__fd(skel_->progs.xdplb_xdp); }
int Datapath::tc_prog_fd() const { return bpf_program__fd(skel_->progs.xdplb_tc); }

}  // namespace xdplb
