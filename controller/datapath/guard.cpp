// The uplink guard map (bpf/lib/guard.h): source prefixes the uplinks never see. Replaced as a
// whole: the new prefixes are written first, then the ones no longer wanted deleted, so a
// prefix that stays is never missing in between.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>

#include "datapath/datapath.h"
#include "datapath/skeleton.h"
#include "xdplb_bpf.skel.h"

namespace xdplb {

namespace {

// The family + pad bits in front of the address in every key.
constexpr uint32_t kKeyHeadBits = 32;

struct xdplb_guard_key guard_key(const IpPrefix& p) {
  struct xdplb_guard_key k;
  std::memset(&k, 0, sizeof k);
  k.prefixlen = kKeyHeadBits + static_cast<uint32_t>(p.len);
  k.family = p.addr.is_v6() ? XDPLB_AF_INET6 : XDPLB_AF_INET;
  k.addr = p.addr.to_abi();
  return k;
}

IpPrefix prefix_of(const struct xdplb_guard_key& k) {
  const int family = k.family == XDPLB_AF_INET6 ? AF_INET6 : AF_INET;
  return IpPrefix::of(IpAddress::from_abi(k.addr, family), static_cast<int>(k.prefixlen - kKeyHeadBits));
}

}  // namespace

Result<std::vector<IpPrefix>> Datapath::uplink_guard() {
  std::vector<IpPrefix> out;
  struct xdplb_guard_key key, next;
  const struct bpf_map* map = skel_->maps.uplink_guard;
  for (const void* prev = nullptr; out.size() <= XDPLB_MAX_GUARD_PREFIXES; prev = &key) {
    if (bpf_map__get_next_key(map, prev, &next, sizeof next)) break;
    key = next;
    out.push_back(prefix_of(key));
  }
  return out;
}

Status Datapath::set_uplink_guard(const std::vector<IpPrefix>& prefixes) {
  if (prefixes.size() > XDPLB_MAX_GUARD_PREFIXES)
    return make_error(std::to_string(prefixes.size()) + " guarded source prefixes, at most " +
                      std::to_string(XDPLB_MAX_GUARD_PREFIXES) + " fit");
  auto old = uplink_guard();
  if (!old) return make_error(old.error());
  const uint32_t one = 1;
  for (const auto& p : prefixes) {
    if (!p.addr.is_v4() && !p.addr.is_v6()) return make_error("a guarded prefix without an address");
    auto k = guard_key(p);
    if (int err = bpf_map__update_elem(skel_->maps.uplink_guard, &k, sizeof k, &one, sizeof one, BPF_ANY); err)
      return make_error("writing the uplink guard (" + p.to_string() + ") failed: " + errno_text(err));
  }
  for (const auto& p : *old) {
    if (std::find(prefixes.begin(), prefixes.end(), p) != prefixes.end()) continue;
    auto k = guard_key(p);
    if (int err = bpf_map__delete_elem(skel_->maps.uplink_guard, &k, sizeof k, 0); err && err != -ENOENT)
      return make_error("removing " + p.to_string() + " from the uplink guard failed: " + errno_text(err));
  }
  return {};
}

}  // namespace xdplb
