/* XDP_PASS, for the peer of a veth uplink in native-mode tests: the veth driver wakes the
 * peer to take frames XDP_TX'ed towards it only when the peer has an XDP program of its own
 * (veth_xdp_flush); with none they wait in its ring until other traffic comes. A real NIC's
 * wire needs nothing of the kind. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xe_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
