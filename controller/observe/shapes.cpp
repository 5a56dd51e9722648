// The --json shapes. Field order is the order of the README table; tests pin names and types.
#include "observe/shapes.h"

#include <netinet/in.h>
#include <xdplb/abi.h>

#include "lb/balancer.h"

namespace xdplb::observe {

namespace {

std::string address_text(const SavedBackend& b) { return b.addr.family ? b.addr.to_string() : ""; }

// The saved backends of service s, each as fn makes it.
template <typename Fn>
Json backends_of(const BridgeState& state, const ServiceConfig& s, Fn fn) {
  Json out = Json::array();
  for (const auto& b : state.backends)
    if (b.service == s.name) out.push_back(fn(b));
  return out;
}

Json addresses(const std::vector<IpAddress>& list) {
  Json out = Json::array();
  for (const auto& a : list) out.push_back(a.to_string());
  return out;
}

}  // namespace

std::string ports_text(const ServiceConfig& s) {
  return s.port == s.port_last ? std::to_string(s.port) : std::to_string(s.port) + "-" + std::to_string(s.port_last);
}

Json backend_json(const SavedBackend& b, const BackendLive& live) {
  return {{"id", b.id},
          {"service", b.service},
          {"name", b.name},
          {"source", name_of(b.source)},
          {"address", address_text(b)},
          {"family", b.family},
          {"port", b.port},
          {"weight", b.weight},
          {"placement_weight", live.placement_weight},
          {"path", name_of(b.path)},
          {"via", b.via},
          {"path_reason", b.path_reason},
          {"packets", live.packets},
          {"bytes", live.bytes},
          {"new_flows", live.new_flows},
          {"connections", live.connections < 0 ? 0 : live.connections},
          {"drained", b.drained},
          {"drain_end", b.drain_end},
          {"health", name_of(b.health)},
          {"backup", b.backup},
          {"health_reason", b.health_reason},
          {"in_ring", live.in_ring},
          {"flow_entries", live.flow_entries},
          {"active_flows", live.active_flows}};
}

Json service_status_json(const ServiceConfig& s, const std::vector<IpAddress>& defaults, bool panic) {
  return {{"name", s.name},
          {"vips", addresses(service_listen(s, defaults))},
          {"port", s.port},
          {"port_last", s.port_last},
          {"proto", name_of(s.protos)},
          {"backend_port", s.backend_port},
          {"backend_port_last", s.backend_port_end()},
          {"scheduler", name_of(s.scheduler)},
          {"affinity", name_of(s.affinity)},
          {"health_check", name_of(s.health_check.type)},
          {"panic_threshold", s.health_check.panic_threshold},
          {"panic", panic},
          {"ring_size", static_cast<uint32_t>(XDPLB_MAGLEV_RING_SIZE)}};
}

Json reply_nat_json(const ServiceKey& endpoint, const ReplyNat& nat, const std::vector<ServiceKey>& serves) {
  Json claims = Json::array();
  for (const auto& k : serves) claims.push_back(Endpoint{k.vip, k.port}.to_string());
  return {{"backend", endpoint.vip.to_string()},
          {"port", endpoint.port},
          {"proto", endpoint.proto == IPPROTO_TCP ? "tcp" : "udp"},
          {"ambiguous", nat.ambiguous},
          {"vip", nat.ambiguous ? "" : nat.vip.to_string()},
          {"vport", nat.ambiguous ? uint16_t{0} : nat.vport},
          {"serves", claims}};
}

Json health_check_json(const HealthCheckConfig& h) {
  return {{"type", name_of(h.type)},       {"http_path", h.http_path},     {"expect_min", h.expect_min},
          {"expect_max", h.expect_max},    {"interval_ms", h.interval_ms}, {"timeout_ms", h.timeout_ms},
          {"rise", h.rise},                {"fall", h.fall},               {"slow_start_ms", h.slow_start_ms},
          {"panic_threshold", h.panic_threshold}, {"refusals", h.refusals}};
}

Json service_list_json(const BridgeState& state, const ServiceConfig& s, const std::vector<IpAddress>& defaults) {
  const Json backends = backends_of(state, s, [](const SavedBackend& b) -> Json {
    return {{"id", b.id},         {"name", b.name},     {"address", address_text(b)},
            {"family", b.family}, {"port", b.port},     {"weight", b.weight},
            {"backup", b.backup}, {"drained", b.drained}, {"fast_path_disabled", b.fast_path_disabled}};
  });
  return {{"name", s.name},
          {"ports", ports_text(s)},
          {"backend_port", s.backend_port},
          {"backend_ports", port_range_text(s.backend_port, s.backend_port_end())},
          {"proto", name_of(s.protos)},
          {"listen", addresses(s.listen)},
          {"addresses", addresses(service_listen(s, defaults))},
          {"scheduler", name_of(s.scheduler)},
          {"affinity", name_of(s.affinity)},
          {"health_check", health_check_json(s.health_check)},
          {"backends", backends}};
}

Json health_json(const BridgeState& state, const ServiceConfig& s) {
  const Json backends = backends_of(state, s, [](const SavedBackend& b) -> Json {
    return {{"id", b.id},     {"name", b.name},           {"address", address_text(b)},
            {"port", b.port}, {"health", name_of(b.health)}, {"health_reason", b.health_reason}};
  });
  return {{"bridge", state.bridge}, {"service", s.name}, {"checks", health_check_json(s.health_check)},
          {"backends", backends}};
}

Json scheduler_json(const std::string& bridge, const ServiceConfig& s, const std::string& meaning) {
  return {{"bridge", bridge},
          {"service", s.name},
          {"scheduler", name_of(s.scheduler)},
          {"affinity", name_of(s.affinity)},
          {"meaning", meaning}};
}

}  // namespace xdplb::observe
