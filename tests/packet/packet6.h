// IPv6 frames for the packet tests (packet.h speaks IPv4): a builder of Ethernet / IPv6 /
// TCP|UDP|ICMPv6 frames that computes its own checksums, and a reader that recomputes the L4
// checksum from scratch over the IPv6 pseudo-header (IPv6 has no header checksum). No
// extension headers except the ones a test asks for by next header: IPv6 at 14, L4 at 54.
#pragma once

#include <cstdint>
#include <string>

#include "packet.h"

namespace xdplb::test {

struct Frame6 {
  Mac eth_dst{0x02, 0, 0, 0, 0, 0xaa}, eth_src{0x02, 0, 0, 0, 0, 0xbb};
  std::string src = "fd00:1::2", dst = "fd00::10";
  uint8_t next = 6;  // TCP, UDP, 58 (ICMPv6, see icmp6()), 0 (hop-by-hop)...
  uint8_t hop_limit = 64;
  uint16_t sport = 40000, dport = 8000;
  bool udp_checksum = true;
  Bytes payload{'h', 'e', 'l', 'l', 'o'};

  // ICMPv6 message of this type/code with body as the rest of the message after the checksum
  // (RFC 4443 / 4861), checksum computed; sport/dport unused.
  static Frame6 icmp6(std::string src, std::string dst, uint8_t type, uint8_t code, Bytes body);
  Bytes bytes() const;

 private:
  bool icmp6_ = false;
  uint8_t icmp6_type_ = 0, icmp6_code_ = 0;
};

struct Read6 {
  std::string src, dst;
  uint16_t sport = 0, dport = 0, check = 0;
  bool csum_ok = false;  // L4 checksum over the pseudo-header verifies
  Mac eth_dst{}, eth_src{};
};
Read6 read6(const Bytes& frame);

}  // namespace xdplb::test
