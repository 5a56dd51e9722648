// The fuzzer's own reading of a frame, written apart from bpf/lib/parse.h so that the two can
// disagree: Ethernet / IPv4|IPv6 / TCP|UDP, whether every length field fits the frame, the
// 5-tuple, and the IP and L4 checksums recomputed from scratch. Pure: bytes in, a view out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace xdplb::fuzz {

using Bytes = std::vector<uint8_t>;

struct FrameView {
  bool ip = false;          // ethertype IPv4/IPv6 and a whole fixed IP header of that version
  bool well_formed = false; // ip + TCP/UDP right after it, not a fragment, every length fits
  int family = 0;           // 4 or 6
  uint8_t proto = 0;
  size_t l3 = 14, ihl = 0;  // IP header offset and length (IPv6: 40)
  size_t ip_len = 0;        // tot_len (IPv6: 40 + payload length)
  size_t l4 = 0, l4_len = 0;
  bool ip_options = false;
  bool fragment = false;    // an IPv4 fragment (MF or an offset) or IPv6 with a fragment header
  std::array<uint8_t, 16> src{}, dst{};  // IPv4 in the first 4 bytes
  uint16_t sport = 0, dport = 0;         // host order
  bool ip_csum_ok = false;  // IPv4 header checksum (IPv6: true)
  bool l4_csum_ok = false;  // TCP/UDP checksum over the pseudo-header (UDP/IPv4 0 = none: ok)
};

FrameView view(const Bytes& frame);

// An ICMP / ICMPv6 error as the fuzzer reads it: its checksum, and the IP header and ports of
// the packet it quotes.
struct IcmpView {
  bool icmp_csum_ok = false;   // over the message (ICMPv6: and its pseudo-header)
  bool inner_ip_csum_ok = false;  // the quoted IPv4 header's checksum (IPv6: true)
  std::array<uint8_t, 16> inner_src{}, inner_dst{};
  uint16_t inner_sport = 0, inner_dport = 0;  // host order
};
// nullopt unless v (of frame) is a whole ICMP / ICMPv6 message quoting an IP header of its
// family and 8 bytes.
std::optional<IcmpView> icmp_view(const FrameView& v, const Bytes& frame);

// Where a datapath rewrite may change a well-formed frame: the MACs, both addresses, the IPv4
// header checksum, both ports and the L4 checksum. Returns the first other byte that differs
// between in and out (or -1).
long first_forbidden_change(const FrameView& v, const Bytes& in, const Bytes& out);

// frame turned into the answer to request (both well-formed, same family and protocol): the
// request's addresses, ports and MACs swapped into it, both checksums recomputed. Anything
// else comes back unchanged.
Bytes answer(const Bytes& request, Bytes frame);

}  // namespace xdplb::fuzz
