// The IPv6 frame builder and reader of packet6.h.
#include "packet6.h"

#include <arpa/inet.h>

#include <cstring>

#include "inet_csum.h"

namespace xdplb::test {
namespace {

void put16(Bytes& b, size_t at, uint16_t v) { b[at] = v >> 8, b[at + 1] = v & 0xff; }
uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

// Sum of the IPv6 pseudo-header plus the L4 segment of frame f.
uint32_t l4_sum(const Bytes& f) {
  const size_t l4_len = get16(f, 18);
  uint32_t s = sum16(&f[22], 32);  // source + destination
  s += static_cast<uint32_t>(l4_len) + f[20];
  return sum16(&f[54], l4_len, s);
}
// Where the checksum of the L4 header with this next header sits.
size_t csum_at(uint8_t next) { return next == 6 ? 54 + 16 : next == 17 ? 54 + 6 : 54 + 2; }

}  // namespace

Frame6 Frame6::icmp6(std::string src, std::string dst, uint8_t type, uint8_t code, Bytes body) {
  Frame6 f;
  f.src = std::move(src), f.dst = std::move(dst);
  f.next = 58;
  f.hop_limit = 255;  // neighbour discovery insists on it; harmless for echo
  f.icmp6_ = true, f.icmp6_type_ = type, f.icmp6_code_ = code;
  f.payload = std::move(body);
  return f;
}

Bytes Frame6::bytes() const {
  const size_t l4 = icmp6_ ? 4 : next == 6 ? 20 : 8;
  Bytes b(14 + 40 + l4 + payload.size(), 0);
  std::memcpy(&b[0], eth_dst.data(), 6);
  std::memcpy(&b[6], eth_src.data(), 6);
  put16(b, 12, 0x86dd);
  b[14] = 0x60;
  put16(b, 18, static_cast<uint16_t>(l4 + payload.size()));
  b[20] = next, b[21] = hop_limit;
  inet_pton(AF_INET6, src.c_str(), &b[22]);
  inet_pton(AF_INET6, dst.c_str(), &b[38]);
  if (icmp6_) {
    b[54] = icmp6_type_, b[55] = icmp6_code_;
  } else {
    put16(b, 54, sport), put16(b, 56, dport);
    if (next == 6) b[66] = 5 << 4, b[67] = 0x02;  // SYN
    if (next == 17) put16(b, 58, static_cast<uint16_t>(8 + payload.size()));
  }
  std::memcpy(&b[54 + l4], payload.data(), payload.size());
  if (icmp6_ || next == 6 || (next == 17 && udp_checksum)) {
    uint16_t c = static_cast<uint16_t>(~fold(l4_sum(b)));
    put16(b, csum_at(next), next == 17 && c == 0 ? 0xffff : c);
  }
  return b;
}

Read6 read6(const Bytes& f) {
  Read6 r;
  char buf[INET6_ADDRSTRLEN];
  r.src = inet_ntop(AF_INET6, &f[22], buf, sizeof buf);
  r.dst = inet_ntop(AF_INET6, &f[38], buf, sizeof buf);
  r.sport = get16(f, 54), r.dport = get16(f, 56);
  r.check = get16(f, csum_at(f[20]));
  r.csum_ok = fold(l4_sum(f)) == 0xffff;
  std::memcpy(r.eth_dst.data(), &f[0], 6);
  std::memcpy(r.eth_src.data(), &f[6], 6);
  return r;
}

}  // namespace xdplb::test
