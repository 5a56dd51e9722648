/* The trace switch: 1 while `xdplb trace` runs, else 0. With no trace running, every program
 * pays one load of it per counted reason and one per packet, and nothing else for the trace:
 * it is a global variable, which the verifier turns into a constant address, where a map lookup (even an inlined one) costs the key's bounds check, the per-CPU
 * offset and the value's address arithmetic — each time count_reason runs.
 * Written by the controller (Datapath::start_trace / renew_trace / stop_trace, through the
 * programs the bridge's links run: the section's map, named
 * ".data.trace", is not pinned) and cleared by the programs when the
 * trace's lease has run out (a trace killed with -9).
 * Only the XDP/TC object has it (xdplb.bpf.c defines XDPLB_TRACE_SWITCH); the cgroup hooks run
 * once per connect, not per packet, and keep asking trace_conf. */
#pragma once

#include <stdbool.h>

#ifdef XDPLB_TRACE_SWITCH
/* Its own section (its own one-value map): the switch can be shared with another build of
 * the object (xdplb_prog_cost's instrumented copy) and found by name. */
volatile __u32 trace_switch SEC(".data.trace") = 0;
#define trace_switched_on() (trace_switch != 0)
#define trace_switch_off() (trace_switch = 0)
#else
#define trace_switched_on() true
#define trace_switch_off() ((void)0)
#endif
