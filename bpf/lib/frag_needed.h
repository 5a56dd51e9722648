/* TC: a container's request to a service that does not fit the way to its backend (lib/
 * hairpin.h) is answered as a router on that way would answer it: an ICMP "fragmentation
 * needed" (IPv4) / ICMPv6 "packet too big" (IPv6) from the VIP the container called, quoting
 * the request as the container sent it, so its socket learns the path MTU. The stack cannot
 * send it (the VIP is one of its own addresses: it would take the request for itself). The
 * frame is turned into the error in place (cut to the error's length, headers written over it)
 * and sent back out of the bridge to the container. */
#pragma once

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <stddef.h>

#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/parse.h"

#define XDPLB_IPV6_MIN_MTU 1280

/* The checksum of len bytes at p (a multiple of 4) added to seed, folded. */
static __always_inline __sum16 csum_of(void *p, __u32 len, __u32 seed)
{
	return (__sum16)~csum_fold32((__u32)bpf_csum_diff(NULL, 0, p, len, seed));
}

/* The request's Ethernet header turned around: back to the container, from the bridge. */
static __always_inline int frag_needed_eth(struct __sk_buff *skb)
{
	__u8 macs[2 * ETH_ALEN], swapped[2 * ETH_ALEN];

	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(swapped + ETH_ALEN, macs, ETH_ALEN);
	return bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0);
}

static __always_inline int frag_needed4(struct __sk_buff *skb, const struct packet *pkt, __u32 mtu)
{
	struct icmp4_error e;

	__builtin_memset(&e, 0, sizeof(e));
	/* the quote: the request's IP header (no options on this path) and 8 bytes of L4 */
	if (bpf_skb_load_bytes(skb, pkt->l3_off, &e.inner, sizeof(e.inner) + 8))
		return -1;
	e.outer.version = 4;
	e.outer.ihl = 5;
	e.outer.tot_len = bpf_htons(sizeof(e));
	e.outer.ttl = 64;
	e.outer.protocol = IPPROTO_ICMP;
	e.outer.saddr = pkt->key.dst.v4; /* the VIP */
	e.outer.daddr = pkt->key.src.v4; /* the container */
	e.outer.check = csum_of(&e.outer, sizeof(e.outer), 0);
	e.icmp.type = ICMP_DEST_UNREACH;
	e.icmp.code = ICMP_FRAG_NEEDED;
	e.icmp.un.frag.mtu = bpf_htons((__u16)mtu);
	e.icmp.checksum = csum_of(&e.icmp, sizeof(e) - sizeof(e.outer), 0);
	if (bpf_skb_change_tail(skb, pkt->l3_off + sizeof(e), 0))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l3_off, &e, sizeof(e), 0);
}

static __always_inline int frag_needed6(struct __sk_buff *skb, const struct packet *pkt, __u32 mtu)
{
	struct {
		union xdplb_addr src, dst;
		__be32 len;
		__be32 nexthdr;
	} pseudo;
	struct icmp6_error e;
	__u32 sum;

	__builtin_memset(&e, 0, sizeof(e));
	if (bpf_skb_load_bytes(skb, pkt->l3_off, &e.inner, sizeof(e.inner) + 8))
		return -1;
	e.outer.version = 6;
	e.outer.payload_len = bpf_htons(sizeof(e) - sizeof(e.outer));
	e.outer.nexthdr = IPPROTO_ICMPV6;
	e.outer.hop_limit = 64;
	__builtin_memcpy(&e.outer.saddr, pkt->key.dst.v6, sizeof(e.outer.saddr));
	__builtin_memcpy(&e.outer.daddr, pkt->key.src.v6, sizeof(e.outer.daddr));
	e.icmp.icmp6_type = ICMPV6_PKT_TOOBIG;
	e.icmp.icmp6_mtu = bpf_htonl(mtu < XDPLB_IPV6_MIN_MTU ? XDPLB_IPV6_MIN_MTU : mtu);
	pseudo.src = pkt->key.dst;
	pseudo.dst = pkt->key.src;
	pseudo.len = bpf_htonl(sizeof(e) - sizeof(e.outer));
	pseudo.nexthdr = bpf_htonl(IPPROTO_ICMPV6);
	sum = (__u32)bpf_csum_diff(NULL, 0, (void *)&pseudo, sizeof(pseudo), 0);
	e.icmp.icmp6_cksum = csum_of(&e.icmp, sizeof(e) - sizeof(e.outer), sum);
	if (bpf_skb_change_tail(skb, pkt->l3_off + sizeof(e), 0))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l3_off, &e, sizeof(e), 0);
}

/* Turns the request in skb (parsed as pkt) into the error for an MTU of mtu and sends it back
 * out of the device it came in on. Returns the TC verdict. */
static __always_inline int hairpin_frag_needed(struct __sk_buff *skb, const struct packet *pkt,
					       __u32 mtu)
{
	int err = pkt->ip6 ? frag_needed6(skb, pkt, mtu) : frag_needed4(skb, pkt, mtu);

	if (!err)
		err = frag_needed_eth(skb);
	count_reason(XDPLB_R_TC_HAIRPIN_FRAG_NEEDED);
	if (err) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	return bpf_redirect(skb->ifindex, 0);
}
