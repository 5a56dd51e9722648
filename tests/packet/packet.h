// A small packet builder and reader for the packet tests and the prog-cost benchmark:
// Ethernet / IPv4 / TCP|UDP frames whose checksums it computes itself, and a reader that
// recomputes them from scratch to check what the datapath wrote.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xdplb::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;

// One frame to build. Addresses are dotted-quad text; ports host order.
struct Packet {
  Mac eth_dst{0x02, 0, 0, 0, 0, 0xaa};
  Mac eth_src{0x02, 0, 0, 0, 0, 0xbb};
  uint16_t ethertype = 0x0800;
  std::string src = "192.168.1.2";
  std::string dst = "10.0.0.10";
  uint8_t proto = 6;            // IPPROTO_TCP / IPPROTO_UDP / other
  uint8_t ttl = 64;
  uint16_t ip_id = 0x1234;
  uint16_t frag = 0;            // flags + offset, host order (0x2000 = MF)
  Bytes ip_options;             // multiple of 4 bytes
  uint16_t sport = 40000, dport = 8000;
  uint8_t tcp_flags = kTcpSyn;
  uint32_t seq = 1000, ack_seq = 0;
  bool udp_checksum = true;     // false: UDP checksum field 0 (none)
  Bytes payload{'h', 'e', 'l', 'l', 'o'};

  static Packet tcp(std::string src, uint16_t sport, std::string dst, uint16_t dport, uint8_t flags = kTcpSyn);
  static Packet udp(std::string src, uint16_t sport, std::string dst, uint16_t dport, bool checksum = true);

  Bytes bytes() const;
};

// frame with its IPv4 total length set to tot_len (header checksum recomputed), or, for an
// IPv6 frame, its payload length set to tot_len: a header that claims more or less than the
// frame holds.
Bytes with_ip_length(Bytes frame, uint16_t len);
// frame with the 16-bit field at L4 offset off (e.g. 4: UDP length) or the TCP data offset
// (off 12, high nibble) overwritten; the IP header stays as it was.
Bytes with_l4_u16(Bytes frame, size_t l3_len, size_t off, uint16_t v);
Bytes with_tcp_doff(Bytes frame, size_t l3_len, uint8_t doff);

// An ARP request (not IP) and an IPv6/TCP frame (IP we do not balance yet).
Bytes arp_frame();
Bytes ipv6_tcp_frame(uint16_t dport);

// The fields of a frame as read back, with checksums verified from scratch.
struct Parsed {
  Mac eth_dst{}, eth_src{};
  uint16_t ethertype = 0;
  std::string src, dst;
  uint8_t proto = 0, ttl = 0;
  uint16_t sport = 0, dport = 0;
  uint16_t ip_check = 0, l4_check = 0;
  bool ip_csum_ok = false;
  bool l4_csum_ok = false;  // a zero UDP checksum counts as ok ("none"); ICMP: its checksum
  bool fragment = false;    // MF or an offset: the L4 checksum covers the whole datagram
  Bytes payload;
};
std::optional<Parsed> parse(const Bytes& frame);

// "" if equal, else one line per differing field ("ip.dst: got 10.0.0.10, want 10.1.0.11").
std::string diff(const Bytes& got, const Bytes& want);

std::string mac_text(const Mac& m);
uint32_t ipv4(const std::string& dotted);  // network order

}  // namespace xdplb::test
