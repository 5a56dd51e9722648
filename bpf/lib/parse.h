/* Header parsing: a bounds-checked cursor and one parse_* per protocol (after xdp-tools'
 * parsing_helpers.h). Shared by the XDP and the TC program, so both see a packet the same way.
 * Nothing here writes to the packet. */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

/* Fragment bits of iphdr.frag_off (host order; the kernel keeps them in net/ip.h, not uapi). */
#define XDPLB_IP_DF 0x4000
#define XDPLB_IP_MF 0x2000
#define XDPLB_IP_OFFSET 0x1fff

struct hdr_cursor {
	void *pos;
	void *end;
};

/* How far parsing got; the caller maps this to its own (XDP or TC) reason. */
enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,     /* not an IP ethertype, or an IP header of another version */
	PARSE_NOT_L4,     /* IP, but not something we balance (other protocol, ICMPv6/ND, IPv6
			   * extension headers) */
	PARSE_TRUNCATED,  /* shorter than the headers it claims */
	PARSE_FRAGMENT,   /* IPv4 fragment: ports are missing or belong to the whole datagram */
	PARSE_SHORT_FRAME, /* the frame is shorter than its IP length says: never rewritten */
};

/* One parsed packet. key holds the 5-tuple as it arrived (zero padded: it is hashed and used
 * as a map key as is). */
struct packet {
	struct ethhdr *eth;
	struct iphdr *ip4;  /* exactly one of ip4/ip6 is set when PARSE_OK */
	struct ipv6hdr *ip6;
	struct tcphdr *tcp; /* exactly one of tcp/udp is set when PARSE_OK */
	struct udphdr *udp;
	__u32 l3_off;       /* from the start of the frame */
	__u32 l4_off;
	__u32 len;          /* frame length as seen by the program (linear part for TC) */
	bool ip_options;    /* IPv4 header longer than 20 bytes */
	struct xdplb_flow_key key;
};

static __always_inline int parse_ethhdr(struct hdr_cursor *c, struct ethhdr **ethp)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	*ethp = eth;
	return eth->h_proto; /* network order */
}

/* Returns the L4 protocol, -1 for a truncated/invalid header, -2 for another IP version. */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct iphdr **iphp)
{
	struct iphdr *iph = c->pos;
	__u32 hdrsize;

	if ((void *)(iph + 1) > c->end)
		return -1;
	if (iph->version != 4)
		return -2; /* not IPv4 whatever the ethertype says (the stack drops it too) */
	hdrsize = iph->ihl * 4;
	if (hdrsize < sizeof(*iph))
		return -1;
	if (c->pos + hdrsize > c->end)
		return -1;
	if (bpf_ntohs(iph->tot_len) < hdrsize)
		return -1;
	c->pos += hdrsize;
	*iphp = iph;
	return iph->protocol;
}

/* l4_len: the L4 bytes the IP header claims (already checked against the frame). The data
 * offset must cover the fixed header and stay inside them; the options need not be linear. */
static __always_inline int parse_tcphdr(struct hdr_cursor *c, struct tcphdr **tcpp, __u32 l4_len)
{
	struct tcphdr *tcp = c->pos;
	__u32 doff;

	if ((void *)(tcp + 1) > c->end)
		return -1;
	doff = tcp->doff * 4;
	if (doff < sizeof(*tcp) || doff > l4_len)
		return -1;
	c->pos = tcp + 1;
	*tcpp = tcp;
	return 0;
}

/* The UDP length covers its header and stays inside the IP payload (a shorter one is legal:
 * the receiver trims the rest, as the kernel's udp_rcv does). */
static __always_inline int parse_udphdr(struct hdr_cursor *c, struct udphdr **udpp, __u32 l4_len)
{
	struct udphdr *udp = c->pos;
	__u32 ulen;

	if ((void *)(udp + 1) > c->end)
		return -1;
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > l4_len)
		return -1;
	c->pos = udp + 1;
	*udpp = udp;
	return 0;
}

static __always_inline bool ipv4_is_fragment(const struct iphdr *iph)
{
	return iph->frag_off & bpf_htons(XDPLB_IP_MF | XDPLB_IP_OFFSET);
}

/* The TCP or UDP header after the IP header, and the ports of the 5-tuple. */
static __always_inline int parse_l4(struct hdr_cursor *c, struct packet *pkt, int proto,
				    __u32 l4_len)
{
	if (proto == IPPROTO_TCP) {
		if (l4_len < sizeof(struct tcphdr) || parse_tcphdr(c, &pkt->tcp, l4_len) < 0)
			return PARSE_TRUNCATED;
		pkt->key.sport = pkt->tcp->source;
		pkt->key.dport = pkt->tcp->dest;
	} else {
		if (l4_len < sizeof(struct udphdr) || parse_udphdr(c, &pkt->udp, l4_len) < 0)
			return PARSE_TRUNCATED;
		pkt->key.sport = pkt->udp->source;
		pkt->key.dport = pkt->udp->dest;
	}
	pkt->key.proto = proto;
	return PARSE_OK;
}

/* IPv4 part of parse_packet: the L4 header and the 5-tuple. l3_len: the frame's bytes from
 * the IP header on (the whole skb for TC, not only its linear part); Ethernet padding makes it
 * longer than tot_len, which is fine. */
static __always_inline int parse_ipv4_packet(struct hdr_cursor *c, struct packet *pkt, void *data,
					     __u32 l3_len)
{
	int proto = parse_iphdr(c, &pkt->ip4);
	int res;

	if (proto == -2)
		return PARSE_NOT_IP;
	if (proto < 0)
		return PARSE_TRUNCATED;
	if (bpf_ntohs(pkt->ip4->tot_len) > l3_len)
		return PARSE_SHORT_FRAME;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return PARSE_NOT_L4;
	if (ipv4_is_fragment(pkt->ip4))
		return PARSE_FRAGMENT;

	pkt->l4_off = c->pos - data;
	pkt->ip_options = pkt->ip4->ihl > 5;
	res = parse_l4(c, pkt, proto, bpf_ntohs(pkt->ip4->tot_len) - pkt->ip4->ihl * 4);
	if (res != PARSE_OK)
		return res;
	pkt->key.src.v4 = pkt->ip4->saddr;
	pkt->key.dst.v4 = pkt->ip4->daddr;
	pkt->key.family = XDPLB_AF_INET;
	return PARSE_OK;
}

/* IPv6 part of parse_packet. Only TCP/UDP right after the fixed header is balanced:
 * extension headers (fragments included), ICMPv6 and neighbour discovery pass untouched. */
static __always_inline int parse_ipv6_packet(struct hdr_cursor *c, struct packet *pkt, void *data,
					     __u32 l3_len)
{
	struct ipv6hdr *ip6 = c->pos;
	int proto, res;

	if ((void *)(ip6 + 1) > c->end)
		return PARSE_TRUNCATED;
	if (ip6->version != 6)
		return PARSE_NOT_IP;
	if (sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > l3_len)
		return PARSE_SHORT_FRAME;
	c->pos = ip6 + 1;
	pkt->ip6 = ip6;
	proto = ip6->nexthdr;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return PARSE_NOT_L4;
	pkt->l4_off = c->pos - data;
	res = parse_l4(c, pkt, proto, bpf_ntohs(ip6->payload_len));
	if (res != PARSE_OK)
		return res;
	__builtin_memcpy(pkt->key.src.v6, &ip6->saddr, sizeof(pkt->key.src.v6));
	__builtin_memcpy(pkt->key.dst.v6, &ip6->daddr, sizeof(pkt->key.dst.v6));
	pkt->key.family = XDPLB_AF_INET6;
	return PARSE_OK;
}

/* Parse eth / IP / TCP|UDP of the frame [data, data_end). frame_len: the whole frame's length
 * (XDP: data_end - data; TC: skb->len, of which only the headers need be linear). Every
 * length field is checked against it before anyone rewrites the packet. */
static __always_inline int parse_packet(void *data, void *data_end, __u32 frame_len,
					struct packet *pkt)
{
	struct hdr_cursor c = { .pos = data, .end = data_end };
	int eth_proto;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->len = data_end - data;
	eth_proto = parse_ethhdr(&c, &pkt->eth);
	if (eth_proto < 0)
		return PARSE_TRUNCATED;
	pkt->l3_off = sizeof(struct ethhdr);
	if (frame_len < pkt->l3_off)
		return PARSE_TRUNCATED;
	if (eth_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4_packet(&c, pkt, data, frame_len - pkt->l3_off);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6_packet(&c, pkt, data, frame_len - pkt->l3_off);
	return PARSE_NOT_IP;
}

/* ---- fragments (lib/frag.h) ---- */

/* The IPv6 fragment extension header (RFC 8200 4.5; the kernel keeps it in net/ipv6.h). */
#define XDPLB_NEXTHDR_FRAGMENT 44
#define XDPLB_IP6_MF 0x0001
#define XDPLB_IP6_OFFSET 0xfff8
struct xdplb_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

enum frag_kind {
	FRAG_NONE = 0, /* not a fragment of a TCP/UDP datagram we could balance */
	FRAG_FIRST,    /* offset 0: the L4 header and the 5-tuple are in pkt, as parse_packet */
	FRAG_LATER,    /* offset > 0: pkt has the addresses, proto and family, no ports */
};

/* The datagram a fragment belongs to: IPv4 id (zero-extended) or IPv6 identification. */
struct frag_info {
	__be32 id;
};

static __always_inline void packet_set_addrs4(struct packet *pkt, int proto)
{
	pkt->key.src.v4 = pkt->ip4->saddr;
	pkt->key.dst.v4 = pkt->ip4->daddr;
	pkt->key.proto = proto;
	pkt->key.family = XDPLB_AF_INET;
}

/* The L4 length a first fragment's header is checked against. A UDP length covers the whole
 * datagram, not this fragment, so it may only be checked against the largest IP payload; a
 * TCP data offset must fit the fragment itself. */
static __always_inline __u32 first_fragment_l4_len(int proto, __u32 fragment_payload)
{
	return proto == IPPROTO_UDP ? 0xffff : fragment_payload;
}

static __always_inline int parse_ipv4_fragment(struct hdr_cursor *c, struct packet *pkt,
					       void *data, struct frag_info *fi)
{
	int proto = parse_iphdr(c, &pkt->ip4);

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return FRAG_NONE;
	if (!ipv4_is_fragment(pkt->ip4))
		return FRAG_NONE;
	fi->id = (__be32)pkt->ip4->id;
	pkt->l4_off = c->pos - data;
	pkt->ip_options = pkt->ip4->ihl > 5;
	packet_set_addrs4(pkt, proto);
	if (pkt->ip4->frag_off & bpf_htons(XDPLB_IP_OFFSET))
		return FRAG_LATER;
	if (parse_l4(c, pkt, proto, first_fragment_l4_len(proto, bpf_ntohs(pkt->ip4->tot_len) - pkt->ip4->ihl * 4)) != PARSE_OK)
		return FRAG_NONE;
	return FRAG_FIRST;
}

/* IPv6: only a fragment header right after the fixed header, then TCP/UDP. */
static __always_inline int parse_ipv6_fragment(struct hdr_cursor *c, struct packet *pkt,
					       void *data, struct frag_info *fi)
{
	struct ipv6hdr *ip6 = c->pos;
	struct xdplb_frag_hdr *fh;
	int proto;

	if ((void *)(ip6 + 1) > c->end || ip6->nexthdr != XDPLB_NEXTHDR_FRAGMENT)
		return FRAG_NONE;
	fh = (void *)(ip6 + 1);
	if ((void *)(fh + 1) > c->end || bpf_ntohs(ip6->payload_len) < sizeof(*fh))
		return FRAG_NONE;
	proto = fh->nexthdr;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return FRAG_NONE;
	c->pos = fh + 1;
	pkt->ip6 = ip6;
	pkt->l4_off = c->pos - data;
	fi->id = fh->identification;
	__builtin_memcpy(pkt->key.src.v6, &ip6->saddr, sizeof(pkt->key.src.v6));
	__builtin_memcpy(pkt->key.dst.v6, &ip6->daddr, sizeof(pkt->key.dst.v6));
	pkt->key.proto = proto;
	pkt->key.family = XDPLB_AF_INET6;
	if (fh->frag_off & bpf_htons(XDPLB_IP6_OFFSET))
		return FRAG_LATER;
	if (parse_l4(c, pkt, proto, first_fragment_l4_len(proto, bpf_ntohs(ip6->payload_len) - sizeof(*fh))) != PARSE_OK)
		return FRAG_NONE;
	return FRAG_FIRST;
}

/* Parse a frame parse_packet did not take as a plain TCP/UDP packet (PARSE_FRAGMENT, or
 * PARSE_NOT_L4 for IPv6 with a fragment header) as a fragment of a TCP/UDP datagram. */
static __always_inline int parse_fragment(void *data, void *data_end, struct packet *pkt,
					  struct frag_info *fi)
{
	struct hdr_cursor c = { .pos = data, .end = data_end };
	int eth_proto;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->len = data_end - data;
	eth_proto = parse_ethhdr(&c, &pkt->eth);
	pkt->l3_off = sizeof(struct ethhdr);
	if (eth_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4_fragment(&c, pkt, data, fi);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6_fragment(&c, pkt, data, fi);
	return FRAG_NONE;
}
