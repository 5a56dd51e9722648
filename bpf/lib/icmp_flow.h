/* Which flow an ICMP error is about, and sending the translated error on (lib/icmp.h has the
 * layouts and the rewrite). The four ways an error crosses the load balancer:
 *   XDP, uplink: a router's (or the client's) error about a reply (quote VIP -> client):
 *       the flow entry gives the backend; the error goes to it as the flow's packets do.
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

/* XDP: an ICMP error from an uplink about one of our flows, translated and sent to the
 * flow's backend. Returns the verdict, or -1 if it is not about a flow of ours. For the trace,
 * then: pkt->key is that flow's key (client -> VIP), *backend its backend. */
static __always_inline int xdp_icmp_error(struct xdp_md *ctx, struct packet *pkt,
					  void *data_end, __u32 *backend)
{
	struct xdplb_flow_key fk, to;
	struct xdplb_backend *be;
	__u32 id = 0;
	int verdict;

	if (pkt->ip4) {
		struct icmp4_error *h = (void *)pkt->ip4;

		if ((void *)(h + 1) > data_end || !icmp4_error_ok(h))
			return -1;
		icmp4_flow_key(h, &fk);
		be = icmp_xdp_target(&fk, &to, &id);
		if (!be)
			return -1;
		icmp4_translate(h, &to);
	} else if (pkt->ip6) {
		struct icmp6_error *h = (void *)pkt->ip6;

		if ((void *)(h + 1) > data_end || !icmp6_error_ok(h))
			return -1;
		icmp6_flow_key(h, &fk);
		be = icmp_xdp_target(&fk, &to, &id);
		if (!be)
			return -1;
		icmp6_translate(h, &to);
	} else {
		return -1;
	}
	count_reason(XDPLB_R_ICMP_TO_BACKEND);
	verdict = xdp_forward(ctx, pkt, id, be); /* routes by the error's own source */
	pkt->key = fk;
	*backend = id;
	return verdict;
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
