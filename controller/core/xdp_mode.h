// XdpMode: how XDP is attached to an uplink. Lives in core so that parsing and the saved state
// can name it without depending on the datapath (which needs libbpf).
#pragma once

namespace xdplb {

enum class XdpMode { Auto, Native, Generic };

}  // namespace xdplb
