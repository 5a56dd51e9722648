#include "core/reasons.h"

#include <array>

namespace xdplb {

namespace {

// Order follows enum xdplb_reason; the static_assert below catches a reason added there only.
constexpr std::array<ReasonInfo, XDPLB_R_MAX> kReasons{{
    {"pass_not_ip", "not IPv4/IPv6 (ARP, ...): passed untouched"},
    {"pass_not_service", "IP but not for a service: passed untouched"},
    {"pass_truncated", "headers cut short: passed untouched"},
    {"pass_fragment", "IP fragment: passed untouched (not load balanced)"},
    {"drop_ip_options", "service packet with IPv4 options: dropped"},
    {"drop_no_backend", "service has no usable backend: dropped"},
    {"fwd_redirect", "DNAT + redirect into the backend's veth (fast path)"},
    {"fwd_pass", "DNAT + handed to kernel routing (pass path)"},
    {"new_flow", "flows created"},
    {"flow_table_full", "flow entry could not be stored: forwarded unpinned"},
    {"tc_not_reverse", "reply side, not a load-balanced flow: untouched"},
    {"tc_revnat_redirect", "reply reverse-NATed and redirected"},
    {"tc_revnat_neigh", "reply reverse-NATed, redirected via neighbour resolution"},
    {"tc_drop_no_route", "reply reverse-NATed but no route back: dropped"},
    {"tc_pass_truncated", "reply side, headers cut short: untouched"},
    {"flow_midstream", "mid-flow TCP packet of an unknown flow, placed by the ring"},
    {"flow_reselected", "flow's backend became unusable, re-placed by the ring"},
    {"tc_pass_fragment", "reply side, IP fragment: untouched"},
    {"tc_drop_rewrite", "reply side, reverse NAT rewrite failed: dropped"},
    {"tc_hairpin_new", "hairpin flows created (container -> VIP, port allocated)"},
    {"tc_hairpin_request", "hairpin request DNATed + SNATed to the bridge address"},
    {"tc_hairpin_reply", "hairpin reply put back to VIP -> container"},
    {"tc_hairpin_no_port", "hairpin: no free SNAT port for the backend: dropped"},
    {"tc_hairpin_no_backend", "hairpin: service has no usable backend: dropped"},
    {"tc_hairpin_no_source", "hairpin: no route or source address to the backend: dropped"},
    {"pass_short_frame", "frame shorter than its IP length: passed untouched"},
    {"tc_pass_short_frame", "reply side, frame shorter than its IP length: untouched"},
    {"drop_spoofed", "new flow on an uplink from a bridge, host or loopback source: dropped"},
    {"icmp_to_backend", "ICMP error about a flow translated and sent to its backend"},
    {"icmp_from_backend", "backend's ICMP error about a flow translated back to the VIP"},
    {"tc_pass_frag_needed", "reply bigger than the egress MTU: to the stack untranslated (it tells the backend)"},
    {"frag_first", "first fragment of a balanced datagram: translation remembered"},
    {"frag_later", "later fragment translated like its datagram's first"},
    {"flow_evicted", "new flow in a full table: least recently used entry evicted"},
    {"flow_restored", "live flow had lost one of its entries (evicted): put back"},
    {"flow_closed", "TCP flows ended (FIN both ways or RST), entries kept a short linger"},
    {"tc_reply_stale", "reply of an ended (or re-placed) flow: entry deleted, untouched"},
    {"tc_hairpin_frag_needed", "hairpin request too big for the way to its backend: dropped, the container told the MTU"},
    {"fwd_routed", "DNAT to a routed backend (outside the bridge) + FIB lookup + redirect"},
    {"routed_reply", "reply of a routed backend on an uplink: reverse NAT + FIB lookup + redirect"},
    {"drop_routed_reply", "reply of a routed backend with no route/neighbour to the client (or, without a "
                          "reverse entry, of an endpoint serving several VIP:ports): dropped"},
    {"routed_reply_stateless", "reply of a routed backend no reverse entry knows (another node's flow): "
                               "source put back to its one VIP:port + FIB lookup + redirect"},
    {"icmp_from_routed", "routed backend's ICMP error about a flow translated back to the VIP (reverse entry) "
                         "+ FIB lookup + redirect"},
    {"icmp_from_routed_stateless", "routed backend's ICMP error no reverse entry knows: translated back to "
                                   "its endpoint's one VIP:port + FIB lookup + redirect"},
    {"drop_icmp_routed", "routed backend's ICMP error with no route/neighbour to the client (or, without a "
                         "reverse entry, of an endpoint serving several VIP:ports): dropped"},
}};
static_assert(kReasons.size() == XDPLB_R_MAX, "a reason in abi.h has no name here");

constexpr ReasonInfo kUnknown{"unknown", "unknown reason"};

}  // namespace

const ReasonInfo& reason_info(unsigned reason) {
  return reason < kReasons.size() ? kReasons[reason] : kUnknown;
}

}  // namespace xdplb
