/* Fragments of balanced datagrams (after Cilium's ipv4_handle_fragmentation). Only the first
 * fragment carries the ports that find a flow; it is balanced and rewritten like any packet
 * of its flow, and what it became (its new addresses, and in XDP its backend) is remembered
 * under the datagram's (src, dst, IP id / IPv6 fragment id, proto) for a short time. Each
 * later fragment gets the same addresses: it has no L4 header, and the L4 checksum in the
 * first fragment already took the change for the whole datagram. A later fragment whose
 * first has not been seen (reordered, or not ours) goes on untouched, as before.
 * Both directions: XDP for requests from the uplinks, TC for replies and hairpin requests. */
#pragma once

#include <linux/pkt_cls.h>
#include <stddef.h>

#include "lib/counters.h"
#include "lib/csum.h"
#include "lib/maps.h"
#include "lib/parse.h"

static __always_inline void frag_key_of(const struct packet *pkt, const struct frag_info *fi,
					__u8 side, struct xdplb_frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src = pkt->key.src;
	k->dst = pkt->key.dst;
	k->id = fi->id;
	k->proto = pkt->key.proto;
	k->family = pkt->key.family;
	k->side = side;
}

/* The first fragment of pkt's datagram (pkt as it arrived on side) left as src -> dst. */
static __always_inline void frag_remember(const struct packet *pkt, const struct frag_info *fi,
					  __u8 side, const union xdplb_addr *src, const union xdplb_addr *dst,
					  __u32 backend)
{
	struct xdplb_frag_key k;
	struct xdplb_frag f;

	frag_key_of(pkt, fi, side, &k);
	__builtin_memset(&f, 0, sizeof(f));
	f.src = *src;
	f.dst = *dst;
	f.backend = backend;
	f.created_ns = bpf_ktime_get_ns();
	if (!bpf_map_update_elem(&frags, &k, &f, BPF_ANY))
		count_reason(XDPLB_R_FRAG_FIRST);
}

/* What the first fragment of pkt's datagram became, if it was seen lately on the same side. */
static __always_inline struct xdplb_frag *frag_lookup(const struct packet *pkt,
						      const struct frag_info *fi, __u8 side)
{
	struct xdplb_frag_key k;
	struct xdplb_frag *f;

	frag_key_of(pkt, fi, side, &k);
	f = bpf_map_lookup_elem(&frags, &k);
	if (!f || bpf_ktime_get_ns() - f->created_ns > XDPLB_FRAG_TIMEOUT_NS)
		return NULL;
	return f;
}

/* The addresses of the frame as it is now (after a rewrite). */
static __always_inline void frag_addrs_of_frame(const struct packet *pkt, union xdplb_addr *src,
						union xdplb_addr *dst)
{
	__builtin_memset(src, 0, sizeof(*src));
	__builtin_memset(dst, 0, sizeof(*dst));
	if (pkt->ip6) {
		__builtin_memcpy(src->v6, &pkt->ip6->saddr, sizeof(src->v6));
		__builtin_memcpy(dst->v6, &pkt->ip6->daddr, sizeof(dst->v6));
	} else if (pkt->ip4) {
		src->v4 = pkt->ip4->saddr;
		dst->v4 = pkt->ip4->daddr;
	}
}

/* XDP: give a later fragment the addresses of its first. */
static __always_inline void frag_rewrite_xdp(struct packet *pkt, const struct xdplb_frag *f)
{
	if (pkt->ip6) {
		__builtin_memcpy(&pkt->ip6->saddr, f->src.v6, sizeof(f->src.v6));
		__builtin_memcpy(&pkt->ip6->daddr, f->dst.v6, sizeof(f->dst.v6));
	} else if (pkt->ip4) {
		csum_replace4(&pkt->ip4->check, pkt->ip4->saddr, f->src.v4);
		csum_replace4(&pkt->ip4->check, pkt->ip4->daddr, f->dst.v4);
		pkt->ip4->saddr = f->src.v4;
		pkt->ip4->daddr = f->dst.v4;
	}
}

/* TC: as frag_rewrite_xdp with the skb helpers (offsets only). 0 or a helper's error. */
static __always_inline int frag_rewrite_tc(struct __sk_buff *skb, const struct packet *pkt,
					   const union xdplb_addr *src, const union xdplb_addr *dst)
{
	__u32 ip_off = pkt->l3_off;
	int err;

	if (pkt->key.family == XDPLB_AF_INET6) {
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct ipv6hdr, saddr), src->v6,
					  sizeof(src->v6), 0);
		if (!err)
			err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct ipv6hdr, daddr),
						  dst->v6, sizeof(dst->v6), 0);
		return err;
	}
	err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), pkt->key.src.v4,
				  src->v4, sizeof(src->v4));
	if (!err)
		err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check),
					  pkt->key.dst.v4, dst->v4, sizeof(dst->v4));
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), &src->v4,
					  sizeof(src->v4), 0);
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, daddr), &dst->v4,
					  sizeof(dst->v4), 0);
	return err;
}

/* TC: the addresses of the skb's IP header as it is now (after a rewrite). */
static __always_inline int frag_addrs_of_skb(struct __sk_buff *skb, const struct packet *pkt,
					     union xdplb_addr *src, union xdplb_addr *dst)
{
	__builtin_memset(src, 0, sizeof(*src));
	__builtin_memset(dst, 0, sizeof(*dst));
	if (pkt->key.family == XDPLB_AF_INET6)
		return bpf_skb_load_bytes(skb, pkt->l3_off + offsetof(struct ipv6hdr, saddr),
					  src->v6, sizeof(src->v6)) ||
		       bpf_skb_load_bytes(skb, pkt->l3_off + offsetof(struct ipv6hdr, daddr),
					  dst->v6, sizeof(dst->v6));
	return bpf_skb_load_bytes(skb, pkt->l3_off + offsetof(struct iphdr, saddr), &src->v4,
				  sizeof(src->v4)) ||
	       bpf_skb_load_bytes(skb, pkt->l3_off + offsetof(struct iphdr, daddr), &dst->v4,
				  sizeof(dst->v4));
}
