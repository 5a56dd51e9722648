/* The flow table: a forward entry (client 5-tuple -> backend) read by XDP on every packet, and
 * next to it a reverse entry (reply 5-tuple -> VIP:vport) that the TC program needs to undo
 * the DNAT on replies.
 *
 * Lifecycle (TCP): XDP marks the client's FIN, TC the backend's FIN, either an RST; at the
 * second FIN (or the RST) the flow is CLOSED and lingers XDPLB_FLOW_LINGER_NS for its last
 * ACKs. After that a reply matches nothing (its reverse entry is deleted, the reply untouched)
 * and the client's next packet is a new flow. The two entries are kept together: whichever
 * side finds the other's entry evicted by the LRU puts it back (XDPLB_R_FLOW_RESTORED). A
 * backend id given to a new backend bumps its generation; flows of the old one are re-placed
 * and their replies no longer matched. */
#pragma once

#include "lib/conns.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/select.h"

/* At most this often a packet refreshes last_seen and re-checks the reverse entry: writing a
 * shared entry on every packet would bounce its cache line between CPUs. */
#define XDPLB_FLOW_TOUCH_NS 1000000000ULL

/* Set by the loader between open and load (Tunables), defaults from abi.h. flow_table_size is
 * the max_entries the loader gave the flows map. */
const volatile __u64 flow_linger_ns = XDPLB_FLOW_LINGER_NS;
const volatile __u32 flow_table_size = XDPLB_MAX_FLOWS;

/* now - then, or 0 if then is later (another CPU stamped it after we read the clock). */
static __always_inline __u64 since(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

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

/* ---- TCP lifecycle, shared with the hairpin tables (same flags and last_seen) ---- */

/* The flow ended (CLOSED) more than the linger ago. Reads the clock only for closed flows. */
static __always_inline bool flow_lingered(__u32 flags, __u64 last_seen)
{
	return (flags & XDPLB_FLOW_CLOSED) && since(bpf_ktime_get_ns(), last_seen) > flow_linger_ns;
}

/* A client packet on an entry whose connection is over: a SYN after the close (a new
 * connection on the same 5-tuple), or anything after the linger. */
static __always_inline bool flow_over(__u32 flags, __u64 last_seen, const struct packet *pkt)
{
	if (!(flags & XDPLB_FLOW_CLOSED))
		return false;
	return tcp_opens_flow(pkt) || flow_lingered(flags, last_seen);
}

/* A FIN or RST of one side (XDPLB_FLOW_FIN_CLIENT or _BACKEND) on an entry. The flow closes at
 * an RST or at the second side's FIN; whoever closes it stamps the time. Atomic ors: the two
 * FINs may be seen at once on two CPUs, and exactly one of them sees both. */
static __always_inline void flow_end_seen(__u32 *flags, __u64 *last_seen,
					  const struct packet *pkt, __u32 side)
{
	const __u32 both = XDPLB_FLOW_FIN_CLIENT | XDPLB_FLOW_FIN_BACKEND;
	__u32 old;

	if (!tcp_ends_flow(pkt) || (*flags & XDPLB_FLOW_CLOSED))
		return;
	if (!pkt->tcp->rst) {
		old = __sync_fetch_and_or(flags, side);
		if (((old | side) & both) != both)
			return;
	}
	old = __sync_fetch_and_or(flags, XDPLB_FLOW_CLOSED);
	if (old & XDPLB_FLOW_CLOSED)
		return;
	*last_seen = bpf_ktime_get_ns();
	count_reason(XDPLB_R_FLOW_CLOSED);
}

/* ---- how full the table is: the LRU evicts silently, so the datapath counts ---- */

/* Forward entries stored, never above flow_table_size: a store into a full table evicted one
 * (the kernel's LRU frees per CPU in batches, so "full" is within a few hundred entries). */
static __always_inline void flow_fill_add(void)
{
	__u32 k = 0;
	__s64 *n = bpf_map_lookup_elem(&flow_fill, &k);

	if (!n)
		return;
	if (*n >= (__s64)flow_table_size)
		count_reason(XDPLB_R_FLOW_EVICTED);
	else
		__sync_fetch_and_add(n, 1);
}

static __always_inline void flow_delete(const struct xdplb_flow_key *key)
{
	__u32 k = 0;
	__s64 *n;

	if (bpf_map_delete_elem(&flows, key))
		return;
	n = bpf_map_lookup_elem(&flow_fill, &k);
	if (n && *n > 0)
		__sync_fetch_and_add(n, -1);
}

/* ---- the two entries ---- */

static __always_inline int reverse_remember(const struct xdplb_flow_key *key, __u32 id,
					    const struct xdplb_backend *be)
{
	struct xdplb_reverse rev;
	struct xdplb_flow_key rk;

	__builtin_memset(&rev, 0, sizeof(rev));
	rev.vip = key->dst;
	rev.vport = key->dport;
	rev.backend = id;
	rev.gen = be->gen;
	reverse_key_of(key, be, &rk);
	return bpf_map_update_elem(&reverse, &rk, &rev, BPF_ANY);
}

/* Store (or replace: the entry exists) the flow's forward and reverse entries; counted: the
 * flow is a live connection of backend id (not a stray FIN or RST). Fails when an LRU map
 * cannot take the entry; the packet is forwarded anyway, uncounted. A replaced entry must have
 * been uncounted first. */
static __always_inline int flow_remember(const struct xdplb_flow_key *key, __u32 id,
					 const struct xdplb_backend *be, __u64 now, bool counted,
					 bool replace)
{
	struct xdplb_flow flow;

	__builtin_memset(&flow, 0, sizeof(flow));
	flow.backend = id;
	flow.gen = be->gen;
	flow.flags = counted ? XDPLB_FLOW_COUNTED : 0;
	flow.last_seen_ns = now;
	if (reverse_remember(key, id, be))
		return -1;
	if (bpf_map_update_elem(&flows, key, &flow, BPF_ANY))
		return -1;
	if (!replace)
		flow_fill_add();
	if (counted)
		conn_add(id, 1);
	return 0;
}

/* A flow leaves its backend: its replies must not be matched any more. Only while the id still
 * names the backend the flow was placed on; otherwise its reverse key is unknown, and the
 * generation check on the reply path deletes that entry. */
static __always_inline void reverse_forget(const struct xdplb_flow_key *key, __u32 old_id,
					   __u32 gen)
{
	struct xdplb_backend *old = bpf_map_lookup_elem(&backends, &old_id);
	struct xdplb_flow_key rk;

	if (!old || old->gen != gen)
		return;
	reverse_key_of(key, old, &rk);
	bpf_map_delete_elem(&reverse, &rk);
}

/* Both entries of a flow whose connection is over. */
static __always_inline void flow_forget(const struct xdplb_flow_key *key, struct xdplb_flow *flow)
{
	flow_uncount(&flow->flags, flow->backend);
	reverse_forget(key, flow->backend, flow->gen);
	flow_delete(key);
}

static __always_inline void flow_touch(struct xdplb_flow *flow, const struct xdplb_flow_key *key,
				       const struct xdplb_backend *be, __u64 now)
{
	struct xdplb_flow_key rk;

	/* A closed flow's last_seen is the time it closed: the linger runs from there. */
	if ((flow->flags & XDPLB_FLOW_CLOSED) || now - flow->last_seen_ns < XDPLB_FLOW_TOUCH_NS)
		return;
	flow->last_seen_ns = now;
	/* The reverse entry lives in its own LRU and may have been evicted alone; replies would
	 * then leave un-NATed and be dropped as martians. Put it back. */
	reverse_key_of(key, be, &rk);
	if (!bpf_map_lookup_elem(&reverse, &rk) && !reverse_remember(key, flow->backend, be))
		count_reason(XDPLB_R_FLOW_RESTORED);
}

/* TC: the forward entry of the flow whose reply (key rk: backend -> client) matched reverse
 * entry rev, or NULL if that flow is gone: it ended a linger ago (both entries are deleted),
 * was re-placed, or its backend id now names another backend (rev is deleted). A forward entry
 * the LRU evicted alone is put back from rev. */
static __always_inline struct xdplb_flow *reply_flow(const struct xdplb_flow_key *rk,
						     const struct xdplb_reverse *rev)
{
	struct xdplb_flow_key fk;
	struct xdplb_flow *flow, nf;
	struct xdplb_backend *be;

	flow_key_set(&fk, &rk->dst, rk->dport, &rev->vip, rev->vport, rk->proto, rk->family);
	flow = bpf_map_lookup_elem(&flows, &fk);
	if (flow && flow->backend == rev->backend && flow->gen == rev->gen) {
		if (!flow_lingered(flow->flags, flow->last_seen_ns))
			return flow;
		flow_delete(&fk);
	} else if (!flow) {
		be = backend_usable(rev->backend, rk->family);
		if (be && be->gen == rev->gen) {
			__builtin_memset(&nf, 0, sizeof(nf));
			nf.backend = rev->backend;
			nf.gen = rev->gen;
			/* Still counted: an evicted entry's connection never left the count. */
			nf.flags = XDPLB_FLOW_COUNTED;
			nf.last_seen_ns = bpf_ktime_get_ns();
			if (!bpf_map_update_elem(&flows, &fk, &nf, BPF_NOEXIST)) {
				flow_fill_add();
				count_reason(XDPLB_R_FLOW_RESTORED);
				return bpf_map_lookup_elem(&flows, &fk);
			}
		}
	}
	bpf_map_delete_elem(&reverse, rk);
	count_reason(XDPLB_R_TC_REPLY_STALE);
	return NULL;
}
