/* Packet generator for scripts/bench.sh: run through BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, it writes one 60-byte frame (64 bytes on the wire with the FCS)
 * into every page the kernel hands it and returns XDP_TX, which the test run turns into a
 * redirect out of the veth named in ctx_in; its peer (the load balancer's uplink) receives it.
 *
 * Live-frame pages are recycled without being reset, so the whole frame is rewritten on every
 * run (measured: a page keeps the previous run's bytes). The template lives in .bss (mutable), not in a `const volatile` array,
 * which clang 14 folds into zeros when copied. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "pktgen_kern_user.h"

char LICENSE[] SEC("license") = "GPL";

/* Written by bench/pktgen.cpp through the mmapped .bss before the first run. */
__u8 frame_template[XBN_FRAME_LEN];
struct xbn_pktgen_config config;
/* Frames written so far; the generator runs on one CPU, so a plain increment is enough. */
__u64 sequence;

/* One's-complement update of a 16-bit checksum when one 16-bit word changes (RFC 1624). */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old_word, __u16 new_word)
{
	__u32 sum = (__u16)~check + (__u16)~old_word + new_word;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int xbn_pktgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *sport, *check, old_sport, new_sport, sum;
	__u32 flow = 0;

	if (data + XBN_FRAME_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, frame_template, XBN_FRAME_LEN);

	if (config.flows > 1)
		flow = (__u32)(sequence % config.flows);
	sequence++;
	if (!flow)
		return XDP_TX;

	/* Source port = template port + flow; the L4 checksum follows incrementally. */
	sport = data + XBN_L4_OFFSET;
	/* Constant offsets keep the verifier's bounds simple (the frame is XBN_FRAME_LEN long). */
	check = config.csum_offset == 16 ? data + XBN_L4_OFFSET + 16 : data + XBN_L4_OFFSET + 6;
	old_sport = *sport;
	new_sport = __builtin_bswap16((__u16)(__builtin_bswap16(old_sport) + flow));
	*sport = new_sport;
	sum = csum_replace16(*check, old_sport, new_sport);
	/* UDP: 0 means "no checksum"; a computed 0 is sent as 0xffff. */
	if (!sum && config.csum_offset == 6)
		sum = 0xffff;
	*check = sum;
	return XDP_TX;
}
