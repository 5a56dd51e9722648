#include "packet.h"

#include "inet_csum.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace xdplb::test {

namespace {

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = v >> 8;
  b[off + 1] = v & 0xff;
}
void put32(Bytes& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = (v >> (24 - 8 * i)) & 0xff;
}
uint16_t get16(const Bytes& b, size_t off) { return (b[off] << 8) | b[off + 1]; }

uint32_t pseudo_sum(const uint8_t* ip, uint8_t proto, size_t l4_len) {
  uint32_t acc = sum16(ip + 12, 8);  // saddr, daddr
  return acc + proto + static_cast<uint32_t>(l4_len);
}

std::string ip_text(const uint8_t* p) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

}  // namespace

uint32_t ipv4(const std::string& dotted) {
  in_addr a{};
  if (inet_pton(AF_INET, dotted.c_str(), &a) != 1) throw std::invalid_argument("bad IPv4 " + dotted);
  return a.s_addr;
}

std::string mac_text(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

Packet Packet::tcp(std::string src, uint16_t sport, std::string dst, uint16_t dport, uint8_t flags) {
  Packet p;
  p.src = std::move(src);
  p.dst = std::move(dst);
  p.sport = sport;
  p.dport = dport;
  p.proto = 6;
  p.tcp_flags = flags;
  if (flags & kTcpAck) p.ack_seq = 5000;
  return p;
}

Packet Packet::udp(std::string src, uint16_t sport, std::string dst, uint16_t dport, bool checksum) {
  Packet p;
  p.src = std::move(src);
  p.dst = std::move(dst);
  p.sport = sport;
  p.dport = dport;
  p.proto = 17;
  p.udp_checksum = checksum;
  return p;
}

Bytes Packet::bytes() const {
  const size_t ihl = 20 + ip_options.size();
  const size_t l4_hdr = proto == 6 ? 20 : proto == 17 ? 8 : 0;
  const size_t l4_len = l4_hdr + payload.size();
  Bytes b(14 + ihl + l4_len, 0);
  std::memcpy(&b[0], eth_dst.data(), 6);
  std::memcpy(&b[6], eth_src.data(), 6);
  put16(b, 12, ethertype);

  const size_t ip = 14;
  b[ip] = 0x40 | (ihl / 4);
  put16(b, ip + 2, static_cast<uint16_t>(ihl + l4_len));
  put16(b, ip + 4, ip_id);
  put16(b, ip + 6, frag);
  b[ip + 8] = ttl;
  b[ip + 9] = proto;
  uint32_t s = ipv4(src), d = ipv4(dst);
  std::memcpy(&b[ip + 12], &s, 4);
  std::memcpy(&b[ip + 16], &d, 4);
  if (!ip_options.empty()) std::memcpy(&b[ip + 20], ip_options.data(), ip_options.size());
  put16(b, ip + 10, static_cast<uint16_t>(~fold(sum16(&b[ip], ihl))));

  const size_t l4 = ip + ihl;
  if (l4_hdr) {
    put16(b, l4, sport);
    put16(b, l4 + 2, dport);
  }
  if (!payload.empty()) std::memcpy(&b[l4 + l4_hdr], payload.data(), payload.size());
  if (proto == 6) {
    put32(b, l4 + 4, seq);
    put32(b, l4 + 8, ack_seq);
    b[l4 + 12] = 5 << 4;
    b[l4 + 13] = tcp_flags;
    put16(b, l4 + 14, 65535);
    put16(b, l4 + 16, static_cast<uint16_t>(~fold(sum16(&b[l4], l4_len, pseudo_sum(&b[ip], proto, l4_len)))));
  } else if (proto == 17) {
    put16(b, l4 + 4, static_cast<uint16_t>(l4_len));
    if (udp_checksum) {
      uint16_t c = static_cast<uint16_t>(~fold(sum16(&b[l4], l4_len, pseudo_sum(&b[ip], proto, l4_len))));
      put16(b, l4 + 6, c ? c : 0xffff);
    }
  }
  return b;
}

Bytes with_ip_length(Bytes b, uint16_t len) {
  if (get16(b, 12) == 0x86dd) {
    put16(b, 14 + 4, len);
    return b;
  }
  const size_t ip = 14, ihl = (b[ip] & 0xf) * 4;
  put16(b, ip + 2, len);
  put16(b, ip + 10, 0);
  put16(b, ip + 10, static_cast<uint16_t>(~fold(sum16(&b[ip], ihl))));
  return b;
}

Bytes with_l4_u16(Bytes b, size_t l3_len, size_t off, uint16_t v) {
  put16(b, 14 + l3_len + off, v);
  return b;
}

Bytes with_tcp_doff(Bytes b, size_t l3_len, uint8_t doff) {
  b[14 + l3_len + 12] = static_cast<uint8_t>(doff << 4);
  return b;
}

Bytes arp_frame() {
  Bytes b(42, 0);
  std::memset(&b[0], 0xff, 6);
  b[6] = 0x02, b[11] = 0xbb;
  put16(b, 12, 0x0806);
  put16(b, 14, 1), put16(b, 16, 0x0800), b[18] = 6, b[19] = 4, put16(b, 20, 1);
  return b;
}

Bytes ipv6_tcp_frame(uint16_t dport) {
  Bytes b(14 + 40 + 20, 0);
  b[0] = 0x02, b[5] = 0xaa, b[6] = 0x02, b[11] = 0xbb;
  put16(b, 12, 0x86dd);
  b[14] = 0x60;
  put16(b, 18, 20);
  b[20] = 6, b[21] = 64;
  b[22] = 0xfd, b[37] = 2, b[38] = 0xfd, b[53] = 1;  // fd00::2 -> fd00::1
  put16(b, 54, 40000), put16(b, 56, dport), b[66] = 5 << 4, b[67] = kTcpSyn;
  return b;
}

std::optional<Parsed> parse(const Bytes& f) {
  Parsed p;
  if (f.size() < 14) return std::nullopt;
  std::memcpy(p.eth_dst.data(), &f[0], 6);
  std::memcpy(p.eth_src.data(), &f[6], 6);
  p.ethertype = get16(f, 12);
  if (p.ethertype != 0x0800 || f.size() < 34) return p;
  const size_t ip = 14, ihl = (f[ip] & 0xf) * 4, tot = get16(f, ip + 2);
  if (ihl < 20 || f.size() < ip + tot || tot < ihl) return p;
  p.src = ip_text(&f[ip + 12]);
  p.dst = ip_text(&f[ip + 16]);
  p.proto = f[ip + 9];
  p.ttl = f[ip + 8];
  p.ip_check = get16(f, ip + 10);
  p.ip_csum_ok = fold(sum16(&f[ip], ihl)) == 0xffff;
  const size_t l4 = ip + ihl, l4_len = tot - ihl;
  p.fragment = (get16(f, ip + 6) & 0x3fff) != 0;
  if (p.proto == 1) {
    p.l4_check = l4_len >= 4 ? get16(f, l4 + 2) : 0;
    p.l4_csum_ok = fold(sum16(&f[l4], l4_len)) == 0xffff;
    return p;
  }
  const size_t hdr = p.proto == 6 ? 20 : p.proto == 17 ? 8 : 0;
  if (!hdr || l4_len < hdr) return p;
  p.sport = get16(f, l4);
  p.dport = get16(f, l4 + 2);
  p.l4_check = get16(f, l4 + (p.proto == 6 ? 16 : 6));
  const bool none = p.proto == 17 && p.l4_check == 0;
  p.l4_csum_ok = none || fold(sum16(&f[l4], l4_len, pseudo_sum(&f[ip], p.proto, l4_len))) == 0xffff;
  p.payload.assign(f.begin() + l4 + hdr, f.begin() + ip + tot);
  return p;
}

std::string diff(const Bytes& got, const Bytes& want) {
  if (got == want) return "";
  std::ostringstream out;
  auto g = parse(got), w = parse(want);
  if (!g || !w) {
    out << "frames differ (" << got.size() << " vs " << want.size() << " bytes)\n";
    return out.str();
  }
  auto field = [&](const char* name, auto a, auto b) {
    if (a != b) out << name << ": got " << a << ", want " << b << "\n";
  };
  field("eth.dst", mac_text(g->eth_dst), mac_text(w->eth_dst));
  field("eth.src", mac_text(g->eth_src), mac_text(w->eth_src));
  field("eth.type", g->ethertype, w->ethertype);
  field("ip.src", g->src, w->src);
  field("ip.dst", g->dst, w->dst);
  field("ip.proto", +g->proto, +w->proto);
  field("ip.ttl", +g->ttl, +w->ttl);
  field("ip.check", g->ip_check, w->ip_check);
  field("l4.sport", g->sport, w->sport);
  field("l4.dport", g->dport, w->dport);
  field("l4.check", g->l4_check, w->l4_check);
  field("size", got.size(), want.size());
  if (g->payload != w->payload) out << "payload differs\n";
  std::string s = out.str();
  if (s.empty()) {
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
      if (got[i] != want[i]) {
        out << "byte " << i << ": got 0x" << std::hex << +got[i] << ", want 0x" << +want[i] << "\n";
        break;
      }
    s = out.str();
  }
  return s;
}

}  // namespace xdplb::test
