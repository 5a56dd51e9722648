/* Hairpin: a container on the bridge calls a VIP (the bridge's or an uplink's address). Its
 * request reaches the host through the bridge, so TC ingress on the bridge sees it. If only
 * the destination were rewritten, the backend (on the same L2) would answer the container
 * directly from its own address and the container would reset the connection. So the request
 * is DNATed to the backend AND SNATed to the bridge's address with a source port from a
 * reserved range; the backend answers the host, and TC puts VIP -> container back.
 *
 * Port allocation: the reverse entry (backend:bport -> bridge:port) is the port's claim. Ports
 * are per backend (the key holds it), picked at random from the range. A free port is claimed
 * by a BPF_NOEXIST insert; a port whose flow is over is taken over by a compare-and-swap of the
 * entry's last_seen_ns, so of two CPUs that find the same port free exactly one gets it. A
 * flow is over when it ended (FIN both ways or RST, lib/flow.h) a linger ago, when its forward
 * entry no longer holds this port (re-placed), or when both of its entries have been idle for
 * XDPLB_HAIRPIN_IDLE_NS; its forward entry is deleted with the takeover. A flow that ends and
 * then sends again (a SYN on the same 5-tuple) frees its port at once.
 * Both families alike: IPv6 only differs in the source lookup (16-byte addresses) and the
 * rewrite (no IP header checksum, lib/nat.h tc_rewrite6). */
#pragma once

#include <linux/pkt_cls.h>

#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/forward.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/select.h"

/* The SNAT source port range (host order, inclusive); set by the loader between open and
 * load (Tunables), defaults from abi.h. */
const volatile __u16 hairpin_port_min = XDPLB_HAIRPIN_PORT_MIN;
const volatile __u16 hairpin_port_max = XDPLB_HAIRPIN_PORT_MAX;

/* The address the host sends from towards the backend: the bridge's (the kernel picks it as
 * for its own traffic, so it follows address changes without any configuration). For IPv6
 * that is the kernel's source address selection (RFC 6724) on the bridge: its global address
 * for a backend's global one. */
static __always_inline int hairpin_source(struct __sk_buff *skb, __u8 family,
					  const union xdplb_addr *backend, union xdplb_addr *src)
{
	struct bpf_fib_lookup fib;
	int rc;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = family; /* XDPLB_AF_* == AF_* */
	if (family == XDPLB_AF_INET6)
		__builtin_memcpy(fib.ipv6_dst, backend->v6, sizeof(fib.ipv6_dst));
	else
		fib.ipv4_dst = backend->v4;
	fib.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SRC | BPF_FIB_LOOKUP_SKIP_NEIGH);
	/* FRAG_NEEDED: the route and its source were found, the request is too big for it (the
	 * kernel checks the skb against the device when tot_len is 0): hairpin_request answers it */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return -1;
	__builtin_memset(src, 0, sizeof(*src));
	if (family == XDPLB_AF_INET6)
		__builtin_memcpy(src->v6, fib.ipv6_src, sizeof(src->v6));
	else
		src->v4 = fib.ipv4_src;
	return src->v6[0] | src->v6[1] | src->v6[2] | src->v6[3] ? 0 : -1;
}

/* The forward key (container:cport -> VIP:vport) of the flow that holds reply key rk. */
static __always_inline void hairpin_forward_key(const struct xdplb_flow_key *rk,
						const struct xdplb_hairpin_reverse *rev,
						struct xdplb_flow_key *fk)
{
	flow_key_set(fk, &rev->client, rev->cport, &rev->vip, rev->vport, rk->proto, rk->family);
}

/* The forward entry hf is the flow that claimed reply key rk (rev): same backend, generation
 * and port. */
static __always_inline bool hairpin_owns(const struct xdplb_hairpin_flow *hf,
					 const struct xdplb_flow_key *rk,
					 const struct xdplb_hairpin_reverse *rev)
{
	return hf->backend == rev->backend && hf->gen == rev->gen && hf->snat_port == rk->dport;
}

/* May the port of reply key rk (claimed by old, last reply at seen) go to a new flow? Sets
 * *owner when the old flow's forward entry must go with it. */
static __always_inline bool hairpin_port_over(const struct xdplb_flow_key *rk,
					      const struct xdplb_hairpin_reverse *old, __u64 seen,
					      __u64 now, bool *owner)
{
	struct xdplb_hairpin_flow *hf;
	struct xdplb_flow_key fk;

	hairpin_forward_key(rk, old, &fk);
	hf = bpf_map_lookup_elem(&hairpin_flows, &fk);
	*owner = hf && hairpin_owns(hf, rk, old);
	if (!*owner) /* re-placed: over; forward evicted: over once idle (may still be live) */
		return hf || since(now, seen) > XDPLB_HAIRPIN_IDLE_NS;
	if (flow_lingered(hf->flags, hf->last_seen_ns))
		return true;
	return since(now, seen) > XDPLB_HAIRPIN_IDLE_NS &&
	       since(now, hf->last_seen_ns) > XDPLB_HAIRPIN_IDLE_NS;
}

/* Claim a free SNAT port towards be:bport for the flow key; fills rk (the reply key). */
static __always_inline int hairpin_claim_port(const struct xdplb_flow_key *key, __u32 id,
					      const struct xdplb_backend *be, __be16 bport,
					      const union xdplb_addr *snat_addr, __u64 now,
					      struct xdplb_flow_key *rk)
{
	__u32 lo = hairpin_port_min, hi = hairpin_port_max;
	__u32 span = hi >= lo ? hi - lo + 1 : 1;
	struct xdplb_hairpin_reverse rev, *old;
	struct xdplb_flow_key fk;
	bool owner;
	__u64 seen;
	int i;

	__builtin_memset(&rev, 0, sizeof(rev));
	rev.vip = key->dst;
	rev.vport = key->dport;
	rev.client = key->src;
	rev.cport = key->sport;
	rev.backend = id;
	rev.gen = be->gen;
	rev.last_seen_ns = now;

	__builtin_memset(rk, 0, sizeof(*rk));
	rk->src = be->addr;
	rk->sport = bport;
	rk->dst = *snat_addr;
	rk->proto = key->proto;
	rk->family = key->family;
	for (i = 0; i < XDPLB_HAIRPIN_PORT_TRIES; i++) {
		rk->dport = bpf_htons((__u16)(lo + bpf_get_prandom_u32() % span));
		if (!bpf_map_update_elem(&hairpin_reverse, rk, &rev, BPF_NOEXIST))
			return 0;
		old = bpf_map_lookup_elem(&hairpin_reverse, rk);
		if (!old)
			continue;
		seen = old->last_seen_ns;
		if (!hairpin_port_over(rk, old, seen, now, &owner))
			continue;
		/* The claim: of the CPUs that found this port over, one swaps last_seen. */
		if (__sync_val_compare_and_swap(&old->last_seen_ns, seen, now) != seen)
			continue;
		if (owner) {
			hairpin_forward_key(rk, old, &fk);
			bpf_map_delete_elem(&hairpin_flows, &fk);
		}
		if (!bpf_map_update_elem(&hairpin_reverse, rk, &rev, BPF_EXIST))
			return 0;
	}
	return -1;
}

/* Forget a hairpin flow that leaves its backend (unusable, a SYN re-places it, or it is over):
 * both entries, so its port is free at once. Its reverse key is known only while the id still
 * names the backend it was placed on. */
static __always_inline void hairpin_forget(const struct xdplb_flow_key *key,
					   struct xdplb_hairpin_flow *hf)
{
	struct xdplb_backend *old = bpf_map_lookup_elem(&backends, &hf->backend);
	struct xdplb_flow_key rk;

	flow_uncount(&hf->flags, hf->backend);
	if (old && old->gen == hf->gen) {
		flow_key_set(&rk, &old->addr, hf->bport, &hf->snat_addr, hf->snat_port, key->proto,
			     key->family);
		bpf_map_delete_elem(&hairpin_reverse, &rk);
	}
	bpf_map_delete_elem(&hairpin_flows, key);
}

/* Requests of at most this many IP bytes (and not GSO) fit any IPv6 link and every link a
 * bridge of containers has in practice: the MTU towards the backend is looked up only for
 * bigger ones, so the common request (SYN, ACK, small query) costs no second FIB lookup. */
#define XDPLB_HAIRPIN_MTU_CHECK_MIN 1280

/* The MTU towards the backend (the request leaving as src -> dst) if the request does not fit
 * it, else 0. */
static __always_inline __u32 hairpin_mtu_short(struct __sk_buff *skb, const struct packet *pkt,
					       const union xdplb_addr *src,
					       const union xdplb_addr *dst)
{
	struct bpf_fib_lookup fib;

	if (skb->len - pkt->l3_off <= XDPLB_HAIRPIN_MTU_CHECK_MIN && !skb->gso_size)
		return 0;
	if (tc_route(skb, pkt, src, dst, pkt->key.family, &fib) != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return 0;
	return fib.mtu_result;
}

/* TC: a container's request to a service. Returns the TC verdict; *backend gets the backend
 * it goes to (for the trace). */
static __always_inline int hairpin_request(struct __sk_buff *skb, const struct packet *pkt,
					   const struct xdplb_service *svc, __u32 *backend)
{
	__u64 now = bpf_ktime_get_ns();
	struct xdplb_backend *be = NULL;
	struct xdplb_hairpin_flow *hf, nf;
	struct xdplb_flow_key rk;
	union xdplb_addr snat_addr, to;
	__be16 snat_port, bport;
	bool new_flow = false;
	__u32 id, reason, mtu;
	int verdict;

	hf = bpf_map_lookup_elem(&hairpin_flows, &pkt->key);
	if (hf && flow_over(hf->flags, hf->last_seen_ns, pkt)) {
		hairpin_forget(&pkt->key, hf); /* ended: this packet is not of that connection */
		hf = NULL;
	}
	if (hf) {
		id = hf->backend;
		be = backend_usable(id, pkt->key.family);
		if (be && be->gen != hf->gen)
			be = NULL; /* the id was given to another backend since */
		else if (be && tcp_opens_flow(pkt) && syn_moves_flow(svc, &pkt->key, id))
			be = NULL; /* new connection on an old 5-tuple: re-placed (lib/select.h) */
		if (be) {
			flow_count_packet(&hf->flags, id, pkt);
			flow_end_seen(&hf->flags, &hf->last_seen_ns, pkt, XDPLB_FLOW_FIN_CLIENT);
			snat_addr = hf->snat_addr;
			snat_port = hf->snat_port;
			bport = hf->bport;
			/* Requests keep the port's claim alive (hairpin_port_over reads this). A
			 * closed flow's last_seen is the time it closed. */
			if (!(hf->flags & XDPLB_FLOW_CLOSED) &&
			    now - hf->last_seen_ns > XDPLB_FLOW_TOUCH_NS)
				hf->last_seen_ns = now;
		} else {
			count_reason(XDPLB_R_FLOW_RESELECTED);
			hairpin_forget(&pkt->key, hf);
		}
	}
	if (!be) {
		/* Containers are on this host: no other node can have placed their flows, so a
		 * mid-flow packet takes the scheduler's choice like a new one. */
		id = select_backend(svc, &pkt->key, false, &be);
		if (!be) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_BACKEND);
			return TC_ACT_SHOT;
		}
		if (hairpin_source(skb, pkt->key.family, &be->addr, &snat_addr)) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_SOURCE);
			return TC_ACT_SHOT;
		}
		bport = service_backend_port(svc, be);
		if (hairpin_claim_port(&pkt->key, id, be, bport, &snat_addr, now, &rk)) {
			count_reason(XDPLB_R_TC_HAIRPIN_NO_PORT);
			return TC_ACT_SHOT;
		}
		snat_port = rk.dport;
		__builtin_memset(&nf, 0, sizeof(nf));
		nf.snat_addr = snat_addr;
		nf.snat_port = snat_port;
		nf.bport = bport;
		nf.backend = id;
		nf.gen = be->gen;
		nf.flags = tcp_ends_flow(pkt) ? 0 : XDPLB_FLOW_COUNTED;
		nf.last_seen_ns = now;
		if (bpf_map_update_elem(&hairpin_flows, &pkt->key, &nf, BPF_ANY)) {
			bpf_map_delete_elem(&hairpin_reverse, &rk);
			count_reason(XDPLB_R_FLOW_TABLE_FULL);
			return TC_ACT_SHOT;
		}
		if (nf.flags)
			conn_add(id, 1);
		count_reason(XDPLB_R_TC_HAIRPIN_NEW);
		new_flow = true;
	}

	*backend = id;
	to = be->addr;
	/* A request too big for the way to the backend is answered as a router would, with the
	 * VIP's "fragmentation needed" / "packet too big" (xdplb_tc_hairpin_frag_needed); the
	 * stack cannot, the VIP being its own address. */
	mtu = hairpin_mtu_short(skb, pkt, &snat_addr, &to);
	if (mtu) {
		skb->cb[0] = mtu;
		bpf_tail_call(skb, &tc_jump, XDPLB_TC_JUMP_HAIRPIN_FRAG_NEEDED);
		count_reason(XDPLB_R_TC_HAIRPIN_FRAG_NEEDED);
		count_reason(XDPLB_R_TC_DROP_REWRITE); /* the jump table is not filled */
		return TC_ACT_SHOT;
	}
	count_backend(id, skb->len, new_flow);
	if (tc_rewrite(skb, pkt, &snat_addr, snat_port, &to, bport)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	verdict = tc_route_redirect(skb, &snat_addr, &to, pkt->key.family, &reason);
	count_reason(verdict == TC_ACT_SHOT ? reason : XDPLB_R_TC_HAIRPIN_REQUEST);
	return verdict;
}

/* TC: the forward entry of the hairpin flow whose reply (key rk) matched rev, or NULL if that
 * flow is gone (ended a linger ago, re-placed, or its backend id given to another backend):
 * then rev, the port's claim, is deleted. A forward entry the LRU evicted alone is put back. */
static __always_inline struct xdplb_hairpin_flow *
hairpin_reply_flow(const struct xdplb_flow_key *rk, const struct xdplb_hairpin_reverse *rev)
{
	struct xdplb_hairpin_flow *hf, nf;
	struct xdplb_flow_key fk;
	struct xdplb_backend *be;

	hairpin_forward_key(rk, rev, &fk);
	hf = bpf_map_lookup_elem(&hairpin_flows, &fk);
	if (hf && hairpin_owns(hf, rk, rev)) {
		if (!flow_lingered(hf->flags, hf->last_seen_ns))
			return hf;
		bpf_map_delete_elem(&hairpin_flows, &fk);
	} else if (!hf) {
		be = backend_usable(rev->backend, rk->family);
		if (be && be->gen == rev->gen) {
			__builtin_memset(&nf, 0, sizeof(nf));
			nf.snat_addr = rk->dst;
			nf.snat_port = rk->dport;
			nf.bport = rk->sport;
			nf.backend = rev->backend;
			nf.gen = rev->gen;
			/* an evicted entry never left the count; its backend had answered (no
			 * refusal to count for it) */
			nf.flags = XDPLB_FLOW_COUNTED | XDPLB_FLOW_ACCEPTED;
			nf.last_seen_ns = bpf_ktime_get_ns();
			if (!bpf_map_update_elem(&hairpin_flows, &fk, &nf, BPF_NOEXIST)) {
				count_reason(XDPLB_R_FLOW_RESTORED);
				return bpf_map_lookup_elem(&hairpin_flows, &fk);
			}
		}
	}
	bpf_map_delete_elem(&hairpin_reverse, rk);
	count_reason(XDPLB_R_TC_REPLY_STALE);
	return NULL;
}

/* TC: a backend's reply to hairpin flow hf (reverse entry rev). Returns the TC verdict. */
static __always_inline int hairpin_reply(struct __sk_buff *skb, const struct packet *pkt,
					 struct xdplb_hairpin_reverse *rev,
					 struct xdplb_hairpin_flow *hf)
{
	__u64 now = bpf_ktime_get_ns();
	union xdplb_addr vip = rev->vip, client = rev->client;
	__be16 vport = rev->vport, cport = rev->cport;
	__u32 reason;
	int verdict;

	if (now - rev->last_seen_ns > XDPLB_FLOW_TOUCH_NS)
		rev->last_seen_ns = now;
	if (pkt->tcp && pkt->tcp->rst) {
		flow_uncount(&hf->flags, hf->backend);
		/* Refused: the backend answered the SYN with an RST (its server is gone, its
		 * backlog full); counted for passive health as on the external reply path. */
		if (!(hf->flags & XDPLB_FLOW_ACCEPTED))
			count_refused(hf->backend);
	} else if (pkt->tcp && pkt->tcp->syn && !(hf->flags & XDPLB_FLOW_ACCEPTED)) {
		__sync_fetch_and_or(&hf->flags, XDPLB_FLOW_ACCEPTED); /* once per connection */
	}
	flow_end_seen(&hf->flags, &hf->last_seen_ns, pkt, XDPLB_FLOW_FIN_BACKEND);
	if (tc_rewrite(skb, pkt, &vip, vport, &client, cport)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	verdict = tc_route_redirect(skb, &vip, &client, pkt->key.family, &reason);
	count_reason(verdict == TC_ACT_SHOT ? reason : XDPLB_R_TC_HAIRPIN_REPLY);
	return verdict;
}
