#include "scenario.h"

#include <netinet/in.h>

#include <cstring>
#include <stdexcept>

#include "lib/flow_hash.h"

namespace xdplb::test {

std::vector<uint32_t> ring_of(const std::vector<uint32_t>& ids) {
  std::vector<uint32_t> ring(XDPLB_MAGLEV_RING_SIZE, XDPLB_NO_BACKEND);
  if (!ids.empty())
    for (size_t s = 0; s < ring.size(); ++s) ring[s] = ids[s % ids.size()];
  return ring;
}

Status put_backend(Datapath& dp, const TestBackend& b, bool active, int fast_ifindex) {
  BackendEntry e;
  auto addr = IpAddress::parse(b.addr);
  if (!addr) return make_error(addr.error());
  e.addr = *addr;
  e.port = b.port;
  e.active = active;
  e.fast_path = b.fast_path;
  e.ifindex = b.fast_path ? fast_ifindex : 0;
  e.dmac = b.mac;
  e.smac = kBridgeMac;
  return dp.put_backend(b.id, e);
}

Status program_scenario(Datapath& dp) {
  for (const auto& vip : {kVip, kVipNoBackend})
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      ServiceKey k{*IpAddress::parse(vip), kPort, proto};
      XDPLB_TRY(dp.put_service(k, vip == kVip ? kPool : kEmptyPool));
    }
  for (const auto& b : {kB0, kB1, kB2}) XDPLB_TRY(put_backend(dp, b));
  XDPLB_TRY(dp.write_ring(kPool, ring_of({kB0.id, kB1.id, kB2.id})));
  XDPLB_TRY(dp.write_pool_members(kPool, {{kB0.id, 1}, {kB1.id, 1}, {kB2.id, 1}}));
  return dp.write_ring(kEmptyPool, ring_of({}));
}

Result<std::unique_ptr<Datapath>> load_scenario(const Tunables& tunables) {
  auto dp = Datapath::load_unattached(tunables);
  if (!dp) return make_error(dp.error());
  XDPLB_TRY(program_scenario(**dp));
  return std::move(*dp);
}

uint32_t ring_choice(const std::vector<uint32_t>& ring, const Packet& p) {
  struct xdplb_flow_key key;
  std::memset(&key, 0, sizeof key);
  key.src.v4 = ipv4(p.src);
  key.dst.v4 = ipv4(p.dst);
  key.sport = htons(p.sport);
  key.dport = htons(p.dport);
  key.proto = p.proto;
  key.family = XDPLB_AF_INET;
  return ring[xdplb_flow_slot(&key)];
}

Packet with_sport_for(const std::vector<uint32_t>& ring, Packet p, uint32_t id) {
  for (int i = 0; i < 10000; ++i, ++p.sport)
    if (ring_choice(ring, p) == id) return p;
  throw std::runtime_error("no source port maps to backend " + std::to_string(id));
}

Bytes dnat_expected(Packet p, const TestBackend& b) {
  p.dst = b.addr;
  p.dport = b.port;
  if (b.fast_path) {
    p.eth_dst = b.mac;
    p.eth_src = kBridgeMac;
  }
  return p.bytes();
}

Status serve(Datapath& dp, const std::string& vip, uint32_t pool, uint32_t id, const std::string& addr,
             uint16_t bport) {
  auto backend = IpAddress::parse(addr);
  if (!backend) return make_error(backend.error());
  auto service = IpAddress::parse(vip);
  if (!service) return make_error(service.error());
  BackendEntry e;
  e.addr = *backend;
  e.port = bport;
  XDPLB_TRY(dp.put_backend(id, e));
  XDPLB_TRY(dp.write_ring(pool, ring_of({id})));
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) XDPLB_TRY(dp.put_service({*service, kPort, proto}, pool));
  return {};
}

Result<std::vector<uint64_t>> reasons_during(Datapath& dp, const std::function<void()>& f) {
  auto before = dp.reason_counters();
  if (!before) return make_error(before.error());
  f();
  auto after = dp.reason_counters();
  if (!after) return make_error(after.error());
  for (size_t i = 0; i < after->size(); ++i) (*after)[i] -= (*before)[i];
  return after;
}

}  // namespace xdplb::test
