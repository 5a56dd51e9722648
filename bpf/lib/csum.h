/* Incremental Internet checksum updates (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) for the
 * XDP side, which has no skb checksum helpers. One's complement sums do not depend on byte
 * order, so the halves of a __be32 are added as they lie in memory. */
#pragma once

#include <linux/types.h>

/* UDP: a computed 0 is sent as 0xffff, because 0 means "no checksum" (RFC 768). */
#define XDPLB_CSUM_MANGLED_0 ((__sum16)0xffff)

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline void csum_replace4(__sum16 *check, __be32 from, __be32 to)
{
	__u32 sum = (__u16)~*check;
	__u32 nfrom = ~from;

	sum += (nfrom & 0xffff) + (nfrom >> 16);
	sum += (to & 0xffff) + (to >> 16);
	*check = (__sum16)~csum_fold32(sum);
}

static __always_inline void csum_replace2(__sum16 *check, __be16 from, __be16 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~from;
	sum += to;
	*check = (__sum16)~csum_fold32(sum);
}

/* The change of one's complement sum when from is replaced by to (~m + m'), unfolded: several
 * of them add up before one update of a checksum (csum_add_delta). */
static __always_inline __u32 csum_delta4(__be32 from, __be32 to)
{
	__u32 nfrom = ~from;

	return (nfrom & 0xffff) + (nfrom >> 16) + (to & 0xffff) + (to >> 16);
}

static __always_inline __u32 csum_delta2(__be16 from, __be16 to)
{
	return (__u32)(__u16)~from + to;
}

/* A full checksum (the complement of the sum) takes an unfolded change: HC' = ~(~HC + delta). */
static __always_inline void csum_add_delta(__sum16 *check, __u32 delta)
{
	*check = (__sum16)~csum_fold32((__u32)(__u16)~*check + delta);
}
