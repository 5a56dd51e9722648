/* The flow table: a forward entry (client 5-tuple -> backend) read by XDP on every packet, and
 * next to it a reverse entry (reply 5-tuple -> VIP:vport) that the TC program needs to undo
 * the DNAT on replies. */
#pragma once

#include "lib/conns.h"
#include "lib/maps.h"

/* At most this often a packet refreshes last_seen and re-checks the reverse entry: writing a
 * shared entry on every packet would bounce its cache line between CPUs. */
#define XDPLB_FLOW_TOUCH_NS 1000000000ULL

/* A flow key from its parts, padding zeroed (hash lookups compare every byte). */
static __always_inline void flow_key_set(struct xdplb_flow_key *k, const union xdplb_addr *src,
					 __be16 sport, const union xdplb_addr *dst, __be16 dport,
					 __u8 proto, __u8 family)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src = *src;
	k->sport = sport;
	k->dst = *dst;
	k->dport = dport;
	k->proto = proto;
	k->family = family;
}

/* The key a reply of this flow from backend be arrives with: be:bport -> client:cport. */
static __always_inline void reverse_key_of(const struct xdplb_flow_key *fwd,
					   const struct xdplb_backend *be,
					   struct xdplb_flow_key *rk)
{
	flow_key_set(rk, &be->addr, be->port, &fwd->src, fwd->sport, fwd->proto, fwd->family);
}

static __always_inline int reverse_remember(const struct xdplb_flow_key *key, __u32 id,
					    const struct xdplb_backend *be)
{
	struct xdplb_reverse rev;
	struct xdplb_flow_key rk;

	__builtin_memset(&rev, 0, sizeof(rev));
	rev.vip = key->dst;
	rev.vport = key->dport;
	rev.backend = id;
	reverse_key_of(key, be, &rk);
	return bpf_map_update_elem(&reverse, &rk, &rev, BPF_ANY);
}

/* Store (or replace) the flow's forward and reverse entries; counted: the flow is a live
 * connection of backend id (not a stray FIN or RST). Fails when an LRU map cannot take the
 * entry; the packet is forwarded anyway, uncounted. A replaced entry must have been
 * uncounted first. */
static __always_inline int flow_remember(const struct xdplb_flow_key *key, __u32 id,
					 const struct xdplb_backend *be, __u64 now, bool counted)
{
	struct xdplb_flow flow;

	__builtin_memset(&flow, 0, sizeof(flow));
	flow.backend = id;
	flow.flags = counted ? XDPLB_FLOW_COUNTED : 0;
	flow.last_seen_ns = now;
	if (reverse_remember(key, id, be))
		return -1;
	if (bpf_map_update_elem(&flows, key, &flow, BPF_ANY))
		return -1;
	if (counted)
		conn_add(id, 1);
	return 0;
}

/* The backend reset the connection of reply key rk: uncount its forward entry. */
static __always_inline void flow_reset_by_backend(const struct xdplb_flow_key *rk,
						  const struct xdplb_reverse *rev)
{
	struct xdplb_flow_key fk;
	struct xdplb_flow *flow;

	flow_key_set(&fk, &rk->dst, rk->dport, &rev->vip, rev->vport, rk->proto, rk->family);
	flow = bpf_map_lookup_elem(&flows, &fk);
	if (flow && flow->backend == rev->backend)
		flow_uncount(&flow->flags, flow->backend);
}

/* A flow leaves a backend that became inactive: its replies must not be matched any more. */
static __always_inline void reverse_forget(const struct xdplb_flow_key *key, __u32 old_id)
{
	struct xdplb_backend *old = bpf_map_lookup_elem(&backends, &old_id);
	struct xdplb_flow_key rk;

	if (!old)
		return;
	reverse_key_of(key, old, &rk);
	bpf_map_delete_elem(&reverse, &rk);
}

static __always_inline void flow_touch(struct xdplb_flow *flow, const struct xdplb_flow_key *key,
				       const struct xdplb_backend *be, __u64 now)
{
	struct xdplb_flow_key rk;

	if (now - flow->last_seen_ns < XDPLB_FLOW_TOUCH_NS)
		return;
	flow->last_seen_ns = now;
	/* The reverse entry lives in its own LRU and may have been evicted alone; replies would
	 * then leave un-NATed and be dropped as martians. Put it back. */
	reverse_key_of(key, be, &rk);
	if (!bpf_map_lookup_elem(&reverse, &rk))
		reverse_remember(key, flow->backend, be);
}
