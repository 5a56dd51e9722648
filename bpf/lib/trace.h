/* Packet trace (`xdplb trace`): off unless the trace switch (lib/trace_switch.h) and
 * trace_conf[0].on are set and its lease (.until_ns) has not run out. Each program's entry keeps
 * a struct trace_note of what it decided and calls trace_packet() once before it returns; with
 * the trace off that is one load of the switch and a test (trace_conf is read, and the clock,
 * only while it is on). The packet's reasons are the bits count_reason noted in trace_reasons
 * (lib/counters.h). */
#pragma once

#include <stdbool.h>

#include "lib/maps.h"
#include "lib/trace_switch.h"

/* What a program noted about a packet for the trace. */
struct trace_note {
	__u32 backend;   /* XDPLB_NO_BACKEND: none chosen */
	__u32 pool;      /* XDPLB_NO_POOL: no service */
	__u32 scheduler;
	bool parsed;     /* pkt->key holds the packet's 5-tuple */
	bool has_client; /* .client is the packet's client where the key does not show it */
	union xdplb_addr client; /* a hairpin reply's: the caller its reverse NAT puts back */
};

#define TRACE_NOTE_INIT { .backend = XDPLB_NO_BACKEND, .pool = XDPLB_NO_POOL }

static __always_inline bool trace_addr_eq(const union xdplb_addr *a, const union xdplb_addr *b, __u32 family)
{
	if (family == XDPLB_AF_INET)
		return a->v4 == b->v4;
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] && a->v6[2] == b->v6[2] && a->v6[3] == b->v6[3];
}

/* Is the packet the filter's client's? Requests carry the client as their source, replies as
 * their destination, a hairpin reply in its note (its destination is the bridge's SNAT
 * address); a host-local call (no source yet) is the host's. */
static __always_inline bool trace_client_matches(const struct xdplb_trace_conf *c, __u32 hook,
						 const struct xdplb_flow_key *key,
						 const struct trace_note *n)
{
	const union xdplb_addr *peer;

	if (hook == XDPLB_TRACE_SOCK_CONNECT || hook == XDPLB_TRACE_SOCK_SENDMSG)
		return c->match & XDPLB_TRACE_MATCH_HOST;
	if (n->has_client)
		peer = &n->client;
	else if (hook == XDPLB_TRACE_XDP || hook == XDPLB_TRACE_XDP_ICMP ||
		 hook == XDPLB_TRACE_XDP_FRAGMENT || hook == XDPLB_TRACE_TC_HAIRPIN ||
		 hook == XDPLB_TRACE_TC_HAIRPIN_FRAGMENT)
		peer = &key->src;
	else
		peer = &key->dst;
	return key->family == c->client_family && trace_addr_eq(peer, &c->client, c->client_family);
}

static __always_inline bool trace_matches(const struct xdplb_trace_conf *c, __u32 hook,
					  const struct xdplb_flow_key *key, const struct trace_note *n)
{
	if ((c->match & XDPLB_TRACE_MATCH_CLIENT) && !trace_client_matches(c, hook, key, n))
		return false;
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

/* The reasons count_reason noted on this CPU since the last take (lib/counters.h): this
 * packet's. Cleared for the next packet. */
static __always_inline __u64 trace_take_reasons(void)
{
	__u32 zero = 0;
	struct xdplb_trace_cpu *t = bpf_map_lookup_elem(&trace_reasons, &zero);
	__u64 taken;

	if (!t)
		return 0;
	taken = t->reasons;
	t->reasons = 0;
	return taken;
}

/* Runs for every packet while a trace is on: takes the packet's reasons (so the next packet
 * starts from none), then the filter; only a matching packet costs more. */
static __always_inline int trace_emit_body(const struct xdplb_trace_conf *c, __u32 hook,
					   const struct xdplb_flow_key *key, const struct trace_note *n,
					   int verdict)
{
	struct xdplb_trace_event *e;
	__u64 bits;

	if (!c || !key || !n)
		return 0;
	bits = trace_take_reasons();
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
	struct xdplb_trace_conf *c;
	struct xdplb_trace_cpu *t;
	__u64 tick;

	if (!trace_switched_on())
		return NULL;
	c = bpf_map_lookup_elem(&trace_conf, &zero);
	if (!c || !c->on)
		return NULL;
	/* The lease is checked once per tick per CPU (jiffies: an inlined load), on the coarse
	 * clock (a tick behind at most; a lease is seconds): a clock read per packet was most of
	 * what a trace cost a packet it did not match. */
	t = bpf_map_lookup_elem(&trace_reasons, &zero);
	if (!t)
		return NULL;
	tick = bpf_jiffies64();
	if (t->lease_jiffies != tick) {
		if (bpf_ktime_get_coarse_ns() >= c->until_ns) {
			/* a trace that did not renew its lease (killed): back to the switch's one load */
			trace_switch_off();
			return NULL;
		}
		t->lease_jiffies = tick;
	}
	return c;
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
