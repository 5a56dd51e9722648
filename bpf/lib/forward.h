/* Sending packets on. XDP: straight into the backend's veth through the devmap (fast path) or
 * up the stack (XDP_PASS). TC: replies, after reverse NAT, by a FIB lookup + redirect: never
 * back to the stack, whose source is now a local address (a martian). */
#pragma once

#include <linux/pkt_cls.h>
#include <stddef.h>

#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/parse.h"


/* A FIB request for src -> dst, everything else zero. */
static __always_inline void fib_request(struct bpf_fib_lookup *fib, const union xdplb_addr *src,
					const union xdplb_addr *dst, __u8 family)
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
}

/* XDP: the routed paths' FIB lookup (maps.h fib_scratch), or NULL. */
static __always_inline struct bpf_fib_lookup *fib_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fib_scratch, &zero);
}

/* XDP: the FIB's way for pkt, which is to leave as src -> dst, from the uplink it came in on.
 * tot_len is its IP length (an XDP frame is never GSO), so a too big one gets FRAG_NEEDED. */
static __always_inline int xdp_fib(struct xdp_md *ctx, const struct packet *pkt,
				   const union xdplb_addr *src, const union xdplb_addr *dst,
				   struct bpf_fib_lookup *fib)
{
	fib_request(fib, src, dst, pkt->key.family);
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = pkt->len - pkt->l3_off;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* XDP: send pkt where a SUCCESS answer of the FIB said: back out of its uplink (XDP_TX) or
 * out of another device (redirect). */
static __always_inline int xdp_send_routed(struct xdp_md *ctx, struct packet *pkt,
					   const struct bpf_fib_lookup *fib)
{
	__builtin_memcpy(pkt->eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(pkt->eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

/* XDP: pkt is DNATed to a routed backend (XDPLB_BACKEND_ROUTED): through the host's routes.
 * Any answer but SUCCESS (no neighbour yet, too big, ...) goes to the stack, which routes the
 * DNATed packet itself (its source is the client's, so it is no martian). */
static __always_inline int xdp_forward_routed(struct xdp_md *ctx, struct packet *pkt,
					      const struct xdplb_backend *be)
{
	struct bpf_fib_lookup *fib = fib_scratch_get();

	if (!fib || xdp_fib(ctx, pkt, &pkt->key.src, &be->addr, fib) != BPF_FIB_LKUP_RET_SUCCESS) {
		count_reason(XDPLB_R_FWD_PASS);
		return XDP_PASS;
	}
	count_reason(XDPLB_R_FWD_ROUTED);
	return xdp_send_routed(ctx, pkt, fib);
}

/* XDP: pkt is already DNATed to backend id (pkt->key is still the client's 5-tuple). */
static __always_inline int xdp_forward(struct xdp_md *ctx, struct packet *pkt, __u32 id,
				       const struct xdplb_backend *be)
{
	if (be->flags & XDPLB_BACKEND_ROUTED)
		return xdp_forward_routed(ctx, pkt, be);
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
	fib_request(fib, src, dst, family);
	fib->ifindex = skb->ingress_ifindex;
	/* tot_len = 0 skips the MTU check: with the real length, GSO replies get FRAG_NEEDED
	 * and large downloads stall. */
	fib->tot_len = 0;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* TC: send a rewritten packet where the FIB said (rc, fib); never back to the stack. The
 * MACs go through eth, the frame's Ethernet header, where its packet pointers are still valid,
 * or else through bpf_skb_store_bytes (eth NULL). *reason gets the outcome
 * (XDPLB_R_TC_REVNAT_REDIRECT / _NEIGH / _DROP_NO_ROUTE / _DROP_REWRITE) for the caller to
 * count as it sees fit. */
static __always_inline int tc_redirect_routed(struct __sk_buff *skb, int rc,
					      const struct bpf_fib_lookup *fib, struct ethhdr *eth,
					      __u32 *reason)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (eth) {
			__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
			__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
		} else if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), fib->dmac, ETH_ALEN, 0) ||
			   bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), fib->smac, ETH_ALEN, 0)) {
			*reason = XDPLB_R_TC_DROP_REWRITE;
			return TC_ACT_SHOT;
		}
		*reason = XDPLB_R_TC_REVNAT_REDIRECT;
		return bpf_redirect(fib->ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		*reason = XDPLB_R_TC_REVNAT_NEIGH;
		return bpf_redirect_neigh(fib->ifindex, NULL, 0, 0);
	}
	*reason = XDPLB_R_TC_DROP_NO_ROUTE;
	return TC_ACT_SHOT;
}

/* TC: route a rewritten packet (now src -> dst) and redirect it (tc_redirect_routed). */
static __always_inline int tc_route_redirect(struct __sk_buff *skb, const union xdplb_addr *src,
					     const union xdplb_addr *dst, __u8 family,
					     __u32 *reason)
{
	struct bpf_fib_lookup fib;
	int rc = fib_lookup_reply(skb, src, dst, family, &fib);

	return tc_redirect_routed(skb, rc, &fib, NULL, reason);
}

/* TC: would pkt not fit an egress device of this MTU? A GSO packet by its segments: gso_size
 * is the L4 payload of each, so a segment is the IP and L4 headers plus gso_size. */
static __always_inline bool tc_exceeds_mtu(struct __sk_buff *skb, const struct packet *pkt,
					   __u32 mtu)
{
	__u32 l4_hdr;

	if (!mtu)
		return false;
	if (!skb->gso_size)
		return skb->len - pkt->l3_off > mtu;
	l4_hdr = pkt->tcp ? pkt->tcp->doff * 4 : sizeof(struct udphdr);
	return skb->gso_size + (pkt->l4_off - pkt->l3_off) + l4_hdr > mtu;
}

/* TC: route a reply that is to leave as src -> dst BEFORE rewriting it, so that one that
 * does not fit the egress device can still go to the stack untranslated (tc_pass_frag_needed):
 * BPF_FIB_LKUP_RET_FRAG_NEEDED then. The FIB's own check (tot_len = 0) lets every GSO packet
 * through whatever its segments, and a NO_NEIGH answer gets no check at all: the MTU comes
 * with a SUCCESS answer (mtu_result), and from bpf_check_mtu for NO_NEIGH. */
static __always_inline int tc_route(struct __sk_buff *skb, const struct packet *pkt,
				    const union xdplb_addr *src, const union xdplb_addr *dst,
				    __u8 family, struct bpf_fib_lookup *fib)
{
	int rc = fib_lookup_reply(skb, src, dst, family, fib);
	__u32 mtu = 0;

	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		mtu = fib->mtu_result;
	else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		bpf_check_mtu(skb, fib->ifindex, &mtu, 0, 0); /* sets mtu whatever it returns */
	else
		return rc;
	if (tc_exceeds_mtu(skb, pkt, mtu)) {
		fib->mtu_result = mtu; /* for an ICMP error that tells the sender */
		rc = BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	return rc;
}

/* TC: a reply too big for the egress MTU, still untranslated, goes to the stack. The stack
 * forwards it as a router does and answers the backend with "fragmentation needed" (IPv4) /
 * "packet too big" (IPv6) quoting the backend's own packet, so the backend learns the path
 * MTU. The stack would fragment an IPv4 packet without DF instead, and its fragments would
 * leave with the backend's address: DF is set on it, so the backend is told too. */
static __always_inline int tc_pass_frag_needed(struct __sk_buff *skb, const struct packet *pkt)
{
	__u32 off = pkt->l3_off + offsetof(struct iphdr, frag_off);
	__be16 old_frag, new_frag;

	if (pkt->ip4) {
		old_frag = pkt->ip4->frag_off;
		new_frag = old_frag | bpf_htons(XDPLB_IP_DF);
		if (old_frag != new_frag &&
		    (bpf_l3_csum_replace(skb, pkt->l3_off + offsetof(struct iphdr, check), old_frag,
					 new_frag, sizeof(new_frag)) ||
		     bpf_skb_store_bytes(skb, off, &new_frag, sizeof(new_frag), 0))) {
			count_reason(XDPLB_R_TC_DROP_REWRITE);
			return TC_ACT_SHOT;
		}
	}
	count_reason(XDPLB_R_TC_PASS_FRAG_NEEDED);
	return TC_ACT_OK;
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
