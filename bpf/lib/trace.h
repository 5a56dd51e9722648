/* Packet trace (`xdplb trace`): off unless trace_conf[0].on and its lease (.until_ns) has not
 * run out. Each program's entry keeps a struct trace_note of what it decided and calls
 * trace_packet() once before it returns; with the trace off that is one inlined array lookup
 * and a test (the clock is read only while .on). */
#pragma once

#include <stdbool.h>

#include "lib/maps.h"

/* What a program noted about a packet for the trace. */
struct trace_note {
	__u32 backend;   /* XDPLB_NO_BACKEND: none chosen */
	__u32 pool;      /* XDPLB_NO_POOL: no service */
	__u32 scheduler;
	bool parsed;     /* pkt->key holds the packet's 5-tuple */
};

#define TRACE_NOTE_INIT { .backend = XDPLB_NO_BACKEND, .pool = XDPLB_NO_POOL }

static __always_inline bool trace_addr_eq(const union xdplb_addr *a, const union xdplb_addr *b, __u32 family)
{
	if (family == XDPLB_AF_INET)
		return a->v4 == b->v4;
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] && a->v6[2] == b->v6[2] && a->v6[3] == b->v6[3];
}

static __always_inline bool trace_matches(const struct xdplb_trace_conf *c, __u32 hook,
					  const struct xdplb_flow_key *key, const struct trace_note *n)
{
	if (c->match & XDPLB_TRACE_MATCH_CLIENT) {
		/* requests carry the client as their source, replies as their destination */
		bool request = hook == XDPLB_TRACE_XDP || hook == XDPLB_TRACE_TC_HAIRPIN ||
			       hook == XDPLB_TRACE_TC_HAIRPIN_FRAGMENT;
		const union xdplb_addr *peer = request ? &key->src : &key->dst;

		if (key->family != c->client_family || !trace_addr_eq(peer, &c->client, c->client_family))
			return false;
	}
	if (c->match & XDPLB_TRACE_MATCH_SERVICE) {
		/* a request names its service's pool; a reply only the backend replying */
		if (n->pool != XDPLB_NO_POOL)
			return (n->pool >> 1) == c->slot;
		if (n->backend >= XDPLB_MAX_BACKENDS)
			return false;
		return (c->backends[(n->backend >> 6) & (XDPLB_TRACE_BACKEND_WORDS - 1)] >> (n->backend & 63)) & 1;
	}
	return true;
}

/* Runs for every packet while a trace is on: the reasons counted since trace_seen was brought
 * up to date are this packet's. */
static __always_inline int trace_emit_body(const struct xdplb_trace_conf *c, __u32 hook,
					   const struct xdplb_flow_key *key, const struct trace_note *n,
					   int verdict)
{
	struct xdplb_trace_seen *seen;
	struct xdplb_trace_event *e;
	__u64 bits = 0, *now;
	__u32 zero = 0, r;

	if (!c || !key || !n)
		return 0;
	seen = bpf_map_lookup_elem(&trace_seen, &zero);
	if (!seen)
		return 0;
	for (r = 0; r < XDPLB_R_MAX; r++) {
		now = bpf_map_lookup_elem(&reasons, &r);
		if (now && *now != seen->count[r]) {
			bits |= 1ull << r;
			seen->count[r] = *now;
		}
	}
	if (!n->parsed || !trace_matches(c, hook, key, n))
		return 0;
	e = bpf_ringbuf_reserve(&trace_ring, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->reasons = bits;
	e->key = *key;
	e->hook = hook;
	e->verdict = verdict;
	e->backend = n->backend;
	e->pool = n->pool;
	e->scheduler = n->scheduler;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A global function: the verifier checks it once, not once per path that reaches it. */
__noinline int trace_emit(const struct xdplb_trace_conf *c, __u32 hook, const struct xdplb_flow_key *key,
			  const struct trace_note *n, int verdict)
{
	return trace_emit_body(c, hook, key, n, verdict);
}

/* trace_conf[0] if a trace is on and its lease has not run out, else NULL. */
static __always_inline const struct xdplb_trace_conf *trace_on(void)
{
#ifdef XDPLB_NO_TRACE /* compiled out: for measuring the hook's cost (cmake XDPLB_BPF_CFLAGS) */
	return NULL;
#else
	__u32 zero = 0;
	struct xdplb_trace_conf *c = bpf_map_lookup_elem(&trace_conf, &zero);

	return c && c->on && bpf_ktime_get_ns() < c->until_ns ? c : NULL;
#endif
}

/* key: the packet's 5-tuple (as parsed, before any rewrite). */
static __always_inline void trace_packet(__u32 hook, const struct xdplb_flow_key *key,
					 const struct trace_note *n, int verdict)
{
	const struct xdplb_trace_conf *c = trace_on();

	if (c)
		trace_emit(c, hook, key, n, verdict);
}

/* trace_packet for a program whose own stack leaves no room for a call's frame (the two
 * together may not pass 512 bytes): the same, inlined (verified once per path reaching it). */
static __always_inline void trace_packet_inlined(__u32 hook, const struct xdplb_flow_key *key,
						 const struct trace_note *n, int verdict)
{
	const struct xdplb_trace_conf *c = trace_on();

	if (c)
		trace_emit_body(c, hook, key, n, verdict);
}
