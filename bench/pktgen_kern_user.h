/* Shared between bench/pktgen.bpf.c and bench/pktgen.cpp: the generator's frame layout and
 * its configuration in .bss. */
#pragma once

#include <linux/types.h>

/* 60 bytes = a 64-byte Ethernet frame without its FCS: the smallest there is. */
#define XBN_FRAME_LEN 60
/* Ethernet (14) + IPv4 without options (20). */
#define XBN_L4_OFFSET 34

struct xbn_pktgen_config {
	__u32 flows;        /* source ports used: template port .. template port + flows - 1 */
	__u32 csum_offset;  /* offset of the L4 checksum in the L4 header: 6 (UDP) or 16 (TCP) */
};
