/* Force-included (-include) into a second, instrumented compile of bpf/xdplb.bpf.c for
 * xdplb_prog_cost's "kernel work per packet" table: every helper call and __sync_* atomic of
 * the datapath bumps a per-CPU counter of its kind first. The datapath source is unchanged;
 * the function-like macros below wrap each call site (a name followed by "(" only, so the
 * helper declarations in bpf_helper_defs.h are untouched). This kernel has no kprobes or
 * fentry, so counting in the program is the way to see what a path does. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "opcount_kern_user.h"

/* A global (.bss, the object's only one): a plain load-add-store, no helper call of its own,
 * so the instrumented programs keep their registers and the verifier sees nearly the same
 * code. Not atomic: BPF_PROG_TEST_RUN runs on one CPU at a time. */
__u64 xdplb_opcount[XDPLB_OPC_MAX];

static __always_inline void xdplb_opc(__u32 kind)
{
	xdplb_opcount[kind] += 1;
}

#define XDPLB_OPC_WRAP(kind, call) ({ xdplb_opc(kind); call; })

#define bpf_map_lookup_elem(...) XDPLB_OPC_WRAP(XDPLB_OPC_LOOKUP, bpf_map_lookup_elem(__VA_ARGS__))
#define bpf_map_update_elem(...) XDPLB_OPC_WRAP(XDPLB_OPC_UPDATE, bpf_map_update_elem(__VA_ARGS__))
#define bpf_map_delete_elem(...) XDPLB_OPC_WRAP(XDPLB_OPC_DELETE, bpf_map_delete_elem(__VA_ARGS__))
#define __sync_fetch_and_add(...) XDPLB_OPC_WRAP(XDPLB_OPC_ATOMIC, __sync_fetch_and_add(__VA_ARGS__))
#define __sync_fetch_and_or(...) XDPLB_OPC_WRAP(XDPLB_OPC_ATOMIC, __sync_fetch_and_or(__VA_ARGS__))
#define __sync_fetch_and_and(...) XDPLB_OPC_WRAP(XDPLB_OPC_ATOMIC, __sync_fetch_and_and(__VA_ARGS__))
#define __sync_val_compare_and_swap(...) \
	XDPLB_OPC_WRAP(XDPLB_OPC_ATOMIC, __sync_val_compare_and_swap(__VA_ARGS__))
#define bpf_fib_lookup(...) XDPLB_OPC_WRAP(XDPLB_OPC_FIB, bpf_fib_lookup(__VA_ARGS__))
#define bpf_redirect(...) XDPLB_OPC_WRAP(XDPLB_OPC_REDIRECT, bpf_redirect(__VA_ARGS__))
#define bpf_redirect_map(...) XDPLB_OPC_WRAP(XDPLB_OPC_REDIRECT, bpf_redirect_map(__VA_ARGS__))
#define bpf_redirect_neigh(...) XDPLB_OPC_WRAP(XDPLB_OPC_REDIRECT, bpf_redirect_neigh(__VA_ARGS__))
#define bpf_l3_csum_replace(...) XDPLB_OPC_WRAP(XDPLB_OPC_CSUM, bpf_l3_csum_replace(__VA_ARGS__))
#define bpf_l4_csum_replace(...) XDPLB_OPC_WRAP(XDPLB_OPC_CSUM, bpf_l4_csum_replace(__VA_ARGS__))
#define bpf_csum_diff(...) XDPLB_OPC_WRAP(XDPLB_OPC_CSUM, bpf_csum_diff(__VA_ARGS__))
#define bpf_csum_update(...) XDPLB_OPC_WRAP(XDPLB_OPC_CSUM, bpf_csum_update(__VA_ARGS__))
#define bpf_skb_load_bytes(...) XDPLB_OPC_WRAP(XDPLB_OPC_BYTES, bpf_skb_load_bytes(__VA_ARGS__))
#define bpf_skb_store_bytes(...) XDPLB_OPC_WRAP(XDPLB_OPC_BYTES, bpf_skb_store_bytes(__VA_ARGS__))
#define bpf_ktime_get_ns(...) XDPLB_OPC_WRAP(XDPLB_OPC_KTIME, bpf_ktime_get_ns(__VA_ARGS__))
#define bpf_ktime_get_coarse_ns(...) XDPLB_OPC_WRAP(XDPLB_OPC_KTIME, bpf_ktime_get_coarse_ns(__VA_ARGS__))
#define bpf_tail_call(...) XDPLB_OPC_WRAP(XDPLB_OPC_TAIL, bpf_tail_call(__VA_ARGS__))
#define bpf_ringbuf_reserve(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_ringbuf_reserve(__VA_ARGS__))
#define bpf_ringbuf_submit(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_ringbuf_submit(__VA_ARGS__))
#define bpf_loop(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_loop(__VA_ARGS__))
#define bpf_get_prandom_u32(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_get_prandom_u32(__VA_ARGS__))
#define bpf_check_mtu(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_check_mtu(__VA_ARGS__))
#define bpf_skb_pull_data(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_skb_pull_data(__VA_ARGS__))
#define bpf_skb_change_tail(...) XDPLB_OPC_WRAP(XDPLB_OPC_OTHER, bpf_skb_change_tail(__VA_ARGS__))
