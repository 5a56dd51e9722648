/* Active connections per backend, for least-conn and `xdplb status`. A flow entry carries
 * XDPLB_FLOW_COUNTED while it is counted in backend_conns, and the flag is cleared with an
 * atomic and, so however many CPUs see the end of a connection (the client's FIN and RST on
 * XDP, the backend's RST on TC, a re-placement), its backend's count goes down once.
 * What is not seen: a backend's FIN (the client's follows it), and an entry the LRU evicts
 * while still counted; the daemon uncounts flows idle too long (XDPLB_FLOW_IDLE). */
#pragma once

#include <stdbool.h>

#include "lib/maps.h"
#include "lib/parse.h"

static __always_inline void conn_add(__u32 id, __s64 delta)
{
	__s64 *c = bpf_map_lookup_elem(&backend_conns, &id);

	if (c)
		__sync_fetch_and_add(c, delta);
}

/* The backend's active connections, never below 0 (a decrement may overtake its increment). */
static __always_inline __s64 conns_of(__u32 id)
{
	__s64 *c = bpf_map_lookup_elem(&backend_conns, &id);

	return c && *c > 0 ? *c : 0;
}

/* The connection of a counted flow entry ended (or moved away from backend id). */
static __always_inline void flow_uncount(__u32 *flags, __u32 id)
{
	__u32 old = __sync_fetch_and_and(flags, ~(XDPLB_FLOW_COUNTED | XDPLB_FLOW_IDLE));

	if (old & XDPLB_FLOW_COUNTED)
		conn_add(id, -1);
}

/* A packet on a known flow that keeps its backend: count it again if the daemon uncounted it
 * as idle, or if it opens a new connection on a 5-tuple whose last one ended (SYN). */
static __always_inline void flow_recount(__u32 *flags, __u32 id, bool opens)
{
	__u32 f = *flags, old;

	if (f & XDPLB_FLOW_IDLE)
		__sync_fetch_and_and(flags, ~XDPLB_FLOW_IDLE);
	else if (!opens || (f & XDPLB_FLOW_COUNTED))
		return;
	old = __sync_fetch_and_or(flags, XDPLB_FLOW_COUNTED);
	if (!(old & XDPLB_FLOW_COUNTED))
		conn_add(id, 1);
}

/* A client's TCP SYN (not SYN-ACK): the start of a connection. */
static __always_inline bool tcp_opens_flow(const struct packet *pkt)
{
	return pkt->tcp && pkt->tcp->syn && !pkt->tcp->ack;
}

/* FIN or RST: the end of the connection as far as counting goes (a half-closed connection
 * whose backend still sends is no longer counted). */
static __always_inline bool tcp_ends_flow(const struct packet *pkt)
{
	return pkt->tcp && (pkt->tcp->fin || pkt->tcp->rst);
}

/* Update a known flow's count for this packet of the client. */
static __always_inline void flow_count_packet(__u32 *flags, __u32 id, const struct packet *pkt)
{
	if (tcp_ends_flow(pkt))
		flow_uncount(flags, id);
	else
		flow_recount(flags, id, tcp_opens_flow(pkt));
}
