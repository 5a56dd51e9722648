/* Kinds of kernel work xdplb_prog_cost counts per packet in an instrumented copy of the
 * datapath object (bench/opcount.h, force-included when that copy is compiled): one per-CPU
 * counter per kind. Shared by the BPF side (the counting) and xdplb_prog_cost (the table). */
#pragma once

enum xdplb_opc_kind {
	XDPLB_OPC_LOOKUP,   /* bpf_map_lookup_elem (hash, LRU, array alike) */
	XDPLB_OPC_UPDATE,   /* bpf_map_update_elem */
	XDPLB_OPC_DELETE,   /* bpf_map_delete_elem */
	XDPLB_OPC_ATOMIC,   /* __sync_* on map values (lock-prefixed on x86) */
	XDPLB_OPC_FIB,      /* bpf_fib_lookup */
	XDPLB_OPC_REDIRECT, /* bpf_redirect, bpf_redirect_map, bpf_redirect_neigh */
	XDPLB_OPC_CSUM,     /* bpf_l3/l4_csum_replace, bpf_csum_diff */
	XDPLB_OPC_BYTES,    /* bpf_skb_load_bytes, bpf_skb_store_bytes */
	XDPLB_OPC_KTIME,    /* bpf_ktime_get_ns */
	XDPLB_OPC_TAIL,     /* bpf_tail_call */
	XDPLB_OPC_OTHER,    /* any other helper (ring buffer, bpf_loop, random, MTU, storage...) */
	XDPLB_OPC_MAX,
};
