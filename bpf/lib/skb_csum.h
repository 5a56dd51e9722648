/* TC: the checksum state of an skb (the kernel's skb->ip_summed), which says what its L4
 * checksum field holds and so how a rewrite written straight into the packet must update it
 * (lib/nat.h revnat_tc). __sk_buff does not carry it: the program reads the kernel's sk_buff
 * through bpf_cast_to_kern_ctx (a kfunc since Linux 6.3, which the verifier turns into a
 * register move) with a CO-RE bitfield read, so no helper call. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* include/linux/skbuff.h: CHECKSUM_* */
enum xdplb_ip_summed {
	XDPLB_CHECKSUM_NONE = 0,
	XDPLB_CHECKSUM_UNNECESSARY = 1,
	/* skb->csum is the sum of the packet from its IP header on (a receiving NIC's) */
	XDPLB_CHECKSUM_COMPLETE = 2,
	/* a local sender's with offload (veth): the L4 checksum field holds the folded
	 * pseudo-header sum, not complemented; the device or the stack adds the L4 header and
	 * payload when the packet leaves */
	XDPLB_CHECKSUM_PARTIAL = 3,
};

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* The one field read, relocated against the running kernel's struct sk_buff. */
struct sk_buff___xdplb {
	__u8 ip_summed : 2;
} __attribute__((preserve_access_index));

static __always_inline __u32 skb_ip_summed(struct __sk_buff *skb)
{
	struct sk_buff___xdplb *kskb = bpf_cast_to_kern_ctx(skb);

	return BPF_CORE_READ_BITFIELD(kskb, ip_summed);
}
