/* xdplb for host-local clients: socket-level load balancing in cgroup hooks.
 * A process on the host that dials a service (VIP:vport, 127.0.0.1:vport, bridge:vport) gets
 * its socket pointed at a backend before the first packet exists, so no packet is ever NATed:
 *   xdplb_connect4     (cgroup/connect4):     TCP connect / UDP connect -> backend
 *   xdplb_sendmsg4     (cgroup/sendmsg4):     unconnected UDP sendto -> backend
 *   xdplb_recvmsg4     (cgroup/recvmsg4):     UDP replies show VIP:vport as their source
 *   xdplb_getpeername4 (cgroup/getpeername4): the peer is the address the client dialled
 *   xdplb_sock_release (cgroup/sock_release): the socket's connection leaves its backend's
 *                                             active-connection count (least-conn)
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

static __always_inline struct xdplb_service *service_of(__be32 vip, __be16 vport, __u8 proto)
{
	struct xdplb_service_key key;

	__builtin_memset(&key, 0, sizeof(key));
	key.vip.v4 = vip;
	key.port = vport;
	key.proto = proto;
	key.family = XDPLB_AF_INET;
	return bpf_map_lookup_elem(&services, &key);
}

/* A backend for this socket, by the service's scheduler (lib/select.h). Before connect the
 * source port is not known, so the socket cookie (unique per socket for the boot) stands in
 * for the client half of the tuple: with maglev one socket always lands on one slot, and
 * different sockets spread over the ring by their hash like external flows do; inactive
 * backends are skipped by probing the next few hashes. */
static __always_inline __u32 sock_pick(struct bpf_sock_addr *ctx, const struct xdplb_service *svc,
				       __be32 vip, __be16 vport, __u8 proto,
				       struct xdplb_backend **out)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct xdplb_flow_key key;
	__u32 id;
	int i;

	__builtin_memset(&key, 0, sizeof(key));
	key.src.v6[0] = (__u32)cookie;
	key.src.v6[1] = (__u32)(cookie >> 32);
	key.dst.v4 = vip;
	key.dport = vport;
	key.proto = proto;
	key.family = XDPLB_AF_INET;
	for (i = 0; i < SOCK_PICK_TRIES; i++) {
		key.sport = i; /* probe index: a different slot per try */
		id = select_backend(svc, &key, false, out);
		if (*out || svc->scheduler != XDPLB_SCHED_MAGLEV)
			return id;
	}
	return XDPLB_NO_BACKEND;
}

/* connect4 / sendmsg4: point the socket at a backend if it dials a service. */
static __always_inline void sock_balance(struct bpf_sock_addr *ctx)
{
	__be32 vip = ctx->user_ip4;
	__be16 vport = (__be16)ctx->user_port;
	struct xdplb_backend *be = NULL;
	struct xdplb_service *svc;
	struct sock_nat *nat;
	__u8 proto;
	__u32 id;

	if (!in_host_netns(ctx) || !ctx->sk)
		return;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return;
	proto = ctx->protocol;
	svc = service_of(vip, vport, proto);
	if (!svc)
		return;

	nat = bpf_sk_storage_get(&sock_nat, ctx->sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	/* A UDP socket keeps its backend across datagrams while that backend stays usable. */
	if (nat && nat->vip.v4 == vip && nat->vport == vport) {
		be = backend_usable(nat->backend_id, XDPLB_AF_INET);
		id = nat->backend_id;
	}
	if (!be)
		id = sock_pick(ctx, svc, vip, vport, proto, &be);
	if (!be)
		return; /* no backend: the call goes to the VIP itself and fails as it would */

	ctx->user_ip4 = be->addr.v4;
	ctx->user_port = (__u32)be->port;
	if (nat) {
		/* One count per socket, on the backend it talks to now. */
		if (!nat->counted || nat->backend_id != id) {
			if (nat->counted)
				conn_add(nat->backend_id, -1);
			conn_add(id, 1);
			nat->counted = 1;
		}
		nat->vip.v4 = vip;
		nat->vport = vport;
		nat->backend.v4 = be->addr.v4;
		nat->bport = be->port;
		nat->backend_id = id;
	}
}

/* recvmsg4 / getpeername4: show the VIP where the kernel has the backend. */
static __always_inline void sock_unbalance(struct bpf_sock_addr *ctx)
{
	struct sock_nat *nat;

	if (!in_host_netns(ctx) || !ctx->sk)
		return;
	nat = bpf_sk_storage_get(&sock_nat, ctx->sk, NULL, 0);
	if (!nat || !nat->vip.v4)
		return;
	if (ctx->user_ip4 != nat->backend.v4 || (__be16)ctx->user_port != nat->bport)
		return;
	ctx->user_ip4 = nat->vip.v4;
	ctx->user_port = (__u32)nat->vport;
}

SEC("cgroup/connect4")
int xdplb_connect4(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg4")
int xdplb_sendmsg4(struct bpf_sock_addr *ctx)
{
	sock_balance(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg4")
int xdplb_recvmsg4(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int xdplb_getpeername4(struct bpf_sock_addr *ctx)
{
	sock_unbalance(ctx);
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
