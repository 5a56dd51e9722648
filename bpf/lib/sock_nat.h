/* Socket-level load balancing for host-local clients (bpf/xdplb_sock.bpf.c): what a socket was
 * translated to, kept in socket-local storage so it lives and dies with the socket (no table
 * to expire, no collisions between sockets). Only the BPF side reads it: no ABI struct. */
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

/* One translation per socket: the VIP:vport the application dialled and the backend:bport
 * the kernel talks to instead. A UDP socket that sends to several VIPs keeps the last one;
 * replies from other backends then show their real address. */
struct sock_nat {
	union xdplb_addr vip;
	union xdplb_addr backend;
	__be16 vport;
	__be16 bport;
	__u32 backend_id;
	__u8 family;  /* XDPLB_AF_* of vip and backend; 0: no translation yet */
	__u8 counted; /* 1: counted in backend_id's active connections until the socket goes */
	__u8 pad[2];
};

/* Socket -> its translation. Written by connect4/sendmsg4, read by recvmsg4/getpeername4
 * (and sendmsg4, to keep one backend per UDP socket) and by sock_release, which uncounts the
 * socket's connection. Freed by the kernel with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_nat);
} sock_nat SEC(".maps");
