/* Which flow an ICMP error is about, and sending the translated error on (lib/icmp.h has the
 * layouts and the rewrite). The five ways an error crosses the load balancer:
 *   XDP, uplink: a router's (or the client's) error about a reply (quote VIP -> client):
 *       the flow entry gives the backend; the error goes to it as the flow's packets do.
 *   XDP, uplink: a routed backend's (or a router's on its side) error about a request (quote
 *       client -> backend:port): its reverse entry, or without one its endpoint's reply_nats
 *       entry, gives the VIP; the error leaves from the VIP to the client by the FIB
 *       (xdplb.bpf.c xdp_routed_icmp).
 *   TC, bridge:  a backend's error about a request (quote client -> backend): the reverse
 *       entry gives the VIP; the error leaves from the VIP to the client.
 *   TC, bridge:  a backend's error about a hairpin request (quote bridge:port -> backend):
 *       the hairpin reverse entry gives the VIP and the container.
 *   TC, bridge:  a container's error about a hairpin reply (quote VIP -> container): the
 *       hairpin flow gives the backend and the SNAT address:port.
 * An error that is about none of our flows goes on untouched, as before. */
#pragma once

#include <linux/pkt_cls.h>

#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/forward.h"
#include "lib/icmp.h"
#include "lib/maps.h"
#include "lib/select.h"

/* XDP: the backend of the flow with (request) key fk, and `to` for the quoted reply. */
static __always_inline struct xdplb_backend *icmp_xdp_target(const struct xdplb_flow_key *fk,
							     struct xdplb_flow_key *to, __u32 *id)
{
	struct xdplb_backend *be;
	struct xdplb_flow *flow;

	flow = bpf_map_lookup_elem(&flows, fk);
	if (!flow)
		return NULL;
	*id = flow->backend;
	be = backend_usable(*id, fk->family);
	if (be)
		flow_key_set(to, &be->addr, flow->bport, &fk->src, fk->sport, fk->proto, fk->family);
	return be;
}

/* XDP: the ICMP error at pkt's IP header (lib/icmp.h's layout, quoting TCP/UDP), or NULL. fk
 * gets the key of its quote's other way, *dst its outer destination address. */
static __always_inline void *xdp_icmp_quote(const struct packet *pkt, void *data_end,
					    struct xdplb_flow_key *fk, union xdplb_addr *dst)
{
	__builtin_memset(dst, 0, sizeof(*dst));
	if (pkt->ip4) {
		struct icmp4_error *h = (void *)pkt->ip4;

		if ((void *)(h + 1) > data_end || !icmp4_error_ok(h))
			return NULL;
		icmp4_flow_key(h, fk);
		dst->v4 = h->outer.daddr;
		return h;
	}
	if (pkt->ip6) {
		struct icmp6_error *h = (void *)pkt->ip6;

		if ((void *)(h + 1) > data_end || !icmp6_error_ok(h))
			return NULL;
		icmp6_flow_key(h, fk);
		__builtin_memcpy(dst->v6, &h->outer.daddr, sizeof(dst->v6));
		return h;
	}
	return NULL;
}

/* XDP: icmp4_translate or icmp6_translate of the error h (xdp_icmp_quote's, of family) in the
 * frame. The length is checked again for the verifier, which does not tie h to the family;
 * false (never once xdp_icmp_quote took h): not translated. */
static __always_inline bool xdp_icmp_translate(void *h, void *data_end, __u8 family,
					       const struct xdplb_flow_key *to)
{
	struct icmp4_error *e4 = h;
	struct icmp6_error *e6 = h;

	if (family == XDPLB_AF_INET) {
		if ((void *)(e4 + 1) > data_end)
			return false;
		icmp4_translate(e4, to);
	} else {
		if ((void *)(e6 + 1) > data_end)
			return false;
		icmp6_translate(e6, to);
	}
	return true;
}

/* TC: `to` for the packet quoted by an error from the bridge, whose other-way key is fk;
 * *reason is the ICMP_* outcome. -1 if it is about none of our flows. */
static __always_inline int icmp_tc_target(const struct xdplb_flow_key *fk,
					  struct xdplb_flow_key *to, __u32 *reason)
{
	struct xdplb_hairpin_reverse *hrev;
	struct xdplb_hairpin_flow *hf;
	struct xdplb_backend *be;
	struct xdplb_reverse *rev;

	*reason = XDPLB_R_ICMP_FROM_BACKEND;
	rev = reply_reverse(fk);
	if (rev) {
		flow_key_set(to, &fk->dst, fk->dport, &rev->vip, rev->vport, fk->proto, fk->family);
		return 0;
	}
	hrev = bpf_map_lookup_elem(&hairpin_reverse, fk);
	if (hrev) {
		flow_key_set(to, &hrev->client, hrev->cport, &hrev->vip, hrev->vport, fk->proto,
			     fk->family);
		return 0;
	}
	hf = bpf_map_lookup_elem(&hairpin_flows, fk);
	be = hf ? backend_usable(hf->backend, fk->family) : NULL;
	if (!be)
		return -1;
	flow_key_set(to, &be->addr, hf->bport, &hf->snat_addr, hf->snat_port, fk->proto,
		     fk->family);
	*reason = XDPLB_R_ICMP_TO_BACKEND;
	return 0;
}

/* TC: an ICMP error from a backend or a container about one of our flows, translated (on a
 * copy, stored back) and routed on. Returns the verdict (*about: the flow's key as the error
 * quotes it), or -1 if it is not about a flow of ours. */
static __always_inline int tc_icmp_error(struct __sk_buff *skb, const struct packet *pkt,
					 struct xdplb_flow_key *about)
{
	union {
		struct icmp4_error v4;
		struct icmp6_error v6;
	} h;
	struct xdplb_flow_key fk, to;
	union xdplb_addr src, dst;
	__u32 size, reason;

	__builtin_memset(&src, 0, sizeof(src));
	__builtin_memset(&dst, 0, sizeof(dst));
	if (pkt->ip4) {
		size = sizeof(h.v4);
		if (bpf_skb_load_bytes(skb, pkt->l3_off, &h.v4, sizeof(h.v4)) || !icmp4_error_ok(&h.v4))
			return -1;
		icmp4_flow_key(&h.v4, &fk);
		if (icmp_tc_target(&fk, &to, &reason))
			return -1;
		icmp4_translate(&h.v4, &to);
		src.v4 = h.v4.outer.saddr;
		dst.v4 = h.v4.outer.daddr;
	} else if (pkt->ip6) {
		size = sizeof(h.v6);
		if (bpf_skb_load_bytes(skb, pkt->l3_off, &h.v6, sizeof(h.v6)) || !icmp6_error_ok(&h.v6))
			return -1;
		icmp6_flow_key(&h.v6, &fk);
		if (icmp_tc_target(&fk, &to, &reason))
			return -1;
		icmp6_translate(&h.v6, &to);
		__builtin_memcpy(src.v6, &h.v6.outer.saddr, sizeof(src.v6));
		__builtin_memcpy(dst.v6, &h.v6.outer.daddr, sizeof(dst.v6));
	} else {
		return -1;
	}
	*about = fk;
	if (bpf_skb_store_bytes(skb, pkt->l3_off, &h, size, 0)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	count_reason(reason);
	return tc_forward_reply(skb, &src, &dst, fk.family);
}
