/* Backend selection for new flows, one function (select_backend) for every client path: XDP
 * (external clients), TC hairpin (containers calling a VIP) and the socket hooks (host-local
 * clients). The service's scheduler decides:
 *   maglev      the pool's Maglev ring at the flow's hash. Built by the controller as a pure
 *               function of the backend list, so every node holding the same list places a
 *               flow on the same backend, with or without its flow entry.
 *   weighted    the same ring walked one slot per new flow (pool_turns). Slots are
 *               weight-proportional, so every XDPLB_MAGLEV_RING_SIZE new flows split by weight.
 *   round-robin the member list in turn: equal turns, weights ignored.
 *   least-conn  the member with the fewest active connections per weight (lib/conns.h); ties
 *               go to the larger weight, then to the first member from a rotating start, so
 *               equal members take turns.
 * Inactive members are skipped. The member list (pools) and the ring hold the same backends. */
#pragma once

#include <stdbool.h>

#include "lib/conns.h"
#include "lib/flow_hash.h"
#include "lib/maps.h"

/* Slots or members tried after an inactive one before a turn-taking pick gives up (the ring
 * and the list may briefly hold an id the controller is turning off). */
#define XDPLB_SELECT_TRIES 8

/* The backend entry of id if it may take packets of this family, else NULL. */
static __always_inline struct xdplb_backend *backend_usable(__u32 id, __u8 family)
{
	struct xdplb_backend *be;

	if (id >= XDPLB_MAX_BACKENDS) /* also XDPLB_NO_BACKEND */
		return NULL;
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be || !(be->flags & XDPLB_BACKEND_ACTIVE) || be->family != family)
		return NULL;
	return be;
}

/* The port a new flow of svc placed on be is DNATed to: the service entry's (a port range
 * mapped onto a range gives each port its own), else the backend's. Every client path places
 * through this; a known flow keeps the port it was placed with. */
static __always_inline __be16 service_backend_port(const struct xdplb_service *svc,
						   const struct xdplb_backend *be)
{
	return svc->backend_port ? svc->backend_port : be->port;
}

/* The backend id in slot `slot` of the pool's ring, or XDPLB_NO_BACKEND. */
static __always_inline __u32 ring_slot(__u32 pool, __u32 slot)
{
	__u32 key = pool * XDPLB_MAGLEV_RING_SIZE + slot, *id;

	if (pool >= XDPLB_MAX_POOLS || slot >= XDPLB_MAGLEV_RING_SIZE)
		return XDPLB_NO_BACKEND;
	id = bpf_map_lookup_elem(&ring, &key);
	return id ? *id : XDPLB_NO_BACKEND;
}

/* The backend id the service's ring holds for this flow, or XDPLB_NO_BACKEND: at the flow's
 * hash, or with source affinity at its client address's hash (probe: see
 * xdplb_affinity_slot). */
static __always_inline __u32 ring_pick(const struct xdplb_service *svc,
				       const struct xdplb_flow_key *key, __u32 probe)
{
	if (svc->flags & XDPLB_SERVICE_AFFINITY_SOURCE)
		return ring_slot(svc->pool, xdplb_affinity_slot(key, probe));
	return ring_slot(svc->pool, xdplb_flow_slot(key));
}

/* The pool's next turn (shared by all CPUs). Kept to 32 bits so the index math stays in 32-bit
 * registers, whose bounds the verifier tracks (a 2^32 wrap only shifts the rotation once). */
static __always_inline __u32 pool_turn(__u32 pool)
{
	__u64 *turn = bpf_map_lookup_elem(&pool_turns, &pool);

	return turn ? (__u32)__sync_fetch_and_add(turn, 1) : 0;
}

static __always_inline __u32 weighted_pick(__u32 pool, __u8 family, struct xdplb_backend **out)
{
	__u32 turn = pool_turn(pool) % XDPLB_MAGLEV_RING_SIZE, i, id;

	for (i = 0; i < XDPLB_SELECT_TRIES; i++) {
		id = ring_slot(pool, (turn + i) % XDPLB_MAGLEV_RING_SIZE);
		*out = backend_usable(id, family);
		if (*out)
			return id;
	}
	return XDPLB_NO_BACKEND;
}

/* Members in use of a pool's list, bounded by the array. */
static __always_inline __u32 pool_count(const struct xdplb_pool *p)
{
	return p->count < XDPLB_MAX_POOL_MEMBERS ? p->count : XDPLB_MAX_POOL_MEMBERS;
}

static __always_inline __u32 round_robin_pick(__u32 pool, __u8 family, struct xdplb_backend **out)
{
	struct xdplb_pool *p = bpf_map_lookup_elem(&pools, &pool);
	__u32 count, i, idx, id;

	if (!p || !(count = pool_count(p)))
		return XDPLB_NO_BACKEND;
	idx = pool_turn(pool) % count;
	for (i = 0; i < XDPLB_SELECT_TRIES; i++, idx++) {
		if (idx >= count)
			idx = 0;
		/* clang knows idx < count <= the array size and would drop this check, which the
		 * verifier needs: hide idx from it first. */
		barrier_var(idx);
		if (idx >= XDPLB_MAX_POOL_MEMBERS)
			break;
		id = p->members[idx].backend;
		*out = backend_usable(id, family);
		if (*out)
			return id;
	}
	return XDPLB_NO_BACKEND;
}

/* State of a scan over a pool's members (bpf_loop callbacks). The pool's entry is looked up
 * once, at scan_begin, not once per member. */
struct member_scan {
	struct xdplb_pool *p; /* NULL: no such pool */
	__u32 count;
	__u32 start; /* first member visited; the scan wraps around */
	__u32 family;
	__u32 want; /* pool_has: the id looked for */
	__u32 best; /* least-conn: best id so far, or XDPLB_NO_BACKEND */
	__u32 best_weight;
	__u32 usable_only; /* least-conn: skip members that may not take the flow */
	__s64 best_conns;
};

/* Starts a scan of the pool's members; returns how many there are (0: none, no scan). */
static __always_inline __u32 scan_begin(struct member_scan *s, __u32 pool, __u8 family)
{
	struct xdplb_pool *p = bpf_map_lookup_elem(&pools, &pool);

	__builtin_memset(s, 0, sizeof(*s));
	s->p = p;
	s->family = family;
	s->want = XDPLB_NO_BACKEND;
	s->best = XDPLB_NO_BACKEND;
	s->best_weight = 1;
	s->count = p ? pool_count(p) : 0;
	return s->count;
}

/* The member visited at step i of the scan, or NULL past the list (also when the controller
 * shortened it meanwhile: the slots past its end are zeroed, not members). */
static __always_inline struct xdplb_pool_member *scan_member(__u32 i, struct member_scan *s)
{
	struct xdplb_pool *p = s->p;
	__u32 idx = s->start + i;

	if (!p)
		return NULL;
	if (idx >= s->count)
		idx -= s->count;
	if (idx >= p->count)
		return NULL;
	barrier_var(idx); /* keep the bound check (round_robin_pick) */
	if (idx >= XDPLB_MAX_POOL_MEMBERS)
		return NULL;
	return &p->members[idx];
}

/* Members one least-conn callback visits: each callback's return costs a return thunk on CPUs
 * with return-stack mitigations (SRSO here), so the scan takes them in chunks. */
#define XDPLB_LEAST_CONN_CHUNK 8

/* Least-conn: member i of the scan weighed against the best so far; false past the list. */
static __always_inline bool least_conn_member(__u32 i, struct member_scan *s)
{
	struct xdplb_pool_member *m;
	__s64 conns, lhs, rhs;
	__u32 id, weight;

	if (i >= s->count)
		return false;
	m = scan_member(i, s);
	if (!m)
		return false;
	id = m->backend;
	weight = m->weight ? m->weight : 1;
	if (s->usable_only && !backend_usable(id, (__u8)s->family))
		return true;
	conns = conns_of(id);
	/* conns / weight < best_conns / best_weight, without division; on a tie the larger
	 * weight wins (a backend in slow start loses ties), else the first from the start. */
	lhs = conns * s->best_weight;
	rhs = s->best_conns * weight;
	if (s->best == XDPLB_NO_BACKEND || lhs < rhs || (lhs == rhs && weight > s->best_weight)) {
		s->best = id;
		s->best_conns = conns;
		s->best_weight = weight;
	}
	return true;
}

static long least_conn_visit(__u32 chunk, void *ctx)
{
	struct member_scan *s = ctx;
	__u32 k;

#pragma unroll
	for (k = 0; k < XDPLB_LEAST_CONN_CHUNK; k++)
		if (!least_conn_member(chunk * XDPLB_LEAST_CONN_CHUNK + k, s))
			return 1;
	return 0;
}

static __always_inline __u32 least_conn_pick(__u32 pool, __u8 family, struct xdplb_backend **out)
{
	struct member_scan s;
	__u32 chunks;

	if (!scan_begin(&s, pool, family))
		return XDPLB_NO_BACKEND;
	s.start = pool_turn(pool) % s.count;
	chunks = (s.count + XDPLB_LEAST_CONN_CHUNK - 1) / XDPLB_LEAST_CONN_CHUNK;
	/* First over the counts alone (the member list holds usable backends but for a moment
	 * while the controller turns one off): if the least loaded member is usable it is also
	 * the least loaded usable one. Only if it is not, scan again, skipping the unusable. */
	bpf_loop(chunks, least_conn_visit, &s, 0);
	*out = backend_usable(s.best, family);
	if (*out)
		return s.best;
	s.usable_only = 1;
	s.best = XDPLB_NO_BACKEND;
	s.best_weight = 1;
	s.best_conns = 0;
	bpf_loop(chunks, least_conn_visit, &s, 0);
	*out = backend_usable(s.best, family);
	return *out ? s.best : XDPLB_NO_BACKEND;
}

/* The backend for a new flow of svc, or XDPLB_NO_BACKEND (then *out is NULL). by_hash: place
 * by the ring at the flow's hash whatever the scheduler (a mid-flow packet of a flow this node
 * does not know: the hash is the one placement every node agrees on). A service with source
 * affinity always places by the ring (the controller only allows it with maglev). probe: the
 * socket hooks' retry index for affinity services (0 elsewhere). */
static __always_inline __u32 select_backend_probe(const struct xdplb_service *svc,
						  const struct xdplb_flow_key *key, bool by_hash,
						  __u32 probe, struct xdplb_backend **out)
{
	__u32 pool = svc->pool, id;

	if (svc->flags & XDPLB_SERVICE_AFFINITY_SOURCE)
		by_hash = true;
	switch (by_hash ? XDPLB_SCHED_MAGLEV : svc->scheduler) {
	case XDPLB_SCHED_WEIGHTED:
		return weighted_pick(pool, key->family, out);
	case XDPLB_SCHED_ROUND_ROBIN:
		return round_robin_pick(pool, key->family, out);
	case XDPLB_SCHED_LEAST_CONN:
		return least_conn_pick(pool, key->family, out);
	default:
		id = ring_pick(svc, key, probe);
		*out = backend_usable(id, key->family);
		return *out ? id : XDPLB_NO_BACKEND;
	}
}

static __always_inline __u32 select_backend(const struct xdplb_service *svc,
					    const struct xdplb_flow_key *key, bool by_hash,
					    struct xdplb_backend **out)
{
	return select_backend_probe(svc, key, by_hash, 0, out);
}

static long pool_has_visit(__u32 i, void *ctx)
{
	struct member_scan *s = ctx;
	struct xdplb_pool_member *m = scan_member(i, s);

	if (!m)
		return 1;
	if (m->backend != s->want)
		return 0;
	s->best = m->backend;
	return 1;
}

/* Whether backend id is in the pool's member list (takes new flows: not drained or removed).
 * An empty list counts as "yes": there is nowhere else to go. */
static __always_inline bool pool_has(__u32 pool, __u32 id)
{
	struct member_scan s;

	if (!scan_begin(&s, pool, 0))
		return true;
	s.want = id;
	bpf_loop(s.count, pool_has_visit, &s, 0);
	return s.best == id;
}

/* A SYN on a known flow is either a new connection reusing an old 5-tuple (finished flows stay
 * in the table until the LRU evicts them) or the client retrying a SYN whose answer was lost,
 * which must reach the same backend. maglev: it goes where the ring places new flows now --
 * the same backend unless the ring changed -- so a drained or replaced backend gets no new
 * connections. The other schedulers would send a retry elsewhere if they chose afresh, so the
 * flow keeps its backend while that backend is still a member of the pool (not drained or
 * removed); only otherwise is it placed afresh. (An unusable backend is re-placed anyway.) */
static __always_inline bool syn_moves_flow(const struct xdplb_service *svc,
					   const struct xdplb_flow_key *key, __u32 id)
{
	__u32 now_id;

	if (svc->scheduler != XDPLB_SCHED_MAGLEV && !(svc->flags & XDPLB_SERVICE_AFFINITY_SOURCE))
		return !pool_has(svc->pool, id);
	now_id = ring_pick(svc, key, 0);
	return now_id != id && now_id != XDPLB_NO_BACKEND;
}
