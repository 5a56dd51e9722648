/* The uplink guard: a client on an uplink never has a source in the bridge's subnets, one of
 * the host's addresses or loopback; such a packet is spoofed. Checked for new flows only (the
 * XDP miss path), so packets of known flows pay nothing: a flow entry can only have been
 * created by a packet that passed this check. */
#pragma once

#include <stdbool.h>

#include "lib/maps.h"

static __always_inline bool source_is_spoofed(const struct xdplb_flow_key *key)
{
	struct xdplb_guard_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.prefixlen = 32 + (key->family == XDPLB_AF_INET6 ? 128 : 32);
	k.family = key->family;
	k.addr = key->src;
	return bpf_map_lookup_elem(&uplink_guard, &k) != NULL;
}
