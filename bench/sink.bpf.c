/* Sinks for scripts/bench.sh.
 * xbn_sink: XDP_DROP on the load balancer's uplink, the generator's ceiling on the same veth.
 * xbn_tc_drop: tc ingress on each backend's eth0, drops IPv4 after the veth has counted it
 * (rx_packets), so backends never answer the flood; ARP still passes. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xbn_sink(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("tc")
int xbn_tc_drop(struct __sk_buff *skb)
{
	return skb->protocol == bpf_htons(ETH_P_IP) ? TC_ACT_SHOT : TC_ACT_OK;
}
