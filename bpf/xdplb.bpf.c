/* xdplb datapath: one object, two programs.
 *   xdplb_xdp (XDP, each uplink): clients -> VIP:vport. Service lookup, flow table, Maglev
 *       placement, DNAT, then devmap redirect into the backend's veth or XDP_PASS.
 *   xdplb_tc  (TC ingress, the bridge): backend replies. Reverse NAT of the source to
 *       VIP:vport, FIB lookup, redirect.
 * Every outcome is counted under a named reason (enum xdplb_reason). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include <xdplb/abi.h>

#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/forward.h"
#include "lib/hairpin.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/select.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline bool is_loopback(const struct xdplb_flow_key *key)
{
	if (key->family == XDPLB_AF_INET6)
		return !key->dst.v6[0] && !key->dst.v6[1] && !key->dst.v6[2] &&
		       key->dst.v6[3] == bpf_htonl(1);
	return (bpf_ntohl(key->dst.v4) >> 24) == 127;
}

/* The service a packet is for (its destination VIP:port/proto), or NULL. */
static __always_inline struct xdplb_service *service_lookup(const struct xdplb_flow_key *key)
{
	struct xdplb_service_key skey;

	__builtin_memset(&skey, 0, sizeof(skey));
	skey.vip = key->dst;
	skey.port = key->dport;
	skey.proto = key->proto;
	skey.family = key->family;
	return bpf_map_lookup_elem(&services, &skey);
}

/* A service packet: find (or place) its flow, DNAT, forward. */
static __always_inline int xdp_balance(struct packet *pkt, const struct xdplb_service *svc)
{
	__u64 now = bpf_ktime_get_ns();
	struct xdplb_backend *be = NULL;
	struct xdplb_flow *flow;
	bool new_flow = false, by_hash = false, replace = false;
	__u32 id = XDPLB_NO_BACKEND;

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
			flow_count_packet(&flow->flags, id, pkt);
			if (!(flow->flags & XDPLB_FLOW_ESTABLISHED) && !tcp_opens_flow(pkt))
				flow_established(flow, &pkt->key, be);
			if (tcp_ends_flow(pkt))
				flow_client_end(flow, &pkt->key, be, pkt);
			flow_touch(flow, &pkt->key, be, now);
		} else {
			count_reason(XDPLB_R_FLOW_RESELECTED);
			flow_uncount(&flow->flags, id);
			reverse_forget(&pkt->key, id, flow->gen, flow->flags);
			replace = true;
		}
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
		if (flow_remember(&pkt->key, id, be, now, pkt, replace))
			count_reason(XDPLB_R_FLOW_TABLE_FULL);
		else
			count_reason(XDPLB_R_NEW_FLOW);
		new_flow = true;
	}

	dnat(pkt, be);
	count_backend(id, pkt->len, new_flow);
	return xdp_forward(pkt, id, be);
}

SEC("xdp")
int xdplb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdplb_service *svc;
	struct packet pkt;

	switch (parse_packet(data, data_end, &pkt)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		count_reason(XDPLB_R_PASS_NOT_IP);
		return XDP_PASS;
	case PARSE_NOT_L4:
		count_reason(XDPLB_R_PASS_NOT_SERVICE);
		return XDP_PASS;
	case PARSE_FRAGMENT:
		count_reason(XDPLB_R_PASS_FRAGMENT);
		return XDP_PASS;
	default:
		count_reason(XDPLB_R_PASS_TRUNCATED);
		return XDP_PASS;
	}

	/* 127.0.0.1 (::1) is a service address for host-local clients only (xdplb_sock.bpf.c): a
	 * loopback destination arriving on an uplink is never served. */
	svc = is_loopback(&pkt.key) ? NULL : service_lookup(&pkt.key);
	if (!svc) {
		count_reason(XDPLB_R_PASS_NOT_SERVICE);
		return XDP_PASS;
	}
	/* Options would have to be carried across the rewrite and are all but unused by real
	 * clients: refuse rather than guess. */
	if (pkt.ip_options) {
		count_reason(XDPLB_R_DROP_IP_OPTIONS);
		return XDP_DROP;
	}
	return xdp_balance(&pkt, svc);
}

/* Enough linear bytes for eth + the largest IPv4 header + a TCP header (IPv6: eth + 40 + 20). */
#define XDPLB_TC_PULL_LEN (14 + 60 + 20)

static __always_inline int tc_parse(struct __sk_buff *skb, struct packet *pkt)
{
	int res = parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);

	/* Headers may sit in paged data; pull them into the linear part once and retry. */
	if (res == PARSE_TRUNCATED && skb->len > skb->data_end - skb->data) {
		if (bpf_skb_pull_data(skb, skb->len < XDPLB_TC_PULL_LEN ? skb->len : XDPLB_TC_PULL_LEN))
			return PARSE_TRUNCATED;
		res = parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
	}
	return res;
}

/* Not a reply of an external flow: a hairpin reply, a container's request to a service
 * (hairpin, lib/hairpin.h), or traffic that is none of ours. */
static __always_inline int tc_not_reverse(struct __sk_buff *skb, struct packet *pkt)
{
	struct xdplb_hairpin_reverse *hrev;
	struct xdplb_hairpin_flow *hf;
	struct xdplb_service *svc;

	hrev = bpf_map_lookup_elem(&hairpin_reverse, &pkt->key);
	if (hrev) {
		hf = hairpin_reply_flow(&pkt->key, hrev);
		if (hf)
			return hairpin_reply(skb, pkt, hrev, hf);
	} else {
		svc = service_lookup(&pkt->key);
		if (svc && !pkt->ip_options)
			return hairpin_request(skb, pkt, svc);
	}
	count_reason(XDPLB_R_TC_NOT_REVERSE);
	return TC_ACT_OK;
}

SEC("tc")
int xdplb_tc(struct __sk_buff *skb)
{
	struct xdplb_reverse *rev;
	union xdplb_addr vip, client;
	struct packet pkt;

	switch (tc_parse(skb, &pkt)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
	case PARSE_NOT_L4:
		count_reason(XDPLB_R_TC_NOT_REVERSE);
		return TC_ACT_OK;
	case PARSE_FRAGMENT:
		count_reason(XDPLB_R_TC_PASS_FRAGMENT);
		return TC_ACT_OK;
	default:
		count_reason(XDPLB_R_TC_PASS_TRUNCATED);
		return TC_ACT_OK;
	}

	rev = reply_reverse(&pkt.key);
	if (!rev)
		return tc_not_reverse(skb, &pkt);
	/* Only the reply of a flow that is still there is put back (never one of a connection
	 * that ended, whose 5-tuple may now be a direct connection to the backend). */
	if (reply_stale(&pkt.key, rev))
		return tc_not_reverse(skb, &pkt);
	if (tcp_ends_flow(&pkt))
		reply_end(&pkt.key, rev, &pkt);
	vip = rev->vip;
	client = pkt.key.dst;
	if (pkt.key.family == XDPLB_AF_INET6 ? revnat6(skb, &pkt, rev) : revnat4(skb, &pkt, rev)) {
		count_reason(XDPLB_R_TC_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	/* From here on the source is a local address: the stack would drop it as a martian, so
	 * every outcome is a redirect or a drop, never TC_ACT_OK. */
	return tc_forward_reply(skb, &vip, &client, pkt.key.family);
}
