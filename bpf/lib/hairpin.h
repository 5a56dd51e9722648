/* Hairpin: a container on the bridge calls a VIP (the bridge's or an uplink's address). Its
 * request reaches the host through the bridge, so TC ingress on the bridge sees it. If only
 * the destination were rewritten, the backend (on the same L2) would answer the container
 * directly from its own address and the container would reset the connection. So the request
 * is DNATed to the backend AND SNATed to the bridge's address with a source port from a
 * reserved range; the backend answers the host, and TC puts VIP -> container back.
 *
 * Port allocation: the reverse entry (backend:bport -> bridge:port) is the port's claim,
 * inserted with BPF_NOEXIST, so two CPUs can never hand out the same port to the same backend.
 * Ports are per backend (the key holds it), picked at random from the range; an entry idle for
 * XDPLB_HAIRPIN_IDLE_NS may be taken over; the LRU maps evict the oldest when full.
 * Both families alike: IPv6 only differs in the source lookup (16-byte addresses) and the
 * rewrite (no IP header checksum, lib/nat.h tc_rewrite6). */
#pragma once

#include <linux/pkt_cls.h>

#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/forward.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/select.h"

/* The SNAT source port range (host order, inclusive); set by the loader between open and
 * load (AttachSpec), defaults from abi.h. */
const volatile __u16 hairpin_port_min = XDPLB_HAIRPIN_PORT_MIN;
const volatile __u16 hairpin_port_max = XDPLB_HAIRPIN_PORT_MAX;

/* The address the host sends from towards the backend: the bridge's (the kernel picks it as
 * for its own traffic, so it follows address changes without any configuration). For IPv6
 * that is the kernel's source address selection (RFC 6724) on the bridge: its global address
 * for a backend's global one. */
static __always_inline int hairpin_source(struct __sk_buff *skb, __u8 family,
					  const union xdplb_addr *backend, union xdplb_addr *src)
{
	struct bpf_fib_lookup fib;
	int rc;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = family; /* XDPLB_AF_* == AF_* */
	if (family == XDPLB_AF_INET6)
		__builtin_memcpy(fib.ipv6_dst, backend->v6, sizeof(fib.ipv6_dst));
	else
		fib.ipv4_dst = backend->v4;
	fib.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SRC | BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return -1;
	__builtin_memset(src, 0, sizeof(*src));
	if (family == XDPLB_AF_INET6)
		__builtin_memcpy(src->v6, fib.ipv6_src, sizeof(src->v6));
	else
		src->v4 = fib.ipv4_src;
	return src->v6[0] | src->v6[1] | src->v6[2] | src->v6[3] ? 0 : -1;
}

/* Claim a free SNAT port towards be for the flow key; fills rk (the reply key). */
static __always_inline int hairpin_claim_port(const struct xdplb_flow_key *key, __u32 id,
					      const struct xdplb_backend *be,
					      const union xdplb_addr *snat_addr, __u64 now,
					      struct xdplb_flow_key *rk)
{
	__u32 lo = hairpin_port_min, hi = hairpin_port_max;
	__u32 span = hi >= lo ? hi - lo + 1 : 1;
	struct xdplb_hairpin_reverse rev, *old;
	int i;

	__builtin_memset(&rev, 0, sizeof(rev));
	rev.vip = key->dst;
	rev.vport = key->dport;
	rev.client = key->src;
	rev.cport = key->sport;
	rev.backend = id;
	rev.last_seen_ns = now;

	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = be->addr;
	rk->sport = be->port;
	rk->dst = *snat_addr;
	rk->proto = key->proto;
	rk->family = key->family;
	for (i = 0; i < XDPLB_HAIRPIN_PORT_TRIES; i++) {
		rk->dport = bpf_htons((__u16)(lo + bpf_get_prandom_u32() % span));
		if (!bpf_map_update_elem(&hairpin_reverse, rk, &rev, BPF_NOEXIST))
			return 0;
		old = bpf_map_lookup_elem(&hairpin_reverse, rk);
		if (old && now - old->last_seen_ns > XDPLB_HAIRPIN_IDLE_NS &&
		    !bpf_map_update_elem(&hairpin_reverse, rk, &rev, BPF_EXIST))
			return 0;
	}
	return -1;
}

/* Forget a hairpin flow whose backend became unusable (or that a SYN re-places). */
static __always_inline void hairpin_forget(const struct xdplb_flow_key *key,
					   struct xdplb_hairpin_flow *hf)
{
	struct xdplb_backend *old = bpf_map_lookup_elem(&backends, &hf->backend);
	struct xdplb_flow_key rk;

	flow_uncount(&hf->flags, hf->backend);
	if (old) {
		flow_key_set(&rk, &old->addr, old->port, &hf->snat_addr, hf->snat_port, key->proto,
			     key->family);
		bpf_map_delete_elem(&hairpin_reverse, &rk);
	}
	bpf_map_delete_elem(&hairpin_flows, key);
}

/* TC: a container's request to a service. Returns the TC verdict. */
static __always_inline int hairpin_request(struct __sk_buff *skb, const struct packet *pkt,
					   const struct xdplb_service *svc)
{
	__u64 now = bpf_ktime_get_ns();
	struct xdplb_backend *be = NULL;
	struct xdplb_hairpin_flow *hf, nf;
	struct xdplb_flow_key rk;
	union xdplb_addr snat_addr, to;
	__be16 snat_port;
	bool new_flow = false;
	__u32 id, reason;
	int verdict;

	hf = bpf_map_lookup_elem(&hairpin_flows, &pkt->key);
	if (hf) {
		id = hf->backend;
		be = backend_usable(id, pkt->key.family);
		if (be && tcp_opens_flow(pkt) && syn_moves_flow(svc, &pkt->key, id))
			be = NULL; /* new connection on an old 5-tuple: re-placed (lib/select.h) */
		if (be) {
			flow_count_packet(&hf->flags, id, pkt);
			snat_addr = hf->snat_addr;
			snat_port = hf->snat_port;
			if (now - hf->last_seen_ns > XDPLB_FLOW_TOUCH_NS)
				hf->last_seen_ns = now;
		} else {
			count_reason(XDPLB_R_FLOW_RESELECTED);
			hairpin_forget(&pkt->key, hf);
		}
	}
	if (!be) {
		/* Containers are on this host: no other node can have placed their flows, so a
		 * mid-flow packet takes the scheduler's choice like a new one. */
		id = select_backend(svc, &pkt->key, false, &be);
		if (!be) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_BACKEND);
			return TC_ACT_SHOT;
		}
		if (hairpin_source(skb, pkt->key.family, &be->addr, &snat_addr)) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_SOURCE);
			return TC_ACT_SHOT;
		}
		if (hairpin_claim_port(&pkt->key, id, be, &snat_addr, now, &rk)) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_PORT);
			return TC_ACT_SHOT;
		}
		snat_port = rk.dport;
		__builtin_memset(&nf, 0, sizeof(nf));
		nf.snat_addr = snat_addr;
		nf.snat_port = snat_port;
		nf.backend = id;
		nf.flags = tcp_ends_flow(pkt) ? 0 : XDPLB_FLOW_COUNTED;
		nf.last_seen_ns = now;
		if (bpf_map_update_elem(&hairpin_flows, &pkt->key, &nf, BPF_ANY)) {
			bpf_map_delete_elem(&hairpin_reverse, &rk);
			count_reason(XDPLB_R_FLOW_TABLE_FULL);
			return TC_ACT_SHOT;
		}
		if (nf.flags)
			conn_add(id, 1);
		count_reason(XDPLB_R_TC_HAIRPIN_NEW);
		new_flow = true;
	}

	to = be->addr;
	count_backend(id, skb->len, new_flow);
	if (tc_rewrite(skb, pkt, &snat_addr, snat_port, &to, be->port)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	verdict = tc_route_redirect(skb, &snat_addr, &to, pkt->key.family, &reason);
	count_reason(verdict == TC_ACT_SHOT ? reason : XDPLB_R_TC_HAIRPIN_REQUEST);
	return verdict;
}

/* The backend reset a hairpin connection: uncount its forward entry (container:cport ->
 * VIP:vport, from the reverse entry). */
static __always_inline void hairpin_reset_by_backend(const struct packet *pkt,
						     const struct xdplb_hairpin_reverse *rev)
{
	struct xdplb_hairpin_flow *hf;
	struct xdplb_flow_key fk;

	flow_key_set(&fk, &rev->client, rev->cport, &rev->vip, rev->vport, pkt->key.proto,
		     pkt->key.family);
	hf = bpf_map_lookup_elem(&hairpin_flows, &fk);
	if (hf && hf->backend == rev->backend)
		flow_uncount(&hf->flags, hf->backend);
}

/* TC: a backend's reply to a hairpin flow. Returns the TC verdict. */
static __always_inline int hairpin_reply(struct __sk_buff *skb, const struct packet *pkt,
					 struct xdplb_hairpin_reverse *rev)
{
	__u64 now = bpf_ktime_get_ns();
	union xdplb_addr vip = rev->vip, client = rev->client;
	__u32 reason;
	int verdict;

	if (now - rev->last_seen_ns > XDPLB_FLOW_TOUCH_NS)
		rev->last_seen_ns = now;
	if (pkt->tcp && pkt->tcp->rst)
		hairpin_reset_by_backend(pkt, rev);
	if (tc_rewrite(skb, pkt, &vip, rev->vport, &client, rev->cport)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	verdict = tc_route_redirect(skb, &vip, &client, pkt->key.family, &reason);
	count_reason(verdict == TC_ACT_SHOT ? reason : XDPLB_R_TC_HAIRPIN_REPLY);
	return verdict;
}
