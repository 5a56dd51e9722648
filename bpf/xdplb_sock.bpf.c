/* xdplb for host-local clients: socket-level load balancing in cgroup hooks.
 * A process on the host that dials a service (VIP:vport, 127.0.0.1 or ::1:vport, bridge:vport)
 * gets its socket pointed at a backend before the first packet exists, so no packet is ever
 * NATed. One hook of each kind per family (the 4 and 6 variants share every line but how they
 * read and write the address):
 *   xdplb_connect4/6     (cgroup/connect4/6):     TCP connect / UDP connect -> backend
 *   xdplb_sendmsg4/6     (cgroup/sendmsg4/6):     unconnected UDP sendto -> backend
 *   xdplb_recvmsg4/6     (cgroup/recvmsg4/6):     UDP replies show VIP:vport as their source
 *   xdplb_getpeername4/6 (cgroup/getpeername4/6): the peer is the address the client dialled
 *   xdplb_sock_release   (cgroup/sock_release):   the socket's connection leaves its backend's
 *                                                 active-connection count (least-conn)
 * An IPv6 socket only ever gets an IPv6 backend (services and backends carry their family);
 * an IPv4-mapped destination (::ffff:a.b.c.d) matches no IPv6 service and goes on untouched.
 * The hooks sit on the cgroup v2 root and so see every network namespace: they act only in the
 * namespace xdplb was attached from (host_netns_cookie), whose services and backends these are.
 * The maps (services, ring, backends) are the attached bridge's, reused from their pins. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

#include "lib/conns.h"
#include "lib/flow_hash.h"
#include "lib/maps.h"
#include "lib/select.h"
#include "lib/sock_nat.h"
#include "lib/trace.h"

char LICENSE[] SEC("license") = "GPL";

/* bpf_get_netns_cookie() of the namespace `xdplb attach` ran in; set by the loader. 0 never
 * matches a real namespace, so an unset cookie switches the hooks off. */
const volatile __u64 host_netns_cookie = 0;

/* Maglev: ring slots tried after an inactive one before giving up (the ring of an empty pool
 * is all XDPLB_NO_BACKEND; a pool mid-update may hold a few stale ids). The turn-taking
 * schedulers skip inactive members themselves. */
#define SOCK_PICK_TRIES 8

#define SOCK_ALLOW 1 /* cgroup sock_addr verdict: let the call go on */

static __always_inline bool in_host_netns(struct bpf_sock_addr *ctx)
{
	return host_netns_cookie && bpf_get_netns_cookie(ctx) == host_netns_cookie;
}

/* The destination (connect/sendmsg) or peer (recvmsg/getpeername) address of the call. v6 is
 * a constant of each program: the verifier refuses user_ip6 in the IPv4 hooks and vice versa,
 * so the other branch must fold away. */
static __always_inline void sock_addr_get(const struct bpf_sock_addr *ctx, bool v6,
					  union xdplb_addr *a)
{
	__builtin_memset(a, 0, sizeof(*a));
	if (v6) {
		a->v6[0] = ctx->user_ip6[0];
		a->v6[1] = ctx->user_ip6[1];
		a->v6[2] = ctx->user_ip6[2];
		a->v6[3] = ctx->user_ip6[3];
	} else {
		a->v4 = ctx->user_ip4;
	}
}

static __always_inline void sock_addr_set(struct bpf_sock_addr *ctx, bool v6,
					  const union xdplb_addr *a, __be16 port)
{
	if (v6) {
		ctx->user_ip6[0] = a->v6[0];
		ctx->user_ip6[1] = a->v6[1];
		ctx->user_ip6[2] = a->v6[2];
		ctx->user_ip6[3] = a->v6[3];
	} else {
		ctx->user_ip4 = a->v4;
	}
	ctx->user_port = (__u32)port;
}

static __always_inline bool addr_eq(const union xdplb_addr *a, const union xdplb_addr *b)
{
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] && a->v6[2] == b->v6[2] &&
	       a->v6[3] == b->v6[3];
}

static __always_inline struct xdplb_service *service_of(const union xdplb_addr *vip, __be16 vport,
							__u8 proto, __u8 family)
{
	struct xdplb_service_key key;

	__builtin_memset(&key, 0, sizeof(key));
	key.vip = *vip;
	key.port = vport;
	key.proto = proto;
	key.family = family;
	return bpf_map_lookup_elem(&services, &key);
}

/* A backend for this socket, by the service's scheduler (lib/select.h). Before connect the
 * source port is not known, so the socket cookie (unique per socket for the boot) stands in
 * for the client half of the tuple: with maglev one socket always lands on one slot, and
 * different sockets spread over the ring by their hash like external flows do; inactive
 * backends (and any of the other family) are skipped by probing the next few hashes. */
static __always_inline __u32 sock_pick(struct bpf_sock_addr *ctx, const struct xdplb_service *svc,
				       const union xdplb_addr *vip, __be16 vport, __u8 proto,
				       __u8 family, struct xdplb_backend **out)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct xdplb_flow_key key;
	__u32 id;
	int i;

	__builtin_memset(&key, 0, sizeof(key));
	key.src.v6[0] = (__u32)cookie;
	key.src.v6[1] = (__u32)(cookie >> 32);
	key.dst = *vip;
	key.dport = vport;
	key.proto = proto;
	key.family = family;
	/* Source affinity: the host is one client address (its source is not chosen yet, and
	 * every host-local socket has the host's), so all its sockets share one slot. */
	if (svc->flags & XDPLB_SERVICE_AFFINITY_SOURCE)
		__builtin_memset(&key.src, 0, sizeof(key.src));
	for (i = 0; i < SOCK_PICK_TRIES; i++) {
		key.sport = i; /* probe index: a different slot per try */
		id = select_backend_probe(svc, &key, false, i, out);
		if (*out || (svc->scheduler != XDPLB_SCHED_MAGLEV &&
			     !(svc->flags & XDPLB_SERVICE_AFFINITY_SOURCE)))
			return id;
	}
	return XDPLB_NO_BACKEND;
}

/* The trace's record of a call to a service (lib/trace.h): its destination, no source (the
 * kernel has not chosen it yet), the backend it now goes to or XDPLB_NO_BACKEND (it goes on to
 * the VIP untouched). */
static __always_inline void sock_trace(__u32 hook, const struct xdplb_service *svc,
				       const union xdplb_addr *vip, __be16 vport, __u8 proto,
				       __u8 family, __u32 backend)
{
	struct trace_note note = { .backend = backend, .pool = svc->pool,
				   .scheduler = svc->scheduler, .parsed = true };
	struct xdplb_flow_key key;

	__builtin_memset(&key, 0, sizeof(key));
	key.dst = *vip;
	key.dport = vport;
	key.proto = proto;
	key.family = family;
	trace_packet(hook, &key, &note, SOCK_ALLOW);
}

/* connect / sendmsg: point the socket at a backend if it dials a service. hook: which one,
 * for the trace. */
static __always_inline void sock_balance(struct bpf_sock_addr *ctx, bool v6, __u32 hook)
{
	__u8 family = v6 ? XDPLB_AF_INET6 : XDPLB_AF_INET;
	__be16 vport = (__be16)ctx->user_port;
	struct xdplb_backend *be = NULL;
	struct xdplb_service *svc;
	union xdplb_addr vip;
	struct sock_nat *nat;
	__be16 bport;
	__u8 proto;
	__u32 id;

	if (!in_host_netns(ctx) || !ctx->sk)
		return;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return;
	proto = ctx->protocol;
	sock_addr_get(ctx, v6, &vip);
	svc = service_of(&vip, vport, proto, family);
	if (!svc)
		return;

	nat = bpf_sk_storage_get(&sock_nat, ctx->sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	/* A UDP socket keeps its backend across datagrams while that backend stays usable. */
	if (nat && nat->family == family && addr_eq(&nat->vip, &vip) && nat->vport == vport) {
		be = backend_usable(nat->backend_id, family);
		id = nat->backend_id;
	}
	if (!be)
		id = sock_pick(ctx, svc, &vip, vport, proto, family, &be);
	if (!be) {
		/* no backend: the call goes to the VIP itself and fails as it would */
		sock_trace(hook, svc, &vip, vport, proto, family, XDPLB_NO_BACKEND);
		return;
	}

	bport = service_backend_port(svc, be);
	sock_addr_set(ctx, v6, &be->addr, bport);
	if (nat) {
		/* One count per socket, on the backend it talks to now. */
		if (!nat->counted || nat->backend_id != id) {
			if (nat->counted)
				conn_add(nat->backend_id, -1);
			conn_add(id, 1);
			nat->counted = 1;
		}
		nat->vip = vip;
		nat->vport = vport;
		nat->backend = be->addr;
		nat->bport = bport;
		nat->backend_id = id;
		nat->family = family;
	}
	sock_trace(hook, svc, &vip, vport, proto, family, id);
}

/* recvmsg / getpeername: show the VIP where the kernel has the backend. */
static __always_inline void sock_unbalance(struct bpf_sock_addr *ctx, bool v6)
{
	__u8 family = v6 ? XDPLB_AF_INET6 : XDPLB_AF_INET;
	union xdplb_addr peer;
	struct sock_nat *nat;

	if (!in_host_netns(ctx) || !ctx->sk)
		return;
	nat = bpf_sk_storage_get(&sock_nat, ctx->sk, NULL, 0);
	if (!nat || nat->family != family)
		return;
	sock_addr_get(ctx, v6, &peer);
	if (!addr_eq(&peer, &nat->backend) || (__be16)ctx->user_port != nat->bport)
		return;
	sock_addr_set(ctx, v6, &nat->vip, nat->vport);
}

SEC("cgroup/connect4")
int xdplb_connect4(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx, false, XDPLB_TRACE_SOCK_CONNECT);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg4")
int xdplb_sendmsg4(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx, false, XDPLB_TRACE_SOCK_SENDMSG);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg4")
int xdplb_recvmsg4(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx, false);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int xdplb_getpeername4(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx, false);
	return SOCK_ALLOW;
}

SEC("cgroup/connect6")
int xdplb_connect6(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx, true, XDPLB_TRACE_SOCK_CONNECT);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg6")
int xdplb_sendmsg6(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx, true, XDPLB_TRACE_SOCK_SENDMSG);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg6")
int xdplb_recvmsg6(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx, true);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername6")
int xdplb_getpeername6(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx, true);
	return SOCK_ALLOW;
}

/* The application closed the socket (for TCP: its side of the connection is over). */
SEC("cgroup/sock_release")
int xdplb_sock_release(struct bpf_sock *sk)
{
	struct sock_nat *nat = bpf_sk_storage_get(&sock_nat, sk, NULL, 0);

	if (nat && nat->counted) {
		nat->counted = 0;
		conn_add(nat->backend_id, -1);
	}
	return SOCK_ALLOW;
}
