/* The flow hash that picks a Maglev slot: a jhash-style mix over the words of a flow key.
 * Plain C on purpose: the BPF programs use it to place flows and the packet tests include the
 * same definition to predict the slot. The seed is fixed so every node of a cluster places a
 * flow on the same backend (ECMP moves flows between nodes). Words are taken in host order:
 * all nodes of one cluster must share an endianness. */
#pragma once

#include <linux/types.h>
#include <xdplb/abi.h>

#define XDPLB_FLOW_HASH_SEED 0x1dc5a3b7u
#define XDPLB_FLOW_KEY_WORDS 10

#ifdef __cplusplus
static_assert(sizeof(struct xdplb_flow_key) == XDPLB_FLOW_KEY_WORDS * 4, "flow key size");
#else
_Static_assert(sizeof(struct xdplb_flow_key) == XDPLB_FLOW_KEY_WORDS * 4, "flow key size");
#endif

#ifdef __bpf__
#define XDPLB_HASH_INLINE static __always_inline
#else
#define XDPLB_HASH_INLINE static inline
#endif

XDPLB_HASH_INLINE __u32 xdplb_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* Bob Jenkins' lookup3 mix/final, as in the kernel's jhash.h. */
#define XDPLB_JHASH_MIX(a, b, c)                          \
	do {                                              \
		a -= c; a ^= xdplb_rol32(c, 4);  c += b;  \
		b -= a; b ^= xdplb_rol32(a, 6);  a += c;  \
		c -= b; c ^= xdplb_rol32(b, 8);  b += a;  \
		a -= c; a ^= xdplb_rol32(c, 16); c += b;  \
		b -= a; b ^= xdplb_rol32(a, 19); a += c;  \
		c -= b; c ^= xdplb_rol32(b, 4);  b += a;  \
	} while (0)

#define XDPLB_JHASH_FINAL(a, b, c)                        \
	do {                                              \
		c ^= b; c -= xdplb_rol32(b, 14);          \
		a ^= c; a -= xdplb_rol32(c, 11);          \
		b ^= a; b -= xdplb_rol32(a, 25);          \
		c ^= b; c -= xdplb_rol32(b, 16);          \
		a ^= c; a -= xdplb_rol32(c, 4);           \
		b ^= a; b -= xdplb_rol32(a, 14);          \
		c ^= b; c -= xdplb_rol32(b, 24);          \
	} while (0)

XDPLB_HASH_INLINE __u32 xdplb_flow_hash(const struct xdplb_flow_key *key)
{
	__u32 w[XDPLB_FLOW_KEY_WORDS];
	__u32 a, b, c;

	__builtin_memcpy(w, key, sizeof(w));
	a = b = c = 0xdeadbeef + sizeof(w) + XDPLB_FLOW_HASH_SEED;
	a += w[0]; b += w[1]; c += w[2];
	XDPLB_JHASH_MIX(a, b, c);
	a += w[3]; b += w[4]; c += w[5];
	XDPLB_JHASH_MIX(a, b, c);
	a += w[6]; b += w[7]; c += w[8];
	XDPLB_JHASH_MIX(a, b, c);
	a += w[9];
	XDPLB_JHASH_FINAL(a, b, c);
	return c;
}

/* The ring slot (within one pool's ring) of a flow. */
XDPLB_HASH_INLINE __u32 xdplb_flow_slot(const struct xdplb_flow_key *key)
{
	return xdplb_flow_hash(key) % XDPLB_MAGLEV_RING_SIZE;
}

/* Source affinity (XDPLB_SERVICE_AFFINITY_SOURCE): the slot of a flow hashed by its client
 * address alone (family and protocol kept; ports and the VIP left out), so every connection of
 * one client goes to one backend, on every node, whatever VIP or port it dials (Katran's
 * hash without the source port, nginx `hash $remote_addr consistent`). `probe` picks another
 * slot for the same client (the socket hooks probe past inactive backends); 0 otherwise. */
XDPLB_HASH_INLINE __u32 xdplb_affinity_slot(const struct xdplb_flow_key *key, __u32 probe)
{
	struct xdplb_flow_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.src = key->src;
	k.proto = key->proto;
	k.family = key->family;
	k.sport = (__be16)probe;
	return xdplb_flow_slot(&k);
}
