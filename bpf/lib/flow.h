/* The flow table: a forward entry (client 5-tuple -> backend) read by XDP on every packet, and
 * next to it a reverse entry (reply 5-tuple -> VIP:vport) that the TC program needs to undo
 * the DNAT on replies.
 *
 * Lifecycle (TCP): XDP marks the client's FIN, TC the backend's FIN (in the forward entry),
 * either an RST; whoever sees the second FIN (or the RST) closes the flow: both entries are
 * marked CLOSED and linger XDPLB_FLOW_LINGER_NS for the last ACKs. After that a reply matches
 * nothing (both entries are deleted, the reply untouched) and the client's next packet is a
 * new flow. A backend id given to a new backend bumps its generation: flows of the old one are
 * re-placed and their replies no longer matched.
 *
 * The reply path reads the reverse entry and the backend's (an array: no hash lookup) only;
 * the forward entry only on a FIN or RST. A lookup marks an LRU entry as used, so reading the
 * forward entry on every reply would make a flood's answered SYNs look as used as an idle
 * established connection, whose entry the LRU would then evict in their place. The two entries
 * are kept together: a TCP flow's reverse entry waits in reverse_new until the client's
 * packet after its SYN (lib/maps.h: a SYN flood churns that table, not the established
 * connections' one); XDP puts back a reverse entry the LRU evicted alone
 * (XDPLB_R_FLOW_RESTORED); a forward entry evicted alone comes back with the client's next
 * packet (placed as a mid-flow packet, by the ring). */
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

/* The clock of a live flow's last_seen_ns: the coarse monotonic clock (CLOCK_MONOTONIC_COARSE,
 * the timekeeper's last tick: at most one tick behind CLOCK_MONOTONIC, no clocksource read).
 * Its readers -- flow_touch's XDPLB_FLOW_TOUCH_NS, the daemon's idle timeout, the census's
 * "recent" window -- count in seconds. Reading the TSC (bpf_ktime_get_ns) was 15% of the XDP
 * program's time on this VM (perf). A close is stamped with bpf_ktime_get_ns, as the linger
 * is timed with it. */
static __always_inline __u64 flow_clock(void)
{
	return bpf_ktime_get_coarse_ns();
}

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

/* The key a reply of this flow from backend be (DNATed to port bport) arrives with:
 * be:bport -> client:cport. */
static __always_inline void reverse_key_of(const struct xdplb_flow_key *fwd,
					   const struct xdplb_backend *be, __be16 bport,
					   struct xdplb_flow_key *rk)
{
	flow_key_set(rk, &be->addr, bport, &fwd->src, fwd->sport, fwd->proto, fwd->family);
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
 * an RST or at the second side's FIN; whoever closes it stamps the time and returns true (and
 * must mark the other entry). Atomic ors: the two FINs may be seen at once on two CPUs, and
 * exactly one of them sees both. */
static __always_inline bool flow_end_seen(__u32 *flags, __u64 *last_seen,
					  const struct packet *pkt, __u32 side)
{
	const __u32 both = XDPLB_FLOW_FIN_CLIENT | XDPLB_FLOW_FIN_BACKEND;
	__u32 old;

	if (!tcp_ends_flow(pkt) || (*flags & XDPLB_FLOW_CLOSED))
		return false;
	if (!pkt->tcp->rst) {
		old = __sync_fetch_and_or(flags, side);
		if (((old | side) & both) != both)
			return false;
	}
	old = __sync_fetch_and_or(flags, XDPLB_FLOW_CLOSED);
	if (old & XDPLB_FLOW_CLOSED)
		return false;
	*last_seen = bpf_ktime_get_ns();
	count_reason(XDPLB_R_FLOW_CLOSED);
	return true;
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

/* The reverse table of a flow: reverse_new until the flow is established. */
static __always_inline void *reverse_map(__u32 flags)
{
	return flags & XDPLB_FLOW_ESTABLISHED ? (void *)&reverse : (void *)&reverse_new;
}

static __always_inline int reverse_remember(const struct xdplb_flow_key *key, __u32 id,
					    const struct xdplb_backend *be, __be16 bport,
					    __u32 flags)
{
	struct xdplb_reverse rev;
	struct xdplb_flow_key rk;

	__builtin_memset(&rev, 0, sizeof(rev));
	rev.vip = key->dst;
	rev.vport = key->dport;
	rev.backend = id;
	rev.gen = be->gen;
	reverse_key_of(key, be, bport, &rk);
	return bpf_map_update_elem(reverse_map(flags), &rk, &rev, BPF_ANY);
}

/* Store (or replace: the entry exists) the flow's forward and reverse entries, DNATed to
 * be:bport; counted: the flow is a live connection of backend id (not a stray FIN or RST).
 * Fails when an LRU map cannot take the entry; the packet is forwarded anyway, uncounted. A
 * replaced entry must have been uncounted first. */
static __always_inline int flow_remember(const struct xdplb_flow_key *key, __u32 id,
					 const struct xdplb_backend *be, __be16 bport, __u64 now,
					 const struct packet *pkt, bool replace)
{
	struct xdplb_flow flow;

	__builtin_memset(&flow, 0, sizeof(flow));
	flow.backend = id;
	flow.gen = be->gen;
	flow.bport = bport;
	flow.flags = (tcp_ends_flow(pkt) ? 0 : XDPLB_FLOW_COUNTED) |
		     (tcp_opens_flow(pkt) ? 0 : XDPLB_FLOW_ESTABLISHED);
	flow.last_seen_ns = now;
	if (reverse_remember(key, id, be, bport, flow.flags))
		return -1;
	if (bpf_map_update_elem(&flows, key, &flow, BPF_ANY))
		return -1;
	if (!replace)
		flow_fill_add();
	if (flow.flags & XDPLB_FLOW_COUNTED)
		conn_add(id, 1);
	return 0;
}

/* XDP: the client's first packet after its SYN: the reverse entry moves to reverse. */
static __always_inline void flow_established(struct xdplb_flow *flow,
					     const struct xdplb_flow_key *key,
					     const struct xdplb_backend *be)
{
	struct xdplb_flow_key rk;
	struct xdplb_reverse *rev;

	if (__sync_fetch_and_or(&flow->flags, XDPLB_FLOW_ESTABLISHED) & XDPLB_FLOW_ESTABLISHED)
		return;
	reverse_key_of(key, be, flow->bport, &rk);
	rev = bpf_map_lookup_elem(&reverse_new, &rk);
	if (rev && !bpf_map_update_elem(&reverse, &rk, rev, BPF_ANY))
		bpf_map_delete_elem(&reverse_new, &rk);
	else if (!rev)
		reverse_remember(key, flow->backend, be, flow->bport, XDPLB_FLOW_ESTABLISHED);
}

/* A flow leaves its backend: its replies must not be matched any more. Only while the id still
 * names the backend the flow was placed on; otherwise its reverse key is unknown, and the
 * generation check on the reply path deletes that entry. */
static __always_inline void reverse_forget(const struct xdplb_flow_key *key,
					   const struct xdplb_flow *flow)
{
	__u32 old_id = flow->backend;
	struct xdplb_backend *old = bpf_map_lookup_elem(&backends, &old_id);
	struct xdplb_flow_key rk;

	if (!old || old->gen != flow->gen)
		return;
	reverse_key_of(key, old, flow->bport, &rk);
	bpf_map_delete_elem(reverse_map(flow->flags), &rk);
}

/* Both entries of a flow whose connection is over. */
static __always_inline void flow_forget(const struct xdplb_flow_key *key, struct xdplb_flow *flow)
{
	flow_uncount(&flow->flags, flow->backend);
	reverse_forget(key, flow);
	flow_delete(key);
}

static __always_inline void flow_touch(struct xdplb_flow *flow, const struct xdplb_flow_key *key,
				       const struct xdplb_backend *be, __u64 now)
{
	struct xdplb_flow_key rk;

	/* A closed flow's last_seen is the time it closed: the linger runs from there. */
	if ((flow->flags & XDPLB_FLOW_CLOSED) || since(now, flow->last_seen_ns) < XDPLB_FLOW_TOUCH_NS)
		return;
	flow->last_seen_ns = now;
	/* The reverse entry lives in its own LRU and may have been evicted alone; replies would
	 * then leave un-NATed and be dropped as martians. Put it back. */
	reverse_key_of(key, be, flow->bport, &rk);
	if (!bpf_map_lookup_elem(reverse_map(flow->flags), &rk) &&
	    !reverse_remember(key, flow->backend, be, flow->bport, flow->flags))
		count_reason(XDPLB_R_FLOW_RESTORED);
}

/* The reverse entry of a flow that closed: replies match for the linger only. */
static __always_inline void reverse_closed(struct xdplb_reverse *rev, __u64 closed_ns)
{
	rev->closed_ns = closed_ns;
	__sync_fetch_and_or(&rev->flags, XDPLB_FLOW_CLOSED);
}

/* XDP: the client's FIN or RST on a known flow (backend be). */
static __always_inline void flow_client_end(struct xdplb_flow *flow,
					    const struct xdplb_flow_key *key,
					    const struct xdplb_backend *be, const struct packet *pkt)
{
	struct xdplb_flow_key rk;
	struct xdplb_reverse *rev;

	if (!flow_end_seen(&flow->flags, &flow->last_seen_ns, pkt, XDPLB_FLOW_FIN_CLIENT))
		return;
	reverse_key_of(key, be, flow->bport, &rk);
	rev = bpf_map_lookup_elem(reverse_map(flow->flags), &rk);
	if (rev)
		reverse_closed(rev, flow->last_seen_ns);
}

/* The forward key of the flow whose reply (rk: backend -> client) matched rev. */
static __always_inline void forward_key_of(const struct xdplb_flow_key *rk,
					   const struct xdplb_reverse *rev,
					   struct xdplb_flow_key *fk)
{
	flow_key_set(fk, &rk->dst, rk->dport, &rev->vip, rev->vport, rk->proto, rk->family);
}

/* TC: the reverse entry a reply matches (established flows first), or NULL. */
static __always_inline struct xdplb_reverse *reply_reverse(const struct xdplb_flow_key *rk)
{
	struct xdplb_reverse *rev = bpf_map_lookup_elem(&reverse, rk);

	return rev ? rev : bpf_map_lookup_elem(&reverse_new, rk);
}

/* TC: is the flow of this reply (rk, matched rev in map) gone? It ended a linger ago, or its
 * backend id now names another backend. Then its forward entry and rev are deleted. */
static __always_inline bool reply_stale(const struct xdplb_flow_key *rk,
					const struct xdplb_reverse *rev, void *map)
{
	struct xdplb_backend *be = bpf_map_lookup_elem(&backends, &rev->backend);
	struct xdplb_flow_key fk;
	struct xdplb_flow *flow;

	if (be && be->gen == rev->gen && !flow_lingered(rev->flags, rev->closed_ns))
		return false;
	forward_key_of(rk, rev, &fk);
	flow = bpf_map_lookup_elem(&flows, &fk);
	if (flow && flow->backend == rev->backend && flow->gen == rev->gen)
		flow_delete(&fk);
	bpf_map_delete_elem(map, rk);
	count_reason(XDPLB_R_TC_REPLY_STALE);
	return true;
}

/* TC and XDP (routed replies): the reverse entry of the live flow a reply belongs to (established flows first), or
 * NULL; a stale entry met on the way is deleted. The two tables may hold one reply key each:
 * an old flow's entry XDP could not forget (its backend id was given again to the same
 * address) and a new connection's on a reused client port, whose reply must still match. */
static __always_inline struct xdplb_reverse *reply_live(const struct xdplb_flow_key *rk)
{
	struct xdplb_reverse *rev = bpf_map_lookup_elem(&reverse, rk);

	if (rev && !reply_stale(rk, rev, &reverse))
		return rev;
	rev = bpf_map_lookup_elem(&reverse_new, rk);
	if (rev && !reply_stale(rk, rev, &reverse_new))
		return rev;
	return NULL;
}

/* TC: the backend's FIN or RST on reply rk of rev. An RST uncounts the connection; the
 * closing FIN or RST closes both entries. */
static __always_inline void reply_end(const struct xdplb_flow_key *rk, struct xdplb_reverse *rev,
				      const struct packet *pkt)
{
	struct xdplb_flow_key fk;
	struct xdplb_flow *flow;

	forward_key_of(rk, rev, &fk);
	flow = bpf_map_lookup_elem(&flows, &fk);
	if (!flow || flow->backend != rev->backend || flow->gen != rev->gen) {
		if (pkt->tcp->rst) /* the forward entry was evicted: the RST still ends the flow */
			reverse_closed(rev, bpf_ktime_get_ns());
		return;
	}
	if (pkt->tcp->rst) {
		flow_uncount(&flow->flags, flow->backend);
		/* Refused: no connection was there (the backend's server is gone, its backlog full). */
		if (!(flow->flags & XDPLB_FLOW_ESTABLISHED))
			count_refused(flow->backend);
	}
	if (flow_end_seen(&flow->flags, &flow->last_seen_ns, pkt, XDPLB_FLOW_FIN_BACKEND))
		reverse_closed(rev, flow->last_seen_ns);
}
