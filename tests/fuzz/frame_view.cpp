#include "frame_view.h"

#include <cstring>

#include "inet_csum.h"

namespace xdplb::fuzz {

namespace {

uint16_t get16(const Bytes& b, size_t off) { return static_cast<uint16_t>((b[off] << 8) | b[off + 1]); }

using test::fold;
using test::sum16;

// The L4 checksum over len bytes at v.l4 with the pseudo-header of v's family.
bool l4_sum_ok(const FrameView& v, const Bytes& f, size_t len) {
  const size_t alen = v.family == 4 ? 4 : 16;
  const size_t saddr = v.family == 4 ? v.l3 + 12 : v.l3 + 8;
  uint32_t acc = sum16(&f[saddr], 2 * alen);
  acc += v.proto + static_cast<uint32_t>(len);
  return fold(sum16(&f[v.l4], len, acc)) == 0xffff;
}

void read_l4(FrameView& v, const Bytes& f) {
  if (v.proto != 6 && v.proto != 17) return;
  const size_t hdr = v.proto == 6 ? 20 : 8;
  if (v.l4_len < hdr) return;
  v.sport = get16(f, v.l4);
  v.dport = get16(f, v.l4 + 2);
  size_t sum_len = v.l4_len;
  if (v.proto == 6) {
    const size_t doff = (f[v.l4 + 12] >> 4) * 4;
    if (doff < 20 || doff > v.l4_len) return;
  } else {
    const size_t ulen = get16(f, v.l4 + 4);
    if (ulen < 8 || ulen > v.l4_len) return;
    sum_len = ulen;
  }
  v.well_formed = true;
  const uint16_t check = get16(f, v.l4 + (v.proto == 6 ? 16 : 6));
  // A zero UDP checksum means "none" over IPv4 and is invalid over IPv6 (RFC 8200).
  if (v.proto == 17 && check == 0)
    v.l4_csum_ok = v.family == 4;
  else
    v.l4_csum_ok = l4_sum_ok(v, f, sum_len);
}

void read_ipv4(FrameView& v, const Bytes& f) {
  if (f.size() < v.l3 + 20 || (f[v.l3] >> 4) != 4) return;
  v.ihl = (f[v.l3] & 0xf) * 4;
  v.ip_len = get16(f, v.l3 + 2);
  if (v.ihl < 20 || v.ip_len < v.ihl || v.l3 + v.ip_len > f.size()) return;
  v.ip = true;
  v.family = 4;
  v.proto = f[v.l3 + 9];
  v.ip_options = v.ihl > 20;
  std::memcpy(v.src.data(), &f[v.l3 + 12], 4);
  std::memcpy(v.dst.data(), &f[v.l3 + 16], 4);
  v.ip_csum_ok = fold(sum16(&f[v.l3], v.ihl)) == 0xffff;
  v.fragment = get16(f, v.l3 + 6) & 0x3fff;  // MF or an offset
  if (v.fragment) return;
  v.l4 = v.l3 + v.ihl;
  v.l4_len = v.ip_len - v.ihl;
  read_l4(v, f);
}

void read_ipv6(FrameView& v, const Bytes& f) {
  if (f.size() < v.l3 + 40 || (f[v.l3] >> 4) != 6) return;
  v.ihl = 40;
  v.ip_len = 40 + get16(f, v.l3 + 4);
  if (v.l3 + v.ip_len > f.size()) return;
  v.ip = true;
  v.family = 6;
  v.proto = f[v.l3 + 6];
  std::memcpy(v.src.data(), &f[v.l3 + 8], 16);
  std::memcpy(v.dst.data(), &f[v.l3 + 24], 16);
  v.ip_csum_ok = true;
  v.fragment = v.proto == 44;  // a fragment header right after the fixed one
  v.l4 = v.l3 + 40;
  v.l4_len = v.ip_len - 40;
  read_l4(v, f);
}

}  // namespace

FrameView view(const Bytes& f) {
  FrameView v;
  if (f.size() < 14) return v;
  const uint16_t type = get16(f, 12);
  if (type == 0x0800) read_ipv4(v, f);
  if (type == 0x86dd) read_ipv6(v, f);
  return v;
}

std::optional<IcmpView> icmp_view(const FrameView& v, const Bytes& f) {
  if (!v.ip || v.fragment || v.proto != (v.family == 6 ? 58 : 1)) return std::nullopt;
  const size_t at = v.l3 + v.ihl, len = v.ip_len - v.ihl, in = at + 8;
  const size_t in_ihl = v.family == 6 ? 40 : (len > 8 ? (f[in] & 0xf) * 4 : 0);
  if (len < 8 + in_ihl + 8 || in_ihl < 20 || (f[in] >> 4) != v.family) return std::nullopt;
  IcmpView r;
  uint32_t acc = 0;
  if (v.family == 6) acc = sum16(&f[v.l3 + 8], 32) + 58 + static_cast<uint32_t>(len);
  r.icmp_csum_ok = fold(sum16(&f[at], len, acc)) == 0xffff;
  const size_t alen = v.family == 6 ? 16 : 4, saddr = v.family == 6 ? 8 : 12;
  r.inner_ip_csum_ok = v.family == 6 || fold(sum16(&f[in], in_ihl)) == 0xffff;
  std::memcpy(r.inner_src.data(), &f[in + saddr], alen);
  std::memcpy(r.inner_dst.data(), &f[in + saddr + alen], alen);
  r.inner_sport = get16(f, in + in_ihl);
  r.inner_dport = get16(f, in + in_ihl + 2);
  return r;
}

Bytes answer(const Bytes& request, Bytes f) {
  const FrameView q = view(request), v = view(f);
  if (!q.well_formed || !v.well_formed || q.family != v.family || q.proto != v.proto) return f;
  std::memcpy(&f[0], &request[6], 6);
  std::memcpy(&f[6], &request[0], 6);
  const size_t alen = v.family == 4 ? 4 : 16, saddr = v.family == 4 ? 12 : 8;
  std::memcpy(&f[v.l3 + saddr], &request[q.l3 + saddr + alen], alen);
  std::memcpy(&f[v.l3 + saddr + alen], &request[q.l3 + saddr], alen);
  std::memcpy(&f[v.l4], &request[q.l4 + 2], 2);
  std::memcpy(&f[v.l4 + 2], &request[q.l4], 2);
  if (v.family == 4) {
    f[v.l3 + 10] = f[v.l3 + 11] = 0;
    const uint16_t c = static_cast<uint16_t>(~fold(sum16(&f[v.l3], v.ihl)));
    f[v.l3 + 10] = c >> 8, f[v.l3 + 11] = c & 0xff;
  }
  const size_t check = v.l4 + (v.proto == 6 ? 16 : 6);
  const size_t len = v.proto == 6 ? v.l4_len : get16(f, v.l4 + 4);
  f[check] = f[check + 1] = 0;
  uint32_t acc = sum16(&f[v.l3 + saddr], 2 * alen) + v.proto + static_cast<uint32_t>(len);
  uint16_t c = static_cast<uint16_t>(~fold(sum16(&f[v.l4], len, acc)));
  if (v.proto == 17 && c == 0) c = 0xffff;
  f[check] = c >> 8, f[check + 1] = c & 0xff;
  return f;
}

long first_forbidden_change(const FrameView& v, const Bytes& in, const Bytes& out) {
  std::vector<bool> allowed(in.size(), false);
  auto allow = [&](size_t off, size_t n) {
    for (size_t i = off; i < off + n && i < allowed.size(); ++i) allowed[i] = true;
  };
  allow(0, 12);
  if (v.family == 4) {
    allow(v.l3 + 10, 10);  // header checksum, saddr, daddr
  } else if (v.family == 6) {
    allow(v.l3 + 8, 32);
  }
  if (v.well_formed) {
    allow(v.l4, 4);
    allow(v.l4 + (v.proto == 6 ? 16 : 6), 2);
  }
  for (size_t i = 0; i < in.size() && i < out.size(); ++i)
    if (in[i] != out[i] && !allowed[i]) return static_cast<long>(i);
  return -1;
}

}  // namespace xdplb::fuzz
