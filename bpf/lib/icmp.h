/* ICMP and ICMPv6 errors about load-balanced flows (RFC 792 / 4443: the error quotes the IP
 * header and at least the first 8 bytes of the packet that caused it). Path MTU discovery
 * depends on them: a router's "fragmentation needed" / "packet too big" about a reply is sent
 * to the VIP (the reply's source) and must reach the backend that sent it; a backend's error
 * about a request must reach the client from the VIP, not from the backend's address.
 *
 * The quoted packet is a packet of the flow, so it finds the flow's entries like the flow's
 * own packets, with source and destination swapped (a quoted reply is looked up as the
 * request). The translation applies the flow's NAT to the quoted packet (addresses, ports,
 * its IP header checksum) and to the outer addresses that are the quoted packet's ends, and
 * carries every change into the ICMP checksum (which covers the quote; for ICMPv6 also the
 * pseudo-header). The quote's own TCP/UDP checksum is left as it is: it is often cut off,
 * and receivers do not check it (Katran's handle_icmp.h does the same).
 *
 * One layout per family as the frame lies after the Ethernet header, without IPv4 options or
 * IPv6 extension headers on either IP header. XDP rewrites it in the frame; TC loads it into
 * a copy, rewrites that and stores it back (no direct writes: they would make the TC program
 * unclone every skb). */
#pragma once

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/in.h>

#include "lib/csum.h"
#include "lib/parse.h"

struct icmp4_error {
	struct iphdr outer;
	struct icmphdr icmp;
	struct iphdr inner;
	__be16 sport; /* the quoted TCP/UDP header: ports, then 4 more bytes */
	__be16 dport;
	__be32 l4_rest;
};

struct icmp6_error {
	struct ipv6hdr outer;
	struct icmp6hdr icmp;
	struct ipv6hdr inner;
	__be16 sport;
	__be16 dport;
	__be32 l4_rest;
};

static __always_inline bool icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

static __always_inline bool icmp6_is_error(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* Is h an ICMP error quoting a TCP/UDP packet, in the layout above? */
static __always_inline bool icmp4_error_ok(const struct icmp4_error *h)
{
	return h->outer.version == 4 && h->outer.ihl == 5 && h->outer.protocol == IPPROTO_ICMP &&
	       !ipv4_is_fragment(&h->outer) && icmp4_is_error(h->icmp.type) &&
	       h->inner.version == 4 && h->inner.ihl == 5 &&
	       (h->inner.protocol == IPPROTO_TCP || h->inner.protocol == IPPROTO_UDP) &&
	       !(h->inner.frag_off & bpf_htons(XDPLB_IP_OFFSET)) &&
	       bpf_ntohs(h->outer.tot_len) >= sizeof(*h);
}

static __always_inline bool icmp6_error_ok(const struct icmp6_error *h)
{
	return h->outer.nexthdr == IPPROTO_ICMPV6 && icmp6_is_error(h->icmp.icmp6_type) &&
	       (h->inner.nexthdr == IPPROTO_TCP || h->inner.nexthdr == IPPROTO_UDP) &&
	       bpf_ntohs(h->outer.payload_len) >= sizeof(*h) - sizeof(h->outer);
}

/* The flow key of the packet the error quotes, with its ends swapped: the key of the packet
 * going the other way (a quoted reply gives the request's key, and the other way round). */
static __always_inline void icmp4_flow_key(const struct icmp4_error *h, struct xdplb_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->src.v4 = h->inner.daddr;
	k->sport = h->dport;
	k->dst.v4 = h->inner.saddr;
	k->dport = h->sport;
	k->proto = h->inner.protocol;
	k->family = XDPLB_AF_INET;
}

static __always_inline void icmp6_flow_key(const struct icmp6_error *h, struct xdplb_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->src.v6, &h->inner.daddr, sizeof(k->src.v6));
	k->sport = h->dport;
	__builtin_memcpy(k->dst.v6, &h->inner.saddr, sizeof(k->dst.v6));
	k->dport = h->sport;
	k->proto = h->inner.nexthdr;
	k->family = XDPLB_AF_INET6;
}

/* Rewrite the quoted packet to `to` (its new source/destination address and port, in its own
 * direction) and the outer addresses that were its ends: the outer source when it was the
 * quote's destination (the host the error comes from), the outer destination when it was the
 * quote's source (the host the error goes to). A router in between keeps its address. */
static __always_inline void icmp4_translate(struct icmp4_error *h, const struct xdplb_flow_key *to)
{
	__be32 qsrc = h->inner.saddr, qdst = h->inner.daddr;
	__sum16 old_qcheck = h->inner.check;

	if (h->outer.saddr == qdst) {
		csum_replace4(&h->outer.check, qdst, to->dst.v4);
		h->outer.saddr = to->dst.v4;
	}
	if (h->outer.daddr == qsrc) {
		csum_replace4(&h->outer.check, qsrc, to->src.v4);
		h->outer.daddr = to->src.v4;
	}
	csum_replace4(&h->inner.check, qsrc, to->src.v4);
	csum_replace4(&h->inner.check, qdst, to->dst.v4);
	h->inner.saddr = to->src.v4;
	h->inner.daddr = to->dst.v4;

	csum_replace4(&h->icmp.checksum, qsrc, to->src.v4);
	csum_replace4(&h->icmp.checksum, qdst, to->dst.v4);
	csum_replace2(&h->icmp.checksum, old_qcheck, h->inner.check);
	csum_replace2(&h->icmp.checksum, h->sport, to->sport);
	csum_replace2(&h->icmp.checksum, h->dport, to->dport);
	h->sport = to->sport;
	h->dport = to->dport;
}

/* One 16-byte address from -> to, with its change added to the ICMPv6 checksum. */
static __always_inline void icmp6_replace_addr(__sum16 *check, __be32 *addr, const __be32 *to)
{
	int i;

	for (i = 0; i < 4; i++) {
		csum_replace4(check, addr[i], to[i]);
		addr[i] = to[i];
	}
}

static __always_inline bool addr6_eq(const __be32 *a, const __be32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* As icmp4_translate; the outer addresses count through the ICMPv6 pseudo-header. */
static __always_inline void icmp6_translate(struct icmp6_error *h, const struct xdplb_flow_key *to)
{
	__sum16 *check = &h->icmp.icmp6_cksum;
	__be32 *osrc = (__be32 *)&h->outer.saddr, *odst = (__be32 *)&h->outer.daddr;
	__be32 *qsrc = (__be32 *)&h->inner.saddr, *qdst = (__be32 *)&h->inner.daddr;

	if (addr6_eq(osrc, qdst))
		icmp6_replace_addr(check, osrc, to->dst.v6);
	if (addr6_eq(odst, qsrc))
		icmp6_replace_addr(check, odst, to->src.v6);
	icmp6_replace_addr(check, qsrc, to->src.v6);
	icmp6_replace_addr(check, qdst, to->dst.v6);
	csum_replace2(check, h->sport, to->sport);
	csum_replace2(check, h->dport, to->dport);
	h->sport = to->sport;
	h->dport = to->dport;
}
