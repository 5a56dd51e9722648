/* The one ABI shared by the BPF programs (bpf/) and the controller (controller/):
 * map keys and values, sizes, and the named outcomes of the datapath.
 * Plain C types with explicit padding, so both compilers lay them out the same way;
 * tests/packet/abi_btf_test.cpp checks every struct against the BTF of the compiled object.
 * Never copy a definition from here: include this file. */
#pragma once

#include <linux/types.h>

/* The layout version of everything below. Pins carry it (a one-entry array map `meta`, made
 * by the controller at attach): a binary that finds pins of another version does not read
 * their maps; `xdplb attach` replaces programs and maps in one step. Raise it with any change
 * to a map's key, value, type or size, or to what a program keeps in a map. */
#define XDPLB_ABI_VERSION 4

/* ---- sizes (one place each; the controller sizes its buffers from these) ---- */

/* Maglev ring per service: a prime, >= 100x the backends of a large pool so each backend's
 * share is within 1% of its weight share. */
#define XDPLB_MAGLEV_RING_SIZE 65537
/* Service map entries (address, port, proto) per attached bridge. The controller expands each
 * service's listen addresses x ports (a range is one entry per port) x protocols into entries,
 * so a service on 6 addresses with a 10-port range over TCP and UDP takes 120. A hash map:
 * ~100 bytes per entry preallocated (~0.8 MiB), and a lookup costs the same at any size. */
#define XDPLB_MAX_SERVICES 8192
/* Backend pools per attached bridge: one per service and address family (IPv4, IPv6), so a
 * bridge holds XDPLB_MAX_POOLS / 2 services. Each pool has its own Maglev ring of
 * XDPLB_MAGLEV_RING_SIZE 4-byte slots, which the kernel's array keeps 8 bytes apart (512 KiB),
 * so the rings take 16 MiB per bridge. */
#define XDPLB_MAX_POOLS 32
/* Services per attached bridge (each takes two pools). */
#define XDPLB_MAX_SERVICE_OBJECTS (XDPLB_MAX_POOLS / 2)
/* Backend ids per attached bridge; also the size of the devmap and the per-backend counters. */
#define XDPLB_MAX_BACKENDS 1024
/* Flow table entries by default (each flow uses one forward and one reverse entry); `attach
 * --flow-table N` sets another size, at least XDPLB_MIN_FLOWS. */
#define XDPLB_MAX_FLOWS 262144
#define XDPLB_MIN_FLOWS 256
/* reverse_new (the reverse entries of TCP flows that have sent only their SYN; an entry waits
 * there one round trip, then moves to reverse) holds 1/XDPLB_SYN_TABLE_SHARE of the flow table,
 * at least XDPLB_MIN_FLOWS: under a SYN flood of R SYN/s an answered SYN's entry lasts
 * entries/R (1 M flows: 131072 entries, 131 ms at 1 M SYN/s). */
#define XDPLB_SYN_TABLE_SHARE 8
/* A TCP flow that ended (FIN both ways, or an RST) keeps its entries this long, so its last
 * ACKs and retransmissions still find them (a short TIME_WAIT); then they are gone: replies no
 * longer matched, a hairpin port free again. Set at load (rodata flow_linger_ns). */
#define XDPLB_FLOW_LINGER_NS (2ULL * 1000000000ULL)
/* Largest weight a backend may have (keeps the Maglev fill loop bounded). */
#define XDPLB_MAX_WEIGHT 1000
/* Members of one pool's list (round-robin, least-conn). least-conn scans the whole list for
 * every new flow, so it stays well below XDPLB_MAX_BACKENDS. */
#define XDPLB_MAX_POOL_MEMBERS 256

/* A backend id that means "none" in a Maglev slot (ring not filled / pool empty). */
#define XDPLB_NO_BACKEND 0xffffffffu

#define XDPLB_AF_INET 2   /* == AF_INET; the BPF side has no libc */
#define XDPLB_AF_INET6 10 /* == AF_INET6 */

/* An IPv4 or IPv6 address in network byte order. IPv4 lives in v4 (== v6[0]), the rest zero. */
union xdplb_addr {
	__be32 v4;
	__be32 v6[4];
};

/* ---- services: (VIP, port, proto) -> pool ---- */

struct xdplb_service_key {
	union xdplb_addr vip;
	__be16 port;  /* service port, network order */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;  /* XDPLB_AF_INET / XDPLB_AF_INET6 */
};

/* How a service places new flows (bpf/lib/select.h). */
enum xdplb_scheduler {
	XDPLB_SCHED_MAGLEV = 0,      /* the pool's Maglev ring at the flow's hash (consistent) */
	XDPLB_SCHED_WEIGHTED = 1,    /* the ring walked slot by slot: weighted turns */
	XDPLB_SCHED_ROUND_ROBIN = 2, /* the member list in turn, weights ignored */
	XDPLB_SCHED_LEAST_CONN = 3,  /* fewest active connections per weight; ties take turns */
	XDPLB_SCHED_MAX
};

/* Service flags */
#define XDPLB_SERVICE_AFFINITY_SOURCE (1u << 0) /* place by the client address alone (no ports):
                                                 * every connection of a client to one backend */

struct xdplb_service {
	__u32 pool;      /* index of the pool's Maglev ring and member list */
	__u32 scheduler; /* enum xdplb_scheduler */
	__u32 flags;     /* XDPLB_SERVICE_* */
	__be16 backend_port; /* network order: the port this entry's new flows are DNATed to (a
	                      * port range mapped onto a range: each port its own); 0: each
	                      * backend's own port (xdplb_backend.port) */
	__u16 pad;
};

/* ---- pools: the backends that take new flows, for the schedulers that need a list ---- */

struct xdplb_pool_member {
	__u32 backend; /* backend id */
	__u32 weight;  /* 1..XDPLB_MAX_WEIGHT */
};

struct xdplb_pool {
	__u32 count; /* members in use, from members[0] */
	__u32 pad;
	struct xdplb_pool_member members[XDPLB_MAX_POOL_MEMBERS];
};

/* ---- backends: id -> where to send ---- */

/* Backend flags */
#define XDPLB_BACKEND_ACTIVE (1u << 0)   /* may receive packets (set once programmed) */
#define XDPLB_BACKEND_FAST_PATH (1u << 1) /* MACs known and peer has NAPI: devmap redirect */
#define XDPLB_BACKEND_ROUTED (1u << 2)    /* outside the bridge's subnets: reached by the host's
                                           * routes (FIB lookup + redirect), its replies come
                                           * back on an uplink and are reverse-NATed by XDP */

struct xdplb_backend {
	union xdplb_addr addr;
	__be16 port;       /* backend port, network order */
	__u8 family;
	__u8 pad0;
	__u32 flags;       /* XDPLB_BACKEND_* */
	__u32 ifindex;     /* host-side port of the backend (veth), 0 if unknown */
	__u8 dmac[6];      /* the backend's MAC */
	__u8 smac[6];      /* the bridge's MAC: source of redirected frames */
	__u32 gen;         /* bumped by the controller each time the id is given to a new backend;
	                    * a flow placed under another generation is re-placed */
};

/* ---- settings: what the whole bridge's datapath does or skips ---- */

/* Settings flags */
#define XDPLB_SETTING_ROUTED_REPLIES (1u << 0) /* the bridge has a routed backend: a packet for no
                                                * service on an uplink may be its reply (reverse
                                                * table looked up); without it that is skipped */

struct xdplb_settings {
	__u32 flags; /* XDPLB_SETTING_* */
	__u32 pad;
};

/* Per-CPU counters per backend, summed by the controller. */
struct xdplb_backend_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 refused; /* TCP: new connections it refused (its RST before the client's second packet;
			* TC reply path) - the daemon's passive health check reads it */
};

/* ---- flows ---- */

/* Forward key: a client's packet as it arrives (client -> VIP). */
struct xdplb_flow_key {
	union xdplb_addr src;
	union xdplb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* Flow flags (xdplb_flow.flags, xdplb_hairpin_flow.flags), changed with atomic and/or. */
#define XDPLB_FLOW_COUNTED (1u << 0) /* counted in its backend's active connections */
#define XDPLB_FLOW_IDLE (1u << 1)    /* uncounted by the daemon after an idle timeout; counted
                                      * again on its next packet */
#define XDPLB_FLOW_FIN_CLIENT (1u << 2)  /* TCP: the client sent its FIN */
#define XDPLB_FLOW_FIN_BACKEND (1u << 3) /* TCP: the backend sent its FIN */
#define XDPLB_FLOW_CLOSED (1u << 4)      /* TCP: FIN both ways or an RST; last_seen_ns is the time it
                                          * closed, the entries go XDPLB_FLOW_LINGER_NS later */
#define XDPLB_FLOW_ESTABLISHED (1u << 5) /* the reverse entry is in `reverse` (UDP, and TCP once the
                                          * client sent a packet after its SYN); before that it
                                          * is in `reverse_new` */
#define XDPLB_FLOW_ACCEPTED (1u << 6) /* hairpin TCP: the backend answered the SYN (its SYN-ACK
                                       * passed); an RST before that is a refusal */

struct xdplb_flow {
	__u32 backend; /* backend id */
	__u32 flags;   /* XDPLB_FLOW_* */
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns() of the last packet, at most once a second
	                     * (bpf_ktime_get_ns() of the close once CLOSED) */
	__u32 gen;     /* xdplb_backend.gen of the backend when the flow was placed */
	__be16 bport;  /* the backend port the flow is DNATed to (its service entry's
	                * backend_port, else the backend's port), fixed at placement */
	__u16 pad;
};

/* Reverse key: the backend's reply as it arrives (backend -> client), same layout as
 * xdplb_flow_key. Value: what to put back as the source. */
struct xdplb_reverse {
	union xdplb_addr vip;
	__be16 vport;
	__u8 pad[2];
	__u32 backend;
	__u32 gen;       /* as in the forward entry: a reply matches only the flow it was made for */
	__u32 flags;     /* XDPLB_FLOW_CLOSED once the flow ended (set by whoever closed it) */
	__u32 pad2;
	__u64 closed_ns; /* when it closed; replies match XDPLB_FLOW_LINGER_NS longer */
};

/* ---- hairpin: a container on the bridge calling a VIP (TC ingress on the bridge) ----
 * The request is DNATed to the backend and SNATed to the bridge's address with a port from a
 * reserved range, so the backend (maybe the caller itself) answers through the host. */

/* Default SNAT source port range (inclusive). Above the default ip_local_port_range
 * (32768-60999), so the host's own connections from the bridge address never use these. */
#define XDPLB_HAIRPIN_PORT_MIN 61000
#define XDPLB_HAIRPIN_PORT_MAX 65000
/* Hairpin flows (each uses one forward and one reverse entry). */
#define XDPLB_MAX_HAIRPIN_FLOWS 65536
/* Random ports tried for a new hairpin flow before giving up (each try is an atomic claim). */
#define XDPLB_HAIRPIN_PORT_TRIES 32
/* A port whose flow ended (XDPLB_FLOW_CLOSED) is free XDPLB_FLOW_LINGER_NS later; one whose
 * flow just stopped (no FIN or RST seen) when its reverse AND forward entries have both been
 * idle this long. Busy entries are never taken over. */
#define XDPLB_HAIRPIN_IDLE_NS (120ULL * 1000000000ULL)

/* Forward key: xdplb_flow_key of the request as it arrives (container -> VIP:vport). */
struct xdplb_hairpin_flow {
	union xdplb_addr snat_addr; /* the bridge address the request leaves with */
	__u32 backend;              /* backend id */
	__be16 snat_port;           /* the allocated source port, network order */
	__be16 bport;               /* the backend port it is DNATed to (as xdplb_flow.bport) */
	__u32 flags;                /* XDPLB_FLOW_* */
	__u32 gen;                  /* xdplb_backend.gen at placement */
	__u64 last_seen_ns;         /* last request (of the close once CLOSED) */
};

/* Reverse key: xdplb_flow_key of the reply (backend:bport -> snat_addr:snat_port). */
struct xdplb_hairpin_reverse {
	union xdplb_addr vip;    /* put back as the reply's source */
	union xdplb_addr client; /* put back as the reply's destination */
	__be16 vport;
	__be16 cport;
	__u32 backend;
	__u64 last_seen_ns; /* last reply; the port's claim (taken over by compare-and-swap) */
	__u32 gen;          /* as in the forward entry */
	__u32 pad;
};

/* ---- routed replies without state: backend -> the one (VIP, port) it answers for ----
 * Several nodes behind ECMP share one set of routed backends; a backend's reply comes back
 * through whichever node the router picks, often not the one that placed the flow (or that
 * node is gone). A reply with no reverse entry here is translated by the backend's endpoint
 * alone: key xdplb_service_key of the reply's source (backend address, backend port, proto,
 * family), value the (VIP, port) to put back. Only routed backends have entries. */

/* Routed endpoints (backend address x backend port x proto) per attached bridge. */
#define XDPLB_MAX_REPLY_NATS 8192
/* The endpoint answers for more than one (VIP, port) (several listen addresses of the family,
 * a port range onto one backend port, two services): the source cannot be put back without
 * state, so such a reply is dropped (drop_routed_reply), never leaked with the backend's
 * address. */
#define XDPLB_REPLY_NAT_AMBIGUOUS (1u << 0)

struct xdplb_reply_nat {
	union xdplb_addr vip;
	__be16 vport;  /* network order */
	__u16 flags;   /* XDPLB_REPLY_NAT_* */
};

/* ---- uplink guard: sources that never arrive on an uplink ----
 * The bridge's subnets, the host's own addresses and loopback (controller/core/
 * address_policy.h). A new flow from one of them on an uplink is spoofed: it is dropped, so it
 * cannot create a reverse entry that captures the replies of a hairpin flow. */

/* Prefixes in the guard (bridge subnets + host addresses + 2 loopback prefixes). */
#define XDPLB_MAX_GUARD_PREFIXES 1024

/* LPM trie key: prefixlen counts the bits matched from family on, so it is 32 (family + pad)
 * plus the address prefix length; IPv4 and IPv6 never match each other. */
struct xdplb_guard_key {
	__u32 prefixlen;
	__u8 family; /* XDPLB_AF_* */
	__u8 pad[3];
	union xdplb_addr addr;
};

/* ---- fragments: the rest of a datagram goes where its first fragment went ---- */

/* Datagrams in flight whose first fragment was translated (each one entry). */
#define XDPLB_MAX_FRAGS 8192
/* How long the later fragments of a datagram are translated like its first: the kernel's own
 * reassembly timeout is 30 s, but fragments of one datagram follow each other within
 * milliseconds, and a short life keeps a reused IP id from matching a stale entry. */
#define XDPLB_FRAG_TIMEOUT_NS (2ULL * 1000000000ULL)

/* The datagram a fragment belongs to, as it arrives (before any rewrite). */
struct xdplb_frag_key {
	union xdplb_addr src;
	union xdplb_addr dst;
	__be32 id;    /* IPv4 identification (zero-extended) or IPv6 fragment identification */
	__u8 proto;   /* of the datagram (IPPROTO_TCP / IPPROTO_UDP) */
	__u8 family;
	__u8 side;    /* enum xdplb_frag_side: where the datagram came in; one side's fragments
	               * never translate the other's */
	__u8 pad;
};
enum xdplb_frag_side {
	XDPLB_FRAG_FROM_UPLINK = 0, /* XDP */
	XDPLB_FRAG_FROM_BRIDGE = 1, /* TC: replies and hairpin requests */
};

/* What the first fragment became: the addresses every later fragment gets. */
struct xdplb_frag {
	union xdplb_addr src;
	union xdplb_addr dst;
	__u32 backend;     /* XDP: the backend id (fast path); TC: unused */
	__u32 pad;
	__u64 created_ns;  /* bpf_ktime_get_ns() of the first fragment */
};

/* ---- the TC program's tail calls ----
 * ICMP errors, IP fragments and hairpin requests are handed by bpf_tail_call to programs of
 * their own, so each is verified and given a stack on its own (one program with all of them
 * is past the verifier's 1M-instruction budget and the 512-byte stack) and the replies' path
 * carries none of their branches. The controller fills the jump table (map tc_jump) right after loading. */
enum xdplb_tc_jump {
	XDPLB_TC_JUMP_ICMP = 0,     /* xdplb_tc_icmp: an ICMP/ICMPv6 error about a flow */
	XDPLB_TC_JUMP_FRAGMENT = 1, /* xdplb_tc_fragment: a fragment of a TCP/UDP datagram */
	XDPLB_TC_JUMP_HAIRPIN = 2,  /* xdplb_tc_hairpin: a container's request to a service */
	XDPLB_TC_JUMP_HAIRPIN_FRAGMENT = 3, /* xdplb_tc_hairpin_fragment: its first fragment */
	XDPLB_TC_JUMP_HAIRPIN_FRAG_NEEDED = 4, /* xdplb_tc_hairpin_frag_needed: a request too big
	                                        * for the way to its backend (MTU in skb->cb[0]) */
	XDPLB_TC_JUMP_MAX
};

/* ---- named outcomes: per-CPU counters indexed by enum xdplb_reason ---- */
enum xdplb_reason {
	/* XDP, client side */
	XDPLB_R_PASS_NOT_IP = 0,      /* not IPv4/IPv6 (ARP, LLDP...) */
	XDPLB_R_PASS_NOT_SERVICE,     /* IP, but no service matches */
	XDPLB_R_PASS_TRUNCATED,       /* too short for the headers it claims */
	XDPLB_R_PASS_FRAGMENT,        /* IP fragment: not load balanced */
	XDPLB_R_DROP_IP_OPTIONS,      /* service packet with IPv4 options */
	XDPLB_R_DROP_NO_BACKEND,      /* service has no usable backend */
	XDPLB_R_FWD_REDIRECT,         /* DNAT + devmap redirect into the backend's veth */
	XDPLB_R_FWD_PASS,             /* DNAT + XDP_PASS, kernel routes it */
	XDPLB_R_NEW_FLOW,             /* a flow entry was created (also counted in FWD_*) */
	XDPLB_R_FLOW_TABLE_FULL,      /* flow insert failed: forwarded, but unpinned */
	/* TC, reply side */
	XDPLB_R_TC_NOT_REVERSE,       /* reply-side packet with no reverse entry: untouched */
	XDPLB_R_TC_REVNAT_REDIRECT,   /* reverse NAT + fib lookup + redirect */
	XDPLB_R_TC_REVNAT_NEIGH,      /* reverse NAT + bpf_redirect_neigh */
	XDPLB_R_TC_DROP_NO_ROUTE,     /* reverse NAT done but no route back: dropped */
	XDPLB_R_TC_PASS_TRUNCATED,    /* reply side, could not parse: untouched */
	/* added with the datapath (appended: the values above keep their numbers) */
	XDPLB_R_FLOW_MIDSTREAM,       /* mid-flow TCP packet (no SYN) of an unknown flow, placed by
	                               * the ring (also counted in NEW_FLOW) */
	XDPLB_R_FLOW_RESELECTED,      /* known flow whose backend became unusable, re-placed */
	XDPLB_R_TC_PASS_FRAGMENT,     /* reply side, IP fragment: untouched */
	XDPLB_R_TC_DROP_REWRITE,      /* reply side, a rewrite helper failed: dropped */
	/* hairpin (TC ingress on the bridge: containers calling a VIP) */
	XDPLB_R_TC_HAIRPIN_NEW,        /* new hairpin flow: backend picked, port allocated */
	XDPLB_R_TC_HAIRPIN_REQUEST,    /* request DNATed + SNATed to the bridge address, sent on */
	XDPLB_R_TC_HAIRPIN_REPLY,      /* reply put back to VIP -> container, sent on */
	XDPLB_R_TC_HAIRPIN_NO_PORT,    /* no free SNAT port for that backend: dropped */
	XDPLB_R_TC_HAIRPIN_NO_BACKEND, /* service has no usable backend: dropped */
	XDPLB_R_TC_HAIRPIN_NO_SOURCE,  /* no route/source address towards the backend: dropped */
	/* hardening (issue 12) */
	XDPLB_R_PASS_SHORT_FRAME,      /* frame shorter than its IP length: passed untouched */
	XDPLB_R_TC_PASS_SHORT_FRAME,   /* reply side, frame shorter than its IP length: untouched */
	XDPLB_R_DROP_SPOOFED,          /* new flow on an uplink from a bridge subnet, host or
	                                * loopback source: dropped */
	/* ICMP errors, path MTU and fragments */
	XDPLB_R_ICMP_TO_BACKEND,      /* ICMP error about a flow (from a router or the client)
	                               * translated and sent to its backend */
	XDPLB_R_ICMP_FROM_BACKEND,    /* a backend's ICMP error about a flow translated back to
	                               * VIP -> client */
	XDPLB_R_TC_PASS_FRAG_NEEDED,  /* reply bigger than the egress MTU: handed untranslated to
	                               * the stack, which sends the backend "fragmentation needed"
	                               * / "packet too big" */
	XDPLB_R_FRAG_FIRST,           /* first fragment of a balanced datagram: remembered */
	XDPLB_R_FRAG_LATER,           /* later fragment translated as its datagram's first */
	/* flow lifecycle */
	XDPLB_R_FLOW_EVICTED,    /* new flow stored in a full table: the LRU dropped the least
	                          * recently used entry to make room (maybe a live idle flow) */
	XDPLB_R_FLOW_RESTORED,   /* a live flow had lost one of its two entries to the LRU: put back
	                          * from the other */
	XDPLB_R_FLOW_CLOSED,     /* TCP flow ended (FIN both ways or RST; external and hairpin) */
	XDPLB_R_TC_REPLY_STALE,  /* reply matched the entry of a flow that ended (or whose backend
	                          * id went to a new backend): entry deleted, reply untouched */
	XDPLB_R_TC_HAIRPIN_FRAG_NEEDED, /* hairpin request bigger than the MTU towards its backend:
	                                 * dropped, the container told "fragmentation needed" /
	                                 * "packet too big" from the VIP */
	XDPLB_R_FWD_ROUTED,     /* DNAT to a routed backend + FIB lookup + redirect (or XDP_TX) */
	XDPLB_R_ROUTED_REPLY,   /* reply of a routed backend on an uplink: reverse NAT, FIB, redirect */
	XDPLB_R_DROP_ROUTED_REPLY, /* reply of a routed backend with no usable route/neighbour to
	                            * the client (or IPv4 options): dropped, never leaked untranslated */
	XDPLB_R_ROUTED_REPLY_STATELESS, /* reply of a routed backend that no reverse entry here
	                                 * knows (another node placed the flow): source put back to
	                                 * its endpoint's one VIP:port (reply_nats), FIB, redirect */
	XDPLB_R_ICMP_FROM_ROUTED, /* a routed backend's ICMP error about a request (quote client ->
	                           * backend), on an uplink: translated back to VIP -> client by its
	                           * reverse entry, FIB, redirect */
	XDPLB_R_ICMP_FROM_ROUTED_STATELESS, /* the same without a reverse entry here: by its
	                                     * endpoint's one VIP:port (reply_nats) */
	XDPLB_R_DROP_ICMP_ROUTED, /* such an error with no usable route/neighbour to the client, or
	                           * (without a reverse entry) of an endpoint serving several
	                           * VIP:ports: dropped, never leaked untranslated */
	XDPLB_R_MAX
};

/* ---- trace: what the datapath decided for matching packets (`xdplb trace`) ----
 * Off unless a trace runs: the programs read trace_conf once per packet and do nothing more
 * while .on is 0. count_reason notes each reason it counts as a bit in a per-CPU word
 * (trace_reasons); while a trace is on, each packet takes (and clears) that word after its
 * filter test, and a matching packet is written to the trace_ring ring buffer as an
 * xdplb_trace_event. Hooked: XDP on the uplinks (and its ICMP errors and later fragments), every TC
 * program on the bridge (replies, hairpin requests, ICMP errors, fragments) and the cgroup
 * connect/sendmsg hooks of host-local clients (enum xdplb_trace_hook). */
#define XDPLB_TRACE_RING_BYTES (256 * 1024)
#define XDPLB_TRACE_MATCH_CLIENT (1u << 0)  /* only packets of .client: from it (requests), to it
                                             * (replies; a hairpin reply: to it before its
                                             * reverse NAT put the caller back) */
#define XDPLB_TRACE_MATCH_SERVICE (1u << 1) /* only the service of .slot (its backends on TC) */
#define XDPLB_TRACE_MATCH_HOST (1u << 2)    /* with _CLIENT: .client is the host itself (loopback
                                             * or the bridge's address): host-local calls match */
#define XDPLB_TRACE_BACKEND_WORDS (XDPLB_MAX_BACKENDS / 64)

enum xdplb_trace_hook {
	XDPLB_TRACE_XDP = 0,      /* a packet on an uplink (client -> service) */
	XDPLB_TRACE_TC_REPLY = 1, /* a packet on the bridge (backend -> client reply, or not ours) */
	XDPLB_TRACE_TC_HAIRPIN = 2,   /* a container's request to a service (container -> VIP) */
	XDPLB_TRACE_TC_ICMP = 3,      /* an ICMP error from the bridge about a flow of ours; .key
	                               * is that flow's 5-tuple as the error quotes it */
	XDPLB_TRACE_TC_FRAGMENT = 4,  /* a fragment from the bridge (reply, or first of a request) */
	XDPLB_TRACE_TC_HAIRPIN_FRAGMENT = 5, /* the first fragment of a container's request */
	XDPLB_TRACE_SOCK_CONNECT = 6, /* a host-local connect() to a service (cgroup hook); .key
	                               * has no source (not chosen yet) */
	XDPLB_TRACE_SOCK_SENDMSG = 7, /* a host-local unconnected UDP sendto() to a service */
	XDPLB_TRACE_XDP_ICMP = 8,     /* an ICMP error from an uplink about a flow of ours; .key is
	                               * that flow's 5-tuple (client -> VIP) */
	XDPLB_TRACE_XDP_FRAGMENT = 9, /* a later fragment from an uplink (addresses, no ports) */
	XDPLB_TRACE_HOOK_MAX
};

/* trace_conf[0]. Written by `xdplb trace`: on at its start, off at its end, and .until_ns
 * moved on while it runs (a lease): a trace killed before it could turn itself off stops
 * once the lease runs out. The programs test .on first, so with no trace the lease costs
 * nothing; while on, a packet past .until_ns is not traced. */
struct xdplb_trace_conf {
	__u32 on;
	__u32 match;       /* XDPLB_TRACE_MATCH_* */
	union xdplb_addr client;
	__u32 client_family; /* XDPLB_AF_INET / XDPLB_AF_INET6 */
	__u32 slot;          /* service slot: pools 2*slot (IPv4) and 2*slot+1 (IPv6) */
	__u64 backends[XDPLB_TRACE_BACKEND_WORDS]; /* bit id: backend id of the service (TC) */
	__u64 until_ns;      /* CLOCK_MONOTONIC the trace ends at (the programs read it coarse) */
};

/* One traced packet, as the program saw it before any rewrite. */
struct xdplb_trace_event {
	__u64 ts_ns;           /* bpf_ktime_get_ns() */
	__u64 reasons;         /* bit r: reason r (enum xdplb_reason) was counted for it */
	struct xdplb_flow_key key;
	__u32 hook;            /* enum xdplb_trace_hook */
	__s32 verdict;         /* XDP_* (XDP) or TC_ACT_* (TC) */
	__u32 backend;         /* chosen (XDP) or replying (TC) backend id, XDPLB_NO_BACKEND if none */
	__u32 pool;            /* the service's pool (XDP service hit), else XDPLB_NO_POOL */
	__u32 scheduler;       /* enum xdplb_scheduler of that service */
	__u32 pad;
};
#define XDPLB_NO_POOL 0xffffffffu

/* trace_reasons[0], per CPU. */
struct xdplb_trace_cpu {
	__u64 reasons;       /* bit r: reason r counted since the last packet took them */
	__u64 lease_jiffies; /* jiffies at which this CPU last found the lease running: the clock
	                      * is read once per tick, not per packet (0: not yet) */
};

/* xdplb_trace_event travels in a ring buffer, which has no BTF type: both compilers check its
 * layout here instead of tests/packet/abi_btf_test.cpp. */
#ifdef __cplusplus
#define XDPLB_STATIC_ASSERT static_assert
#else
#define XDPLB_STATIC_ASSERT _Static_assert
#endif
XDPLB_STATIC_ASSERT(XDPLB_R_MAX <= 64, "xdplb_trace_event.reasons has one bit per reason");
XDPLB_STATIC_ASSERT(sizeof(struct xdplb_trace_event) == 80, "xdplb_trace_event layout");
XDPLB_STATIC_ASSERT(__builtin_offsetof(struct xdplb_trace_event, key) == 16, "xdplb_trace_event layout");
XDPLB_STATIC_ASSERT(__builtin_offsetof(struct xdplb_trace_event, hook) == 56, "xdplb_trace_event layout");
XDPLB_STATIC_ASSERT(__builtin_offsetof(struct xdplb_trace_event, pad) == 76, "xdplb_trace_event layout");
