/* Backend selection: the Maglev ring of a pool, indexed by the flow hash. The ring is built by
 * the controller (a pure function of the backend list), so every node holding the same list
 * places a flow on the same backend, with or without its flow entry. */
#pragma once

#include "lib/flow_hash.h"
#include "lib/maps.h"

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

/* The backend id the pool's ring holds for this flow, or XDPLB_NO_BACKEND. */
static __always_inline __u32 ring_pick(__u32 pool, const struct xdplb_flow_key *key)
{
	__u32 slot, *id;

	if (pool >= XDPLB_MAX_POOLS)
		return XDPLB_NO_BACKEND;
	slot = pool * XDPLB_MAGLEV_RING_SIZE + xdplb_flow_slot(key);
	id = bpf_map_lookup_elem(&ring, &slot);
	return id ? *id : XDPLB_NO_BACKEND;
}

/* A SYN on a known flow is a new connection reusing an old 5-tuple (finished flows stay in
 * the table until the LRU evicts them). It goes where the ring places new flows now, so a
 * drained or replaced backend gets no new connections; the old entry is replaced. */
static __always_inline bool syn_moves_flow(__u32 pool, const struct xdplb_flow_key *key, __u32 id)
{
	__u32 now_id = ring_pick(pool, key);

	return now_id != id && now_id != XDPLB_NO_BACKEND;
}
