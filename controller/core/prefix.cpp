#include "core/prefix.h"

#include <sys/socket.h>

#include <algorithm>

namespace xdplb {

namespace {
int width(const IpAddress& a) { return a.is_v4() ? 32 : 128; }
}  // namespace

IpPrefix IpPrefix::of(const IpAddress& addr, int len) {
  IpPrefix p;
  p.addr = addr;
  p.len = std::clamp(len, 0, width(addr));
  for (int bit = p.len; bit < width(addr); ++bit) p.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return p;
}

IpPrefix IpPrefix::host(const IpAddress& addr) { return of(addr, width(addr)); }

bool IpPrefix::contains(const IpAddress& a) const {
  return a.family == addr.family && of(a, len).addr == addr;
}

std::string IpPrefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

}  // namespace xdplb
