// The ICMP error and fragment builders of frames.h.
#include "frames.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

namespace xdplb::test {
namespace {

void put16(Bytes& b, size_t at, uint16_t v) { b[at] = v >> 8, b[at + 1] = v & 0xff; }
void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (24 - 8 * i)) & 0xff;
}
uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  return s;
}
uint16_t csum(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}
void ipv4_header(Bytes& b, size_t at, size_t tot_len, uint8_t proto, uint16_t id, uint16_t frag,
                 const std::string& src, const std::string& dst) {
  b[at] = 0x45;
  put16(b, at + 2, static_cast<uint16_t>(tot_len));
  put16(b, at + 4, id);
  put16(b, at + 6, frag);
  b[at + 8] = 64, b[at + 9] = proto;
  uint32_t s = ipv4(src), d = ipv4(dst);
  std::memcpy(&b[at + 12], &s, 4);
  std::memcpy(&b[at + 16], &d, 4);
  put16(b, at + 10, 0);
  put16(b, at + 10, csum(sum16(&b[at], 20)));
}
void eth_header(Bytes& b, const Mac& dst, const Mac& src, uint16_t type) {
  std::memcpy(&b[0], dst.data(), 6);
  std::memcpy(&b[6], src.data(), 6);
  put16(b, 12, type);
}
void ipv6_addr(Bytes& b, size_t at, const std::string& text) {
  if (inet_pton(AF_INET6, text.c_str(), &b[at]) != 1) throw std::invalid_argument("bad IPv6 " + text);
}

}  // namespace

Bytes quote_of(const Bytes& frame, size_t l4_bytes) {
  const size_t ip_len = get16(frame, 12) == 0x86dd ? 40 : (frame[14] & 0xf) * 4;
  const size_t end = std::min(frame.size(), 14 + ip_len + l4_bytes);
  return Bytes(frame.begin() + 14, frame.begin() + static_cast<long>(end));
}

Bytes Icmp4Error::bytes() const {
  Bytes b(14 + 20 + 8 + quote.size(), 0);
  eth_header(b, eth_dst, eth_src, 0x0800);
  ipv4_header(b, 14, 20 + 8 + quote.size(), 1, 0x4242, 0, src, dst);
  b[34] = type, b[35] = code;
  put32(b, 38, rest);
  std::memcpy(&b[42], quote.data(), quote.size());
  put16(b, 36, csum(sum16(&b[34], 8 + quote.size())));
  return b;
}

Bytes Icmp6Error::bytes() const {
  const size_t len = 8 + quote.size();
  Bytes b(14 + 40 + len, 0);
  eth_header(b, eth_dst, eth_src, 0x86dd);
  b[14] = 0x60;
  put16(b, 18, static_cast<uint16_t>(len));
  b[20] = 58, b[21] = 64;
  ipv6_addr(b, 22, src);
  ipv6_addr(b, 38, dst);
  b[54] = type, b[55] = code;
  put32(b, 58, rest);
  std::memcpy(&b[62], quote.data(), quote.size());
  put16(b, 56, csum(sum16(&b[54], len, sum16(&b[22], 32, static_cast<uint32_t>(len) + 58))));
  return b;
}

Bytes ipv4_fragment(const Bytes& whole, size_t offset, size_t len, bool more) {
  const size_t ihl = (whole[14] & 0xf) * 4, payload = get16(whole, 16) - ihl;
  if (offset % 8 || offset + len > payload) throw std::invalid_argument("bad fragment bounds");
  Bytes b(14 + ihl + len, 0);
  std::memcpy(&b[0], &whole[0], 14 + ihl);
  std::memcpy(&b[14 + ihl], &whole[14 + ihl + offset], len);
  put16(b, 16, static_cast<uint16_t>(ihl + len));
  put16(b, 20, static_cast<uint16_t>((more ? 0x2000 : 0) | offset / 8));
  put16(b, 24, 0);
  put16(b, 24, csum(sum16(&b[14], ihl)));
  return b;
}

Bytes ipv6_fragment(const Bytes& whole, size_t offset, size_t len, bool more, uint32_t id) {
  const size_t payload = get16(whole, 18);
  if (offset % 8 || offset + len > payload) throw std::invalid_argument("bad fragment bounds");
  Bytes b(14 + 40 + 8 + len, 0);
  std::memcpy(&b[0], &whole[0], 54);
  b[20] = 44;
  put16(b, 18, static_cast<uint16_t>(8 + len));
  b[54] = whole[20];
  put16(b, 56, static_cast<uint16_t>(offset | (more ? 1 : 0)));
  put32(b, 58, id);
  std::memcpy(&b[62], &whole[54 + offset], len);
  return b;
}

Bytes with_ipv4_addrs(Bytes b, const std::string& src, const std::string& dst) {
  const size_t ihl = (b[14] & 0xf) * 4;
  uint32_t s = ipv4(src), d = ipv4(dst);
  std::memcpy(&b[26], &s, 4);
  std::memcpy(&b[30], &d, 4);
  put16(b, 24, 0);
  put16(b, 24, csum(sum16(&b[14], ihl)));
  return b;
}

Bytes with_ipv6_addrs(Bytes b, const std::string& src, const std::string& dst) {
  ipv6_addr(b, 22, src);
  ipv6_addr(b, 38, dst);
  return b;
}

Bytes with_macs(Bytes b, const Mac& dst, const Mac& src) {
  std::memcpy(&b[0], dst.data(), 6);
  std::memcpy(&b[6], src.data(), 6);
  return b;
}

}  // namespace xdplb::test
