#include "derived.h"

#include <sys/socket.h>

#include "core/ip.h"
#include "frames.h"

namespace xdplb::fuzz {

namespace {

std::string text(const FrameView& v, const std::array<uint8_t, 16>& a) {
  return IpAddress::from_bytes(v.family == 6 ? AF_INET6 : AF_INET, a.data()).to_string();
}

test::Mac mac_at(const Bytes& f, size_t off) {
  test::Mac m;
  for (size_t i = 0; i < 6; ++i) m[i] = f[off + i];
  return m;
}

uint8_t pick(const Bytes& frame) { return frame.size() > 14 ? frame[14] % 4 : 0; }

// e (test::Icmp4Error or Icmp6Error) as the error from about's receiver to its sender.
template <class Error>
Bytes error_back(Error e, const FrameView& v, const Bytes& about, uint8_t type, uint8_t code, uint32_t rest) {
  e.type = type, e.code = code, e.rest = rest;
  e.src = text(v, v.dst), e.dst = text(v, v.src);
  e.eth_dst = mac_at(about, 6), e.eth_src = mac_at(about, 0);
  e.quote = test::quote_of(about, 8);
  return e.bytes();
}

}  // namespace


std::optional<Bytes> icmp_error_about(const Bytes& about, const Bytes& frame) {
  const FrameView v = view(about);
  if (!v.well_formed) return std::nullopt;
  const uint8_t k = pick(frame);
  if (v.family == 4) {
    static constexpr uint8_t kType[] = {3, 3, 3, 11}, kCode[] = {4, 1, 3, 0};
    return error_back(test::Icmp4Error{}, v, about, kType[k], kCode[k], k == 0 ? 1400 : 0);
  }
  static constexpr uint8_t kType[] = {2, 1, 1, 3}, kCode[] = {0, 3, 4, 0};
  return error_back(test::Icmp6Error{}, v, about, kType[k], kCode[k], k == 0 ? 1280 : 0);
}

std::optional<Fragments> fragments_of(const Bytes& whole, const Bytes& frame) {
  const FrameView v = view(whole);
  if (!v.well_formed || v.ip_options) return std::nullopt;
  const size_t payload = v.ip_len - v.ihl;
  if (payload < 16) return std::nullopt;
  const size_t cut = (payload / 2) & ~size_t{7};
  // the first at least the L4 header
  const size_t first = std::max(cut, v.proto == 6 ? size_t{24} : size_t{8});
  if (first >= payload) return std::nullopt;
  const uint32_t id = frame.size() >= 18 ? (uint32_t{frame[14]} << 24 | uint32_t{frame[15]} << 16 |
                                            uint32_t{frame[16]} << 8 | frame[17])
                                         : 0x1234;
  if (v.family == 4)
    return Fragments{test::ipv4_fragment(whole, 0, first, true),
                     test::ipv4_fragment(whole, first, payload - first, false)};
  return Fragments{test::ipv6_fragment(whole, 0, first, true, id),
                   test::ipv6_fragment(whole, first, payload - first, false, id)};
}

}  // namespace xdplb::fuzz
