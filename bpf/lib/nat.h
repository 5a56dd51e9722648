/* Address rewrites. XDP: DNAT client -> VIP:vport into client -> backend:bport with the
 * incremental checksums of csum.h. TC: reverse NAT of a reply's source back to VIP:vport the
 * same way, by the skb's checksum state (revnat_tc); the two-way rewrites of hairpin traffic
 * with the skb checksum helpers, which also keep CHECKSUM_PARTIAL/COMPLETE skbs consistent. */
#pragma once

#include <linux/pkt_cls.h>
#include <stddef.h>

#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/skb_csum.h"

/* XDP: rewrite one end of pkt (IPv4, no options) to new_ip:new_port: the destination for
 * DNAT (client -> backend), the source for the reverse NAT of a routed backend's reply. */
static __always_inline void nat4(struct packet *pkt, bool source, __be32 new_ip, __be16 new_port)
{
	__be32 *ip = source ? &pkt->ip4->saddr : &pkt->ip4->daddr;
	__be32 old_ip = *ip;
	__be16 old_port = source ? pkt->key.sport : pkt->key.dport;
	__be16 *port;

	*ip = new_ip;
	csum_replace4(&pkt->ip4->check, old_ip, new_ip);
	if (pkt->tcp) {
		port = source ? &pkt->tcp->source : &pkt->tcp->dest;
		*port = new_port;
		csum_replace4(&pkt->tcp->check, old_ip, new_ip); /* pseudo-header */
		csum_replace2(&pkt->tcp->check, old_port, new_port);
	} else if (pkt->udp) {
		port = source ? &pkt->udp->source : &pkt->udp->dest;
		*port = new_port;
		if (!pkt->udp->check) /* sender chose no checksum: keep it that way */
			return;
		csum_replace4(&pkt->udp->check, old_ip, new_ip);
		csum_replace2(&pkt->udp->check, old_port, new_port);
		if (!pkt->udp->check)
			pkt->udp->check = XDPLB_CSUM_MANGLED_0;
	}
}

/* XDP: as nat4 for IPv6, which has no header checksum; the address is part of the L4
 * pseudo-header, so the L4 checksum takes the change of each of its four words. */
static __always_inline void nat6(struct packet *pkt, bool source, const union xdplb_addr *to,
				 __be16 new_port)
{
	__be32 *addr = source ? (__be32 *)&pkt->ip6->saddr : (__be32 *)&pkt->ip6->daddr;
	__be16 old_port = source ? pkt->key.sport : pkt->key.dport;
	__sum16 *check;
	int i;

	if (pkt->tcp) {
		check = &pkt->tcp->check;
		*(source ? &pkt->tcp->source : &pkt->tcp->dest) = new_port;
	} else if (pkt->udp) {
		check = &pkt->udp->check;
		*(source ? &pkt->udp->source : &pkt->udp->dest) = new_port;
	} else {
		return;
	}
	/* A zero UDP checksum is invalid over IPv6 (RFC 8200): keep it, the receiver drops it
	 * as it would without us. */
	if (pkt->udp && !*check) {
		for (i = 0; i < 4; i++)
			addr[i] = to->v6[i];
		return;
	}
	for (i = 0; i < 4; i++) {
		csum_replace4(check, addr[i], to->v6[i]);
		addr[i] = to->v6[i];
	}
	csum_replace2(check, old_port, new_port);
	if (pkt->udp && !*check)
		*check = XDPLB_CSUM_MANGLED_0;
}

/* XDP: one end of either family. Dispatch on the header pointer parse_packet set (not on
 * key.family): the verifier then knows which of ip4/ip6 is a packet pointer on each branch. */
static __always_inline void xdp_nat(struct packet *pkt, bool source, const union xdplb_addr *to,
				    __be16 port)
{
	if (pkt->ip6)
		nat6(pkt, source, to, port);
	else if (pkt->ip4)
		nat4(pkt, source, to->v4, port);
}

/* XDP: DNAT of either family to be:bport. */
static __always_inline void dnat(struct packet *pkt, const struct xdplb_backend *be,
				 __be16 bport)
{
	xdp_nat(pkt, false, &be->addr, bport);
}

/* TC: where the L4 checksum of pkt sits, and the flags every bpf_l4_csum_replace on it needs:
 * a zero (absent) UDP checksum is left alone, never produced (BPF_F_MARK_MANGLED_0). */
struct l4_csum {
	__u32 off;
	__u32 flags;
};

static __always_inline struct l4_csum l4_csum_of(const struct packet *pkt)
{
	struct l4_csum c;

	if (pkt->key.proto == IPPROTO_TCP) {
		c.off = pkt->l4_off + offsetof(struct tcphdr, check);
		c.flags = 0;
	} else {
		c.off = pkt->l4_off + offsetof(struct udphdr, check);
		c.flags = BPF_F_MARK_MANGLED_0;
	}
	return c;
}

/* TC, IPv6: one 16-byte address of the pseudo-header changes from -> to; the L4 checksum
 * takes the change of each of its four words (IPv6 has no header checksum). */
static __always_inline int l4_csum_replace_addr6(struct __sk_buff *skb, struct l4_csum c,
						 const __be32 *from, const __be32 *to)
{
	int err = 0, i;

	for (i = 0; i < 4 && !err; i++)
		err = bpf_l4_csum_replace(skb, c.off, from[i], to[i],
					  BPF_F_PSEUDO_HDR | c.flags | sizeof(__be32));
	return err;
}

/* TC: add a rewrite's change into the L4 checksum at check, in the packet: pseudo is the
 * change of the pseudo-header (addresses), l4 that of the L4 header itself (ports). What the
 * field holds depends on the skb's checksum state (lib/skb_csum.h): CHECKSUM_PARTIAL's folded
 * pseudo-header sum takes the pseudo-header change only, not complemented (the L4 header is
 * summed when the packet leaves); every other state's full checksum takes both. A zero UDP
 * checksum (none was computed) stays zero; a computed zero is sent as 0xffff. This is what
 * bpf_l4_csum_replace does with BPF_F_PSEUDO_HDR and BPF_F_MARK_MANGLED_0, without a call. */
static __always_inline void tc_l4_csum_add(__sum16 *check, bool udp, __u32 ip_summed, __u32 pseudo,
					   __u32 l4)
{
	if (udp && !*check)
		return;
	if (ip_summed == XDPLB_CHECKSUM_PARTIAL)
		*check = (__sum16)csum_fold32((__u32)(__u16)*check + pseudo);
	else
		csum_add_delta(check, pseudo + l4);
	if (udp && !*check)
		*check = XDPLB_CSUM_MANGLED_0;
}

/* TC: put rev's VIP:vport back as the source of a reply, written straight into the packet
 * through pkt's header pointers (valid: no helper that moves packet data runs between the
 * parse and this). The checksum changes are summed and each checksum is updated once: IPv4's
 * header checksum takes the address change, the L4 checksum address + port (tc_l4_csum_add).
 * CHECKSUM_COMPLETE: skb->csum sums the packet from the IP header on; an IPv4 rewrite changes
 * that sum by minus the address change (the header checksum takes the address back, the L4
 * checksum takes address and port back), an IPv6 one not at all (no header checksum). */
static __always_inline void revnat_tc(struct __sk_buff *skb, struct packet *pkt,
				      const struct xdplb_reverse *rev)
{
	__u32 ip_summed = skb_ip_summed(skb), pseudo = 0, i;
	__u32 l4 = csum_delta2(pkt->key.sport, rev->vport);

	if (pkt->ip6) {
		for (i = 0; i < 4; i++)
			pseudo += csum_delta4(pkt->key.src.v6[i], rev->vip.v6[i]);
		__builtin_memcpy(&pkt->ip6->saddr, rev->vip.v6, sizeof(rev->vip.v6));
	} else if (pkt->ip4) {
		pseudo = csum_delta4(pkt->key.src.v4, rev->vip.v4);
		pkt->ip4->saddr = rev->vip.v4;
		csum_add_delta(&pkt->ip4->check, pseudo);
		if (ip_summed == XDPLB_CHECKSUM_COMPLETE)
			bpf_csum_update(skb, csum_delta4(rev->vip.v4, pkt->key.src.v4));
	}
	if (pkt->tcp) {
		pkt->tcp->source = rev->vport;
		tc_l4_csum_add(&pkt->tcp->check, false, ip_summed, pseudo, l4);
	} else if (pkt->udp) {
		pkt->udp->source = rev->vport;
		tc_l4_csum_add(&pkt->udp->check, true, ip_summed, pseudo, l4);
	}
}

/* TC: the ports half of a two-way rewrite (tc_rewrite4/6): checksum, then both ports, which
 * sit at offsets 0 and 2 of both TCP and UDP. */
static __always_inline int tc_rewrite_ports(struct __sk_buff *skb, const struct packet *pkt,
					    struct l4_csum c, __be16 sport, __be16 dport)
{
	__be16 old_sport = pkt->key.sport, old_dport = pkt->key.dport;
	__u32 l4_off = pkt->l4_off;
	int err;

	err = bpf_l4_csum_replace(skb, c.off, old_sport, sport, c.flags | sizeof(sport));
	if (!err)
		err = bpf_l4_csum_replace(skb, c.off, old_dport, dport, c.flags | sizeof(dport));
	if (!err)
		err = bpf_skb_store_bytes(skb, l4_off, &sport, sizeof(sport), 0);
	if (!err)
		err = bpf_skb_store_bytes(skb, l4_off + 2, &dport, sizeof(dport), 0);
	return err;
}

/* TC: rewrite source and destination at once (hairpin: DNAT to the backend + SNAT to the
 * bridge address, and back on replies). Offsets only: the helpers invalidate packet pointers.
 * Returns 0 or a negative error of a helper. */
static __always_inline int tc_rewrite4(struct __sk_buff *skb, const struct packet *pkt,
				       __be32 saddr, __be16 sport, __be32 daddr, __be16 dport)
{
	__be32 old_saddr = pkt->key.src.v4, old_daddr = pkt->key.dst.v4;
	__u32 ip_off = pkt->l3_off;
	struct l4_csum c = l4_csum_of(pkt);
	int err;

	err = bpf_l4_csum_replace(skb, c.off, old_saddr, saddr,
				  BPF_F_PSEUDO_HDR | c.flags | sizeof(saddr));
	if (!err)
		err = bpf_l4_csum_replace(skb, c.off, old_daddr, daddr,
					  BPF_F_PSEUDO_HDR | c.flags | sizeof(daddr));
	if (!err)
		err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_saddr,
					  saddr, sizeof(saddr));
	if (!err)
		err = bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_daddr,
					  daddr, sizeof(daddr));
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), &saddr,
					  sizeof(saddr), 0);
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, daddr), &daddr,
					  sizeof(daddr), 0);
	if (!err)
		err = tc_rewrite_ports(skb, pkt, c, sport, dport);
	return err;
}

/* TC, IPv6: as tc_rewrite4, with the 16-byte addresses only in the L4 pseudo-header sum. */
static __always_inline int tc_rewrite6(struct __sk_buff *skb, const struct packet *pkt,
				       const union xdplb_addr *saddr, __be16 sport,
				       const union xdplb_addr *daddr, __be16 dport)
{
	__u32 ip_off = pkt->l3_off;
	struct l4_csum c = l4_csum_of(pkt);
	int err;

	err = l4_csum_replace_addr6(skb, c, pkt->key.src.v6, saddr->v6);
	if (!err)
		err = l4_csum_replace_addr6(skb, c, pkt->key.dst.v6, daddr->v6);
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct ipv6hdr, saddr), saddr->v6,
					  sizeof(saddr->v6), 0);
	if (!err)
		err = bpf_skb_store_bytes(skb, ip_off + offsetof(struct ipv6hdr, daddr), daddr->v6,
					  sizeof(daddr->v6), 0);
	if (!err)
		err = tc_rewrite_ports(skb, pkt, c, sport, dport);
	return err;
}

/* TC: tc_rewrite4/6 by the packet's family. */
static __always_inline int tc_rewrite(struct __sk_buff *skb, const struct packet *pkt,
				      const union xdplb_addr *saddr, __be16 sport,
				      const union xdplb_addr *daddr, __be16 dport)
{
	if (pkt->key.family == XDPLB_AF_INET6)
		return tc_rewrite6(skb, pkt, saddr, sport, daddr, dport);
	return tc_rewrite4(skb, pkt, saddr->v4, sport, daddr->v4, dport);
}
