/* Every map of the datapath, in one place, apart from the logic that uses them (as Cilium
 * keeps conntrack_map.h apart from conntrack.h). All are pinned by name, so `attach` pins them
 * under its pin directory and `open` reuses them from there. Sizes come from abi.h. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

/* (VIP, port, proto) -> pool. Written by the controller (put_service); read by XDP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPLB_MAX_SERVICES);
	__type(key, struct xdplb_service_key);
	__type(value, struct xdplb_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} services SEC(".maps");

/* Backend id -> address, port, flags, MACs. Written by the controller (put_backend);
 * read by XDP (select, DNAT, fast path). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xdplb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* The Maglev rings of all pools back to back: slot pool * RING_SIZE + i -> backend id or
 * XDPLB_NO_BACKEND. Written by the controller (write_ring: plain stores through an mmap of the
 * map, only the slots that move); read by XDP for new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPLB_MAX_POOLS * XDPLB_MAGLEV_RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ring SEC(".maps");

/* Pool -> its members (ids and weights) in id order, for round-robin and least-conn. Written by
 * the controller (write_pool_members) next to the ring; read by select for new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPLB_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct xdplb_pool);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pools SEC(".maps");

/* Pool -> count of new flows placed by a turn-taking scheduler (weighted, round-robin, ties of
 * least-conn). Shared by all CPUs (atomic add), so turns are exact, not per CPU. Written and
 * read by select only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPLB_MAX_POOLS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pool_turns SEC(".maps");

/* Backend id -> active connections (signed; a late decrement may briefly take it below 0).
 * Up when a flow is counted, down on FIN/RST/re-placement (XDP, TC, socket release) and by
 * the daemon for idle flows. Mmapable so the controller can decrement atomically too; read by
 * least-conn and `xdplb status`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __s64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_conns SEC(".maps");

/* Backend id -> ifindex of its host-side veth, for bpf_redirect_map. Written by the
 * controller (put_backend, fast-path backends only); read by XDP. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_ports SEC(".maps");

/* Client 5-tuple as it arrives -> backend. Written and read by XDP, read (and marked at the
 * backend's FIN/RST) by TC on replies; the controller only counts and reads it. LRU: idle flows
 * make room for new ones. max_entries is set at load (Tunables::flow_table_size), as for
 * reverse. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_FLOWS);
	__type(key, struct xdplb_flow_key);
	__type(value, struct xdplb_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* Reply 5-tuple (backend:bport -> client:cport) -> VIP:vport to put back as the source.
 * Written by XDP next to each flow entry; read by TC on the reply path. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_FLOWS);
	__type(key, struct xdplb_flow_key);
	__type(value, struct xdplb_reverse);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reverse SEC(".maps");

/* The reverse entries of TCP flows that have sent only their SYN (same key and value as
 * reverse); XDP moves an entry to reverse at the client's next packet. A SYN flood's answered
 * SYNs churn this table only, so the reverse entries of established connections are not
 * evicted in their place. An entry waits here one round trip, so the table is a share of the
 * flow table (max_entries set at load: syn_table_entries, XDPLB_SYN_TABLE_SHARE). Written by XDP,
 * read by TC. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_FLOWS);
	__type(key, struct xdplb_flow_key);
	__type(value, struct xdplb_reverse);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reverse_new SEC(".maps");

/* [0]: forward entries in flows, as counted by the datapath (lib/flow.h flow_fill_add), so a
 * store into the full table can be counted as an eviction. Written by XDP and TC only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flow_fill SEC(".maps");

/* enum xdplb_reason -> packets, per CPU. Written by XDP and TC; read (summed) by the
 * controller for `xdplb status`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPLB_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reasons SEC(".maps");

/* Backend id -> packets, bytes, new flows, per CPU. Written by XDP; read (summed) and zeroed
 * by the controller. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xdplb_backend_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_stats SEC(".maps");

/* Hairpin request 5-tuple (container -> VIP:vport) -> backend, bridge address, SNAT port.
 * Written and read by TC on the bridge. LRU: idle flows make room for new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_HAIRPIN_FLOWS);
	__type(key, struct xdplb_flow_key);
	__type(value, struct xdplb_hairpin_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hairpin_flows SEC(".maps");

/* Hairpin reply 5-tuple (backend:bport -> bridge:SNAT port) -> VIP:vport and container:port
 * to put back. Written by TC when it allocates the port (the entry IS the port's claim: an
 * atomic BPF_NOEXIST insert), read by TC on replies. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_HAIRPIN_FLOWS);
	__type(key, struct xdplb_flow_key);
	__type(value, struct xdplb_hairpin_reverse);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hairpin_reverse SEC(".maps");

/* Source prefixes that never arrive on an uplink (xdplb_guard_key) -> 1. Written by the
 * controller (set_uplink_guard: at attach, and by the daemon when addresses change); read by
 * XDP for new flows only (lib/guard.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPLB_MAX_GUARD_PREFIXES);
	__type(key, struct xdplb_guard_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} uplink_guard SEC(".maps");

/* Datagram (src, dst, IP id / IPv6 fragment id, proto) as it arrives -> the addresses its
 * first fragment was rewritten to. Written by XDP (requests) and TC (replies, hairpin) when
 * they translate a first fragment; read by the same program for the later fragments, which
 * carry no ports. LRU: datagrams in flight only (lib/frag.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPLB_MAX_FRAGS);
	__type(key, struct xdplb_frag_key);
	__type(value, struct xdplb_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frags SEC(".maps");

/* enum xdplb_tc_jump -> the TC program for that kind of rare packet (tail call). Written by
 * the controller right after loading (fill_tc_jumps); read by xdplb_tc. Pinned like the rest,
 * which also keeps its entries alive after the loader exits. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, XDPLB_TC_JUMP_MAX);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tc_jump SEC(".maps");

/* [0] -> what `xdplb trace` asks for (xdplb_trace_conf; .on = 0: no trace). Written by the
 * controller's trace command (and its lease renewed while it runs); read once per packet by
 * XDP and TC and once per connect/sendmsg to a service by the cgroup hooks (lib/trace.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdplb_trace_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_conf SEC(".maps");

/* [0] -> per CPU (xdplb_trace_cpu): .reasons, bit r: reason r (enum xdplb_reason) was counted
 * since the trace last took them: the reasons of the packet being handled; .lease_jiffies, the
 * tick this CPU last found the trace's lease running. .reasons written by count_reason (always:
 * an OR is cheaper than asking whether a trace runs), taken and cleared by each packet's trace
 * call while a trace runs (lib/trace.h); both cleared by the trace command when it starts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdplb_trace_cpu);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_reasons SEC(".maps");

/* [0] -> the bridge's settings (xdplb_settings). Written by the controller's transactions
 * (lb/plan.cpp: routed replies on while the bridge has a routed backend); read by XDP for each
 * packet for no service. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdplb_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

/* The FIB lookup of the routed paths (XDP: DNAT to a routed backend, a routed backend's reply):
 * 64 bytes the XDP program's stack has no room for. Per CPU, so never shared; pinned like every
 * map here (the host-local object opens them all by name). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fib_scratch SEC(".maps");

/* A routed backend's endpoint (xdplb_service_key: backend address, port, proto) -> the one
 * VIP:port its replies are put back to when no reverse entry knows them. Written by the
 * controller (lb/plan.h reply_nats, through the transaction); read by XDP on the uplinks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPLB_MAX_REPLY_NATS);
	__type(key, struct xdplb_service_key);
	__type(value, struct xdplb_reply_nat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reply_nats SEC(".maps");

/* Traced packets (xdplb_trace_event). Written by XDP, TC and the cgroup hooks while a trace
 * runs; read by the trace command. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XDPLB_TRACE_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} trace_ring SEC(".maps");
