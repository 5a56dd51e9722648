#include "observe/trace.h"

#include <arpa/inet.h>
#include <linux/pkt_cls.h>

#include "core/reasons.h"
#include "observe/metrics.h"

namespace xdplb::observe {

namespace {

std::string endpoint_text(const union xdplb_addr& a, uint16_t port_be, uint8_t family) {
  const IpAddress ip = IpAddress::from_abi(a, family == XDPLB_AF_INET6 ? AF_INET6 : AF_INET);
  return Endpoint{ip, ntohs(port_be)}.to_string();
}

const char* verdict_name(uint32_t hook, int32_t v) {
  if (hook == XDPLB_TRACE_XDP) {
    switch (v) {
      case 1: return "drop";  // XDP_DROP
      case 2: return "pass";
      case 3: return "tx";
      case 4: return "redirect";
      default: return "aborted";
    }
  }
  switch (v) {
    case TC_ACT_OK: return "ok";
    case TC_ACT_SHOT: return "shot";
    case TC_ACT_REDIRECT: return "redirect";
    default: return "other";
  }
}

bool has(uint64_t bits, unsigned reason) { return (bits >> reason) & 1; }

}  // namespace

Json trace_json(const struct xdplb_trace_event& e, const BridgeState& state) {
  Json j;
  j["ts_ns"] = e.ts_ns;
  j["hook"] = e.hook == XDPLB_TRACE_XDP ? "xdp" : "tc_reply";
  j["proto"] = e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : std::to_string(e.key.proto);
  j["src"] = endpoint_text(e.key.src, e.key.sport, e.key.family);
  j["dst"] = endpoint_text(e.key.dst, e.key.dport, e.key.family);
  const ServiceConfig* svc = nullptr;
  if (e.pool != XDPLB_NO_POOL)
    for (const auto& s : state.services)
      if (s.slot == e.pool / 2) svc = &s;
  const SavedBackend* be = nullptr;
  for (const auto& b : state.backends)
    if (b.id == e.backend) be = &b;
  if (!svc && be) svc = find_service(state, be->service);  // a reply: the service of its backend
  j["service"] = svc ? Json(svc->name) : Json(nullptr);
  j["scheduler"] = e.pool != XDPLB_NO_POOL && e.scheduler < XDPLB_SCHED_MAX
                       ? Json(name_of(static_cast<Scheduler>(e.scheduler)))
                       : Json(nullptr);
  std::string flow = "none";
  if (e.hook == XDPLB_TRACE_XDP && e.pool != XDPLB_NO_POOL) {
    if (has(e.reasons, XDPLB_R_FLOW_RESELECTED)) flow = "reselected";
    else if (has(e.reasons, XDPLB_R_FLOW_MIDSTREAM)) flow = "midstream";
    else if (has(e.reasons, XDPLB_R_NEW_FLOW) || has(e.reasons, XDPLB_R_FLOW_TABLE_FULL)) flow = "new";
    else if (e.backend != XDPLB_NO_BACKEND) flow = "hit";
  } else if (e.hook == XDPLB_TRACE_TC_REPLY && e.backend != XDPLB_NO_BACKEND) {
    flow = "hit";  // a reply of a flow it knows
  }
  j["flow"] = flow;
  j["backend_id"] = e.backend == XDPLB_NO_BACKEND ? Json(nullptr) : Json(e.backend);
  j["backend"] = be ? Json(backend_label(*be)) : Json(nullptr);
  j["verdict"] = verdict_name(e.hook, e.verdict);
  Json reasons = Json::array();
  for (unsigned r = 0; r < XDPLB_R_MAX; ++r)
    if (has(e.reasons, r)) reasons.push_back(reason_info(r).name);
  j["reasons"] = reasons;
  return j;
}

std::string trace_text(const Json& j) {
  std::string line = j["hook"].get<std::string>() + " " + j["proto"].get<std::string>() + " " +
                     j["src"].get<std::string>() + " -> " + j["dst"].get<std::string>();
  if (j["service"].is_null()) {
    line += " no service";
  } else {
    line += " service " + j["service"].get<std::string>();
    if (!j["scheduler"].is_null()) line += " (" + j["scheduler"].get<std::string>() + ")";
  }
  if (j["flow"] != "none") line += " flow " + j["flow"].get<std::string>();
  if (!j["backend"].is_null()) line += (j["hook"] == "xdp" ? " -> " : " from ") + j["backend"].get<std::string>();
  else if (!j["backend_id"].is_null()) line += " backend id " + std::to_string(j["backend_id"].get<uint32_t>());
  line += " " + j["verdict"].get<std::string>() + " [";
  bool first = true;
  for (const auto& r : j["reasons"]) {
    line += (first ? "" : " ") + r.get<std::string>();
    first = false;
  }
  return line + "]";
}

}  // namespace xdplb::observe
