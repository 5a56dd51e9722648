/* Per-CPU counters: one per named outcome (enum xdplb_reason) and one set per backend.
 * Per-CPU arrays need no atomics; the controller sums the CPUs. */
#pragma once

#include <stdbool.h>

#include "lib/maps.h"
#include "lib/trace_switch.h"

/* For the packet trace (lib/trace.h): reason was counted for the packet being handled. With
 * no trace running, one load of the switch (lib/trace_switch.h); while one runs, an inlined
 * per-CPU array lookup and an OR. */
static __always_inline void trace_note_reason(__u32 reason)
{
#ifndef XDPLB_NO_TRACE
	__u32 zero = 0;
	struct xdplb_trace_cpu *t;

	if (!trace_switched_on())
		return;
	t = bpf_map_lookup_elem(&trace_reasons, &zero);
	if (t)
		t->reasons |= 1ull << (reason & 63);
#endif
}

static __always_inline void count_reason(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&reasons, &reason);

	if (c)
		*c += 1;
	trace_note_reason(reason);
}

/* Passive health: backend id answered a new connection's SYN with an RST. */
static __always_inline void count_refused(__u32 id)
{
	struct xdplb_backend_stats *s = bpf_map_lookup_elem(&backend_stats, &id);

	if (s)
		s->refused++;
}

static __always_inline void count_backend(__u32 id, __u32 bytes, bool new_flow)
{
	struct xdplb_backend_stats *s = bpf_map_lookup_elem(&backend_stats, &id);

	if (!s)
		return;
	s->packets++;
	s->bytes += bytes;
	if (new_flow)
		s->new_flows++;
}
