/* xdplb datapath: one object, two programs.
 *   xdplb_xdp (XDP, each uplink): clients -> VIP:vport. Service lookup, flow table, Maglev
 *       placement, DNAT, then devmap redirect into the backend's veth or XDP_PASS.
 *   xdplb_tc  (TC ingress, the bridge): backend replies. Reverse NAT of the source to
 *       VIP:vport, FIB lookup, redirect.
 * Every outcome is counted under a named reason (enum xdplb_reason). */
/* The packet trace's switch is a global of this object (lib/trace_switch.h). */
#define XDPLB_TRACE_SWITCH

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/forward.h"
#include "lib/frag.h"
#include "lib/frag_needed.h"
#include "lib/guard.h"
#include "lib/hairpin.h"
#include "lib/icmp_flow.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/select.h"
#include "lib/trace.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline bool is_loopback(const struct xdplb_flow_key *key)
{
	if (key->family == XDPLB_AF_INET6)
		return !key->dst.v6[0] && !key->dst.v6[1] && !key->dst.v6[2] &&
		       key->dst.v6[3] == bpf_htonl(1);
	return (bpf_ntohl(key->dst.v4) >> 24) == 127;
}

/* map's entry for the endpoint (addr, port) with key's protocol and family, or NULL. */
static __always_inline void *endpoint_lookup(void *map, const struct xdplb_flow_key *key,
					     const union xdplb_addr *addr, __be16 port)
{
	struct xdplb_service_key skey;

	__builtin_memset(&skey, 0, sizeof(skey));
	skey.vip = *addr;
	skey.port = port;
	skey.proto = key->proto;
	skey.family = key->family;
	return bpf_map_lookup_elem(map, &skey);
}

/* The service a packet is for (its destination VIP:port/proto), or NULL. */
static __always_inline struct xdplb_service *service_lookup(const struct xdplb_flow_key *key)
{
	return endpoint_lookup(&services, key, &key->dst, key->dport);
}

/* A service packet: find (or place) its flow, DNAT, forward. *chosen gets the backend id. */
static __always_inline int xdp_balance(struct xdp_md *ctx, struct packet *pkt,
				       const struct xdplb_service *svc, __u32 *chosen)
{
	__u64 now = flow_clock();
	struct xdplb_backend *be = NULL;
	struct xdplb_flow *flow;
	bool new_flow = false, by_hash = false, replace = false;
	__u32 id = XDPLB_NO_BACKEND;
	__be16 bport = 0;

	flow = bpf_map_lookup_elem(&flows, &pkt->key);
	if (flow && flow_over(flow->flags, flow->last_seen_ns, pkt)) {
		flow_forget(&pkt->key, flow); /* ended: this packet is not of that connection */
		flow = NULL;
	}
	if (flow) {
		id = flow->backend;
		be = backend_usable(id, pkt->key.family);
		if (be && be->gen != flow->gen)
			be = NULL; /* the id was given to another backend since */
		else if (be && tcp_opens_flow(pkt) && syn_moves_flow(svc, &pkt->key, id))
			be = NULL; /* new connection on an old 5-tuple: re-placed (lib/select.h) */
		if (be) {
			bport = flow->bport;
			flow_count_packet(&flow->flags, id, pkt);
			if (!(flow->flags & XDPLB_FLOW_ESTABLISHED) && !tcp_opens_flow(pkt))
				flow_established(flow, &pkt->key, be);
			if (tcp_ends_flow(pkt))
				flow_client_end(flow, &pkt->key, be, pkt);
			flow_touch(flow, &pkt->key, be, now);
		} else {
			count_reason(XDPLB_R_FLOW_RESELECTED);
			flow_uncount(&flow->flags, id);
			reverse_forget(&pkt->key, flow);
			replace = true;
		}
	} else if (source_is_spoofed(&pkt->key)) {
		count_reason(XDPLB_R_DROP_SPOOFED);
		return XDP_DROP;
	} else if (pkt->tcp && !tcp_opens_flow(pkt)) {
		/* Another node (or a flushed table) had this flow: place it by the ring, which
		 * every node fills alike, instead of resetting it. */
		count_reason(XDPLB_R_FLOW_MIDSTREAM);
		by_hash = true;
	}

	if (!be) {
		id = select_backend(svc, &pkt->key, by_hash, &be);
		if (!be) {
			count_reason(XDPLB_R_DROP_NO_BACKEND);
			return XDP_DROP;
		}
		bport = service_backend_port(svc, be);
		if (flow_remember(&pkt->key, id, be, bport, now, pkt, replace))
			count_reason(XDPLB_R_FLOW_TABLE_FULL);
		else
			count_reason(XDPLB_R_NEW_FLOW);
		new_flow = true;
	}

	dnat(pkt, be, bport);
	count_backend(id, pkt->len, new_flow);
	*chosen = id;
	return xdp_forward(ctx, pkt, id, be);
}

/* The service of a client packet from an uplink, or NULL. 127.0.0.1 (::1) is a service
 * address for host-local clients only (xdplb_sock.bpf.c): a loopback destination arriving on
 * an uplink is never served. */
static __always_inline struct xdplb_service *xdp_service(const struct packet *pkt)
{
	return is_loopback(&pkt->key) ? NULL : service_lookup(&pkt->key);
}

/* XDP: a later fragment of a datagram (lib/frag.h): to where its first fragment went.
 * *backend gets that backend's id (for the trace). */
static __always_inline int xdp_later_fragment(struct xdp_md *ctx, struct packet *pkt,
					      const struct frag_info *fi, __u32 *backend)
{
	struct xdplb_frag *f = frag_lookup(pkt, fi, XDPLB_FRAG_FROM_UPLINK);
	struct xdplb_backend *be = f ? backend_usable(f->backend, pkt->key.family) : NULL;

	if (!be) {
		count_reason(XDPLB_R_PASS_FRAGMENT);
		return XDP_PASS;
	}
	*backend = f->backend;
	frag_rewrite_xdp(pkt, f);
	count_reason(XDPLB_R_FRAG_LATER);
	return xdp_forward(ctx, pkt, f->backend, be);
}

/* The (VIP, port) a routed backend's endpoint answers for (map reply_nats), for a reply rk
 * that no reverse entry knows, or NULL: not a routed backend's endpoint. */
static __always_inline struct xdplb_reply_nat *reply_nat_of(const struct xdplb_flow_key *rk)
{
	return endpoint_lookup(&reply_nats, rk, &rk->src, rk->sport);
}

/* The VIP:port that what a routed backend sends about the flow with reply key rk gets: from
 * its reverse entry rev (if its backend is routed; *backend its id), else from its endpoint's
 * reply_nats entry (*nat, NULL with rev). false: about no routed backend's flow. */
static __always_inline bool routed_source(const struct xdplb_flow_key *rk, struct xdplb_reverse *rev,
					  struct xdplb_reply_nat **nat, const union xdplb_addr **vip,
					  __be16 *vport, __u32 *backend)
{
	struct xdplb_backend *be;

	*nat = NULL;
	if (rev) {
		be = bpf_map_lookup_elem(&backends, &rev->backend);
		if (!be || !(be->flags & XDPLB_BACKEND_ROUTED))
			return false;
		*backend = rev->backend;
		*vip = &rev->vip;
		*vport = rev->vport;
		return true;
	}
	*nat = reply_nat_of(rk);
	if (!*nat)
		return false;
	*vip = &(*nat)->vip;
	*vport = (*nat)->vport;
	return true;
}

/* XDP: whether a packet for no service may be a routed backend's reply: only while the bridge
 * has a routed backend (XDPLB_SETTING_ROUTED_REPLIES), so without one a non-service packet pays
 * an inlined array lookup instead of the reverse-table lookups. */
static __always_inline bool routed_replies_on(void)
{
	__u32 zero = 0;
	struct xdplb_settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s && (s->flags & XDPLB_SETTING_ROUTED_REPLIES);
}

/* XDP: a packet for no service may be the reply of a routed backend (one outside the bridge,
 * whose replies come back by the host's routes): reverse NAT and route it to the client. Its
 * reverse entry says what to put back; without one (another node behind the same ECMP placed
 * the flow, or that node is gone) the backend's endpoint does, if it serves one VIP:port
 * (reply_nats). Costs one reverse-table lookup per non-service packet while
 * routed_replies_on(), and one reply_nats lookup when that misses; the service path does not
 * see it. Returns the verdict, or -1 if it is no such reply. *backend gets the replying
 * backend's id (known with an entry only). */
static __always_inline int xdp_routed_reply(struct xdp_md *ctx, struct packet *pkt,
					    __u32 *backend)
{
	struct xdplb_reverse *rev = reply_live(&pkt->key);
	struct xdplb_reply_nat *nat;
	const union xdplb_addr *vip;
	struct bpf_fib_lookup *fib;
	__be16 vport;
	int rc;

	if (!routed_source(&pkt->key, rev, &nat, &vip, &vport, backend))
		return -1;
	fib = fib_scratch_get();
	rc = fib && !pkt->ip_options ? xdp_fib(ctx, pkt, vip, &pkt->key.dst, fib) : -1;
	if (nat && rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return -1; /* to this host itself (its health check, a host-local client): its own */
	if ((nat && (nat->flags & XDPLB_REPLY_NAT_AMBIGUOUS)) || rc != BPF_FIB_LKUP_RET_SUCCESS) {
		/* the stack would send it on with the backend's address, which the client
		 * does not know: drop it, counted */
		count_reason(XDPLB_R_DROP_ROUTED_REPLY);
		return XDP_DROP;
	}
	if (rev && pkt->tcp && tcp_ends_flow(pkt))
		reply_end(&pkt->key, rev, pkt);
	xdp_nat(pkt, true, vip, vport);
	count_reason(rev ? XDPLB_R_ROUTED_REPLY : XDPLB_R_ROUTED_REPLY_STATELESS);
	return xdp_send_routed(ctx, pkt, fib);
}

/* XDP: a routed backend's (or a router's on its side) ICMP error about a request of ours: fk is
 * the quote's other way (the flow's reply key), dst the error's destination (the client). Like
 * xdp_routed_reply: the VIP:port comes from the reverse entry, without one from the endpoint's
 * reply_nats entry; the error must leave by the FIB. Sets `to` (the quote translated), *fib,
 * pkt->key (the flow's key, client -> VIP), *backend (known with an entry only) and *reason.
 * Returns 0 (translate and send), XDP_DROP, or -1: about no routed backend's flow. */
static __always_inline int xdp_routed_icmp(struct xdp_md *ctx, struct packet *pkt,
					   const struct xdplb_flow_key *fk, const union xdplb_addr *dst,
					   struct xdplb_flow_key *to, struct bpf_fib_lookup **fib,
					   __u32 *backend, __u32 *reason)
{
	struct xdplb_reverse *rev = reply_reverse(fk);
	struct xdplb_reply_nat *nat;
	const union xdplb_addr *vip;
	__be16 vport;
	int rc;

	if (!routed_source(fk, rev, &nat, &vip, &vport, backend))
		return -1;
	flow_key_set(to, &fk->dst, fk->dport, vip, vport, fk->proto, fk->family);
	pkt->key = *to;
	*fib = fib_scratch_get();
	rc = *fib ? xdp_fib(ctx, pkt, vip, dst, *fib) : -1;
	if (nat && rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return -1; /* to this host itself (its health check): its own */
	if ((nat && (nat->flags & XDPLB_REPLY_NAT_AMBIGUOUS)) || rc != BPF_FIB_LKUP_RET_SUCCESS) {
		count_reason(XDPLB_R_DROP_ICMP_ROUTED);
		return XDP_DROP; /* never leaked with the backend's address */
	}
	*reason = rev ? XDPLB_R_ICMP_FROM_ROUTED : XDPLB_R_ICMP_FROM_ROUTED_STATELESS;
	return 0;
}

/* XDP: an ICMP error on an uplink about one of our flows, translated (lib/icmp_flow.h): a
 * router's (or the client's) about a reply goes to the flow's backend; while routed replies
 * are on (routed_replies_on), a routed backend's about a request leaves from the VIP to the
 * client (xdp_routed_icmp). Returns the verdict, or -1 if it is about none of our flows. For
 * the trace, then: pkt->key is that flow's key (client -> VIP), *backend its backend. What
 * the routed case adds is paid by ICMP errors about no flow of the flow table only: the
 * settings lookup, and while the setting is on the reverse and reply_nats lookups. */
static __always_inline int xdp_icmp_error(struct xdp_md *ctx, struct packet *pkt,
					  void *data_end, __u32 *backend)
{
	__u32 id = XDPLB_NO_BACKEND, reason = XDPLB_R_ICMP_TO_BACKEND;
	struct bpf_fib_lookup *fib = NULL;
	struct xdplb_flow_key fk, to;
	struct xdplb_backend *be;
	union xdplb_addr dst;
	void *h;
	int verdict;

	h = xdp_icmp_quote(pkt, data_end, &fk, &dst);
	if (!h)
		return -1;
	be = icmp_xdp_target(&fk, &to, &id);
	if (!be) {
		if (!routed_replies_on())
			return -1;
		verdict = xdp_routed_icmp(ctx, pkt, &fk, &dst, &to, &fib, backend, &reason);
		if (verdict)
			return verdict;
		if (!fib || !xdp_icmp_translate(h, data_end, fk.family, &to))
			return -1; /* not reached: a FIB answer came with it, h was checked */
		count_reason(reason);
		return xdp_send_routed(ctx, pkt, fib);
	}
	if (!xdp_icmp_translate(h, data_end, fk.family, &to))
		return -1;
	count_reason(reason);
	verdict = xdp_forward(ctx, pkt, id, be); /* routes by the error's own source */
	pkt->key = fk;
	*backend = id;
	return verdict;
}

/* XDP: a client packet on an uplink. `note` gets what the trace reports; *hook which kind of
 * packet it was (a whole one or first fragment, an ICMP error, a later fragment). */
static __always_inline int xdp_main(struct xdp_md *ctx, struct packet *pkt, struct trace_note *note,
				    __u32 *hook)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdplb_service *svc;
	union xdplb_addr src, dst;
	struct frag_info fi;
	bool first_fragment = false;
	__u32 id = XDPLB_NO_BACKEND;
	int res, verdict;

	res = parse_packet(data, data_end, data_end - data, pkt);
	if (res == PARSE_NOT_L4) {
		if (pkt->ip6 && pkt->ip6->nexthdr == XDPLB_NEXTHDR_FRAGMENT) {
			res = PARSE_FRAGMENT;
		} else {
			verdict = xdp_icmp_error(ctx, pkt, data_end, &note->backend);
			if (verdict >= 0) {
				note->parsed = true;
				*hook = XDPLB_TRACE_XDP_ICMP;
				return verdict;
			}
		}
	}
	if (res == PARSE_FRAGMENT) {
		/* The first fragment takes the way of any packet below, and is remembered. */
		res = parse_fragment(data, data_end, pkt, &fi);
		if (res == FRAG_LATER) {
			note->parsed = true; /* addresses and protocol, no ports */
			*hook = XDPLB_TRACE_XDP_FRAGMENT;
			return xdp_later_fragment(ctx, pkt, &fi, &note->backend);
		}
		if (res != FRAG_FIRST) {
			count_reason(XDPLB_R_PASS_FRAGMENT);
			return XDP_PASS;
		}
		first_fragment = true;
		res = PARSE_OK;
	}
	switch (res) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		count_reason(XDPLB_R_PASS_NOT_IP);
		return XDP_PASS;
	case PARSE_NOT_L4:
		count_reason(XDPLB_R_PASS_NOT_SERVICE);
		return XDP_PASS;
	case PARSE_SHORT_FRAME:
		count_reason(XDPLB_R_PASS_SHORT_FRAME);
		return XDP_PASS;
	default:
		count_reason(XDPLB_R_PASS_TRUNCATED);
		return XDP_PASS;
	}

	note->parsed = true;
	svc = xdp_service(pkt);
	if (!svc) {
		if (!first_fragment && routed_replies_on()) {
			verdict = xdp_routed_reply(ctx, pkt, &id);
			note->backend = id;
			if (verdict >= 0)
				return verdict;
		}
		count_reason(first_fragment ? XDPLB_R_PASS_FRAGMENT : XDPLB_R_PASS_NOT_SERVICE);
		return XDP_PASS;
	}
	/* Options would have to be carried across the rewrite and are all but unused by real
	 * clients: refuse rather than guess. */
	if (pkt->ip_options) {
		count_reason(XDPLB_R_DROP_IP_OPTIONS);
		return XDP_DROP;
	}
	note->pool = svc->pool;
	note->scheduler = svc->scheduler;
	verdict = xdp_balance(ctx, pkt, svc, &id);
	note->backend = id;
	if (first_fragment && verdict != XDP_DROP) {
		frag_addrs_of_frame(pkt, &src, &dst);
		frag_remember(pkt, &fi, XDPLB_FRAG_FROM_UPLINK, &src, &dst, id);
	}
	return verdict;
}

SEC("xdp")
int xdplb_xdp(struct xdp_md *ctx)
{
	struct trace_note note = TRACE_NOTE_INIT;
	__u32 hook = XDPLB_TRACE_XDP;
	struct packet pkt;
	int verdict = xdp_main(ctx, &pkt, &note, &hook);

	trace_packet(hook, &pkt.key, &note, verdict);
	return verdict;
}

/* Enough linear bytes for eth + the largest IPv4 header + a TCP header (IPv6: eth + 40 + 20). */
#define XDPLB_TC_PULL_LEN (14 + 60 + 20)

static __always_inline int tc_parse(struct __sk_buff *skb, struct packet *pkt)
{
	int res = parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, pkt);

	/* Headers may sit in paged data; pull them into the linear part once and retry. */
	if (res == PARSE_TRUNCATED && skb->len > skb->data_end - skb->data) {
		if (bpf_skb_pull_data(skb, skb->len < XDPLB_TC_PULL_LEN ? skb->len : XDPLB_TC_PULL_LEN))
			return PARSE_TRUNCATED;
		res = parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, pkt);
	}
	return res;
}

/* Not a reply of an external flow: a hairpin reply, a container's request to a service
 * (hairpin, lib/hairpin.h), or traffic that is none of ours. `note` gets a hairpin reply's
 * backend and client (for the trace). */
static __always_inline int tc_not_reverse(struct __sk_buff *skb, struct packet *pkt,
					  struct trace_note *note)
{
	struct xdplb_hairpin_reverse *hrev;
	struct xdplb_hairpin_flow *hf;

	hrev = bpf_map_lookup_elem(&hairpin_reverse, &pkt->key);
	if (hrev) {
		hf = hairpin_reply_flow(&pkt->key, hrev);
		if (hf) {
			note->backend = hf->backend;
			note->client = hrev->client;
			note->has_client = true;
			return hairpin_reply(skb, pkt, hrev, hf);
		}
	} else {
		/* A request to a service? xdplb_tc_hairpin looks it up and serves it. */
		bpf_tail_call(skb, &tc_jump, XDPLB_TC_JUMP_HAIRPIN);
	}
	count_reason(XDPLB_R_TC_NOT_REVERSE);
	return TC_ACT_OK;
}

/* TC: a reply of an external flow (rev: its reverse entry): reverse NAT, then route. */
static __always_inline int tc_reply(struct __sk_buff *skb, struct packet *pkt,
				    struct xdplb_reverse *rev)
{
	union xdplb_addr vip = rev->vip, client = pkt->key.dst;
	struct bpf_fib_lookup fib;
	__u32 reason;
	int rc;

	/* Routed before the rewrite: one too big for the way out still goes to the stack
	 * untranslated (lib/forward.h tc_pass_frag_needed). */
	rc = tc_route(skb, pkt, &vip, &client, pkt->key.family, &fib);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return tc_pass_frag_needed(skb, pkt);
	if (tcp_ends_flow(pkt))
		reply_end(&pkt->key, rev, pkt);
	revnat_tc(skb, pkt, rev);
	/* From here on the source is a local address: the stack would drop it as a martian, so
	 * every outcome is a redirect or a drop, never TC_ACT_OK. */
	rc = tc_redirect_routed(skb, rc, &fib, pkt->eth, &reason);
	count_reason(reason);
	return rc;
}

/* TC: a TCP/UDP packet from the bridge (whole, or the first fragment of a datagram).
 * `note` gets the backend replying (for the trace). */
static __always_inline int tc_l4(struct __sk_buff *skb, struct packet *pkt, struct trace_note *note)
{
	/* Only the reply of a flow that is still there is put back (never one of a connection
	 * that ended, whose 5-tuple may now be a direct connection to the backend). */
	struct xdplb_reverse *rev = reply_live(&pkt->key);

	if (!rev)
		return tc_not_reverse(skb, pkt, note);
	note->backend = rev->backend;
	return tc_reply(skb, pkt, rev);
}

/* TC: a later fragment of a datagram from the bridge (lib/frag.h): the addresses its first
 * fragment got, routed as that one was. */
static __always_inline int tc_later_fragment(struct __sk_buff *skb, struct packet *pkt,
					     const struct frag_info *fi)
{
	struct xdplb_frag *f = frag_lookup(pkt, fi, XDPLB_FRAG_FROM_BRIDGE);
	union xdplb_addr src, dst;
	struct bpf_fib_lookup fib;
	__u32 reason;
	int rc;

	if (!f) {
		count_reason(XDPLB_R_TC_PASS_FRAGMENT);
		return TC_ACT_OK;
	}
	src = f->src;
	dst = f->dst;
	rc = tc_route(skb, pkt, &src, &dst, pkt->key.family, &fib);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return tc_pass_frag_needed(skb, pkt);
	if (frag_rewrite_tc(skb, pkt, &src, &dst)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	count_reason(XDPLB_R_FRAG_LATER);
	rc = tc_redirect_routed(skb, rc, &fib, NULL, &reason);
	count_reason(reason);
	return rc;
}

/* TC: parse a fragment (pulling its headers into the linear part first). */
static __always_inline int tc_parse_fragment(struct __sk_buff *skb, struct packet *pkt,
					     struct frag_info *fi)
{
	if (skb->len > skb->data_end - skb->data &&
	    bpf_skb_pull_data(skb, skb->len < XDPLB_TC_PULL_LEN ? skb->len : XDPLB_TC_PULL_LEN))
		return FRAG_NONE;
	return parse_fragment((void *)(long)skb->data, (void *)(long)skb->data_end, pkt, fi);
}

/* A container's request to a service (lib/hairpin.h), or none of ours. `note` gets what the
 * trace reports. */
static __always_inline int tc_hairpin_request(struct __sk_buff *skb, struct packet *pkt,
					      struct trace_note *note)
{
	struct xdplb_service *svc = service_lookup(&pkt->key);

	note->parsed = true;
	if (!svc || pkt->ip_options) {
		count_reason(XDPLB_R_TC_NOT_REVERSE);
		return TC_ACT_OK;
	}
	note->pool = svc->pool;
	note->scheduler = svc->scheduler;
	return hairpin_request(skb, pkt, svc, &note->backend);
}

/* Tail call target: a packet from the bridge that matched no reply entry: a container's
 * request to a service, or none of ours. A first fragment continues in
 * xdplb_tc_hairpin_fragment (two programs: the verifier walks a request's many branches once
 * per way the packet was parsed, and both ways in one program are past its budget). */
SEC("tc")
int xdplb_tc_hairpin(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	struct packet pkt;
	int res = tc_parse(skb, &pkt), verdict;

	if (res == PARSE_FRAGMENT ||
	    (res == PARSE_NOT_L4 && pkt.ip6 && pkt.ip6->nexthdr == XDPLB_NEXTHDR_FRAGMENT))
		bpf_tail_call(skb, &tc_jump, XDPLB_TC_JUMP_HAIRPIN_FRAGMENT);
	if (res != PARSE_OK) {
		count_reason(XDPLB_R_TC_NOT_REVERSE);
		return TC_ACT_OK;
	}
	verdict = tc_hairpin_request(skb, &pkt, &note);
	trace_packet(XDPLB_TRACE_TC_HAIRPIN, &pkt.key, &note, verdict);
	return verdict;
}

/* Tail call target: the first fragment of a container's request: served like any request and
 * remembered, so the later fragments follow it (lib/frag.h). */
SEC("tc")
int xdplb_tc_hairpin_fragment(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	union xdplb_addr src, dst;
	struct frag_info fi;
	struct packet pkt;
	int verdict;

	if (tc_parse_fragment(skb, &pkt, &fi) != FRAG_FIRST) {
		count_reason(XDPLB_R_TC_NOT_REVERSE);
		return TC_ACT_OK;
	}
	verdict = tc_hairpin_request(skb, &pkt, &note);
	if (verdict == TC_ACT_REDIRECT && !frag_addrs_of_skb(skb, &pkt, &src, &dst))
		frag_remember(&pkt, &fi, XDPLB_FRAG_FROM_BRIDGE, &src, &dst, 0);
	trace_packet_inlined(XDPLB_TRACE_TC_HAIRPIN_FRAGMENT, &pkt.key, &note, verdict);
	return verdict;
}

/* Tail call target: a container's request too big for the way to its backend (the MTU in
 * skb->cb[0], set by lib/hairpin.h): answered with the VIP's ICMP error (lib/frag_needed.h). */
SEC("tc")
int xdplb_tc_hairpin_frag_needed(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	struct frag_info fi;
	struct packet pkt;
	int verdict;

	/* a whole request, or the first fragment of one (xdplb_tc_hairpin_fragment) */
	if (tc_parse(skb, &pkt) != PARSE_OK && tc_parse_fragment(skb, &pkt, &fi) != FRAG_FIRST) {
		count_reason(XDPLB_R_TC_HAIRPIN_FRAG_NEEDED);
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	verdict = hairpin_frag_needed(skb, &pkt, skb->cb[0]);
	note.parsed = true; /* the request refused; its service and backend are not kept */
	trace_packet(XDPLB_TRACE_TC_HAIRPIN, &pkt.key, &note, verdict);
	return verdict;
}

/* Tail call target: an ICMP/ICMPv6 packet from the bridge (lib/icmp_flow.h). */
SEC("tc")
int xdplb_tc_icmp(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	struct xdplb_flow_key about;
	struct packet pkt;
	int verdict;

	if (tc_parse(skb, &pkt) == PARSE_NOT_L4) {
		verdict = tc_icmp_error(skb, &pkt, &about);
		if (verdict >= 0) {
			note.parsed = true;
			trace_packet_inlined(XDPLB_TRACE_TC_ICMP, &about, &note, verdict);
			return verdict;
		}
	}
	/* not about a flow of ours: the packet is unchanged */
	count_reason(XDPLB_R_TC_NOT_REVERSE);
	return TC_ACT_OK;
}

/* Tail call target: a fragment from the bridge. The first fragment takes the way of any
 * packet and is remembered; the later ones follow it (lib/frag.h). */
SEC("tc")
int xdplb_tc_fragment(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	union xdplb_addr src, dst;
	struct frag_info fi;
	struct packet pkt;
	int res, verdict;

	res = tc_parse_fragment(skb, &pkt, &fi);
	if (res == FRAG_LATER) {
		verdict = tc_later_fragment(skb, &pkt, &fi);
	} else if (res == FRAG_FIRST) {
		/* a hairpin request continues in xdplb_tc_hairpin_fragment */
		verdict = tc_l4(skb, &pkt, &note);
		if (verdict == TC_ACT_REDIRECT && !frag_addrs_of_skb(skb, &pkt, &src, &dst))
			frag_remember(&pkt, &fi, XDPLB_FRAG_FROM_BRIDGE, &src, &dst, 0);
	} else {
		count_reason(XDPLB_R_TC_PASS_FRAGMENT);
		return TC_ACT_OK;
	}
	note.parsed = true; /* a later fragment's key has its addresses, no ports */
	trace_packet(XDPLB_TRACE_TC_FRAGMENT, &pkt.key, &note, verdict);
	return verdict;
}

SEC("tc")
int xdplb_tc(struct __sk_buff *skb)
{
	struct trace_note note = TRACE_NOTE_INIT;
	struct packet pkt;
	int res, verdict;

	res = tc_parse(skb, &pkt);
	if (res == PARSE_NOT_L4) {
		if (pkt.ip6 && pkt.ip6->nexthdr == XDPLB_NEXTHDR_FRAGMENT)
			res = PARSE_FRAGMENT;
		else
			bpf_tail_call(skb, &tc_jump, XDPLB_TC_JUMP_ICMP);
		/* still here: not ICMP, or the jump table is not filled */
	}
	if (res == PARSE_FRAGMENT) {
		bpf_tail_call(skb, &tc_jump, XDPLB_TC_JUMP_FRAGMENT);
		count_reason(XDPLB_R_TC_PASS_FRAGMENT);
		return TC_ACT_OK;
	}
	switch (res) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
	case PARSE_NOT_L4:
		count_reason(XDPLB_R_TC_NOT_REVERSE);
		return TC_ACT_OK;
	case PARSE_SHORT_FRAME:
		count_reason(XDPLB_R_TC_PASS_SHORT_FRAME);
		return TC_ACT_OK;
	default:
		count_reason(XDPLB_R_TC_PASS_TRUNCATED);
		return TC_ACT_OK;
	}
	note.parsed = true;
	verdict = tc_l4(skb, &pkt, &note);
	trace_packet(XDPLB_TRACE_TC_REPLY, &pkt.key, &note, verdict);
	return verdict;
}
