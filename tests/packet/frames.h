// ICMP errors and IP fragments for the packet tests, built from the frames of packet.h and
// packet6.h: an error quotes the IP header and the first bytes of another frame; a fragment
// is a slice of a whole datagram's IP payload (so the first fragment carries the L4 checksum
// of the whole datagram, as on the wire). Checksums computed here from scratch.
#pragma once

#include <cstdint>
#include <string>

#include "packet.h"
#include "packet6.h"

namespace xdplb::test {

// The IP header and the first l4_bytes of the L4 header of an Ethernet frame.
Bytes quote_of(const Bytes& frame, size_t l4_bytes = 8);

// Ethernet / IPv4 / ICMP error (type, code, 4 bytes after the checksum: e.g. the MTU of a
// "fragmentation needed" in the low 16 bits) quoting `quote`.
struct Icmp4Error {
  Mac eth_dst{0x02, 0, 0, 0, 0, 0xaa}, eth_src{0x02, 0, 0, 0, 0, 0xbb};
  std::string src, dst;
  uint8_t type = 3, code = 4;
  uint32_t rest = 1400;
  Bytes quote;
  Bytes bytes() const;
};

// Ethernet / IPv6 / ICMPv6 error (type 2 "packet too big": rest = MTU) quoting `quote`.
struct Icmp6Error {
  Mac eth_dst{0x02, 0, 0, 0, 0, 0xaa}, eth_src{0x02, 0, 0, 0, 0, 0xbb};
  std::string src, dst;
  uint8_t type = 2, code = 0;
  uint32_t rest = 1400;
  Bytes quote;
  Bytes bytes() const;
};

// Bytes [offset, offset + len) of the IP payload of a whole IPv4 frame as one fragment (MF if
// more), with its own IP header (same id) and checksum. offset is a multiple of 8.
Bytes ipv4_fragment(const Bytes& whole, size_t offset, size_t len, bool more);
// The same for IPv6 with a fragment header (identification id) after the fixed header.
Bytes ipv6_fragment(const Bytes& whole, size_t offset, size_t len, bool more, uint32_t id);

// The frame with IPv4 source/destination (and IP checksum) changed; the payload untouched.
Bytes with_ipv4_addrs(Bytes frame, const std::string& src, const std::string& dst);
// The same for IPv6 (no checksum in the IP header).
Bytes with_ipv6_addrs(Bytes frame, const std::string& src, const std::string& dst);
// The frame with other Ethernet addresses.
Bytes with_macs(Bytes frame, const Mac& dst, const Mac& src);

}  // namespace xdplb::test
