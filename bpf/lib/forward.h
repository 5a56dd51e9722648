/* Sending packets on. XDP: straight into the backend's veth through the devmap (fast path) or
 * up the stack (XDP_PASS). TC: replies, after reverse NAT, by a FIB lookup + redirect: never
 * back to the stack, whose source is now a local address (a martian). */
#pragma once

#include <linux/pkt_cls.h>
#include <stddef.h>

#include "lib/counters.h"
#include "lib/parse.h"


/* XDP: pkt is already DNATed to backend id. */
static __always_inline int xdp_forward(struct packet *pkt, __u32 id, const struct xdplb_backend *be)
{
	if (be->flags & XDPLB_BACKEND_FAST_PATH) {
		/* XDP_PASS as the fallback action: no devmap slot means the stack routes it. The
		 * redirect happens after we return, so the MACs can still be set afterwards. */
		if (bpf_redirect_map(&tx_ports, id, XDP_PASS) == XDP_REDIRECT) {
			__builtin_memcpy(pkt->eth->h_dest, be->dmac, ETH_ALEN);
			__builtin_memcpy(pkt->eth->h_source, be->smac, ETH_ALEN);
			count_reason(XDPLB_R_FWD_REDIRECT);
			return XDP_REDIRECT;
		}
	}
	count_reason(XDPLB_R_FWD_PASS);
	return XDP_PASS;
}

/* The seam between reverse NAT and the routing decision: everything that depends on the host's
 * routes and neighbours is in here. Packet tests run it in a namespace of their own with a
 * known route and neighbour. */
static __always_inline int fib_lookup_reply(struct __sk_buff *skb, const union xdplb_addr *src,
					    const union xdplb_addr *dst, __u8 family,
					    struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = family; /* XDPLB_AF_* == AF_* */
	if (family == XDPLB_AF_INET6) {
		__builtin_memcpy(fib->ipv6_src, src->v6, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, dst->v6, sizeof(fib->ipv6_dst));
	} else {
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	}
	fib->ifindex = skb->ingress_ifindex;
	/* tot_len = 0 skips the MTU check: with the real length, GSO replies get FRAG_NEEDED
	 * and large downloads stall. */
	fib->tot_len = 0;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* TC: route a rewritten packet (now src -> dst) and redirect it; never back to the stack.
 * *reason gets the outcome (XDPLB_R_TC_REVNAT_REDIRECT / _NEIGH / _DROP_NO_ROUTE /
 * _DROP_REWRITE) for the caller to count as it sees fit. */
static __always_inline int tc_route_redirect(struct __sk_buff *skb, const union xdplb_addr *src,
					     const union xdplb_addr *dst, __u8 family,
					     __u32 *reason)
{
	struct bpf_fib_lookup fib;
	int rc = fib_lookup_reply(skb, src, dst, family, &fib);

	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), fib.dmac, ETH_ALEN, 0) ||
		    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), fib.smac, ETH_ALEN, 0)) {
			*reason = XDPLB_R_TC_DROP_REWRITE;
			return TC_ACT_SHOT;
		}
		*reason = XDPLB_R_TC_REVNAT_REDIRECT;
		return bpf_redirect(fib.ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		*reason = XDPLB_R_TC_REVNAT_NEIGH;
		return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
	}
	*reason = XDPLB_R_TC_DROP_NO_ROUTE;
	return TC_ACT_SHOT;
}

/* TC: forward a reply whose source is now src (the VIP) to dst (the client). */
static __always_inline int tc_forward_reply(struct __sk_buff *skb, const union xdplb_addr *src,
					    const union xdplb_addr *dst, __u8 family)
{
	__u32 reason;
	int verdict = tc_route_redirect(skb, src, dst, family, &reason);

	count_reason(reason);
	return verdict;
}
