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

struct HookInfo {
  const char* name;
  bool request;  // client -> service (the backend is where it goes), else a reply
  bool socket;   // a cgroup hook: no packet, no source address yet
};

HookInfo hook_info(uint32_t hook) {
  switch (hook) {
    case XDPLB_TRACE_XDP: return {"xdp", true, false};
    case XDPLB_TRACE_TC_REPLY: return {"tc_reply", false, false};
    case XDPLB_TRACE_TC_HAIRPIN: return {"tc_hairpin", true, false};
    case XDPLB_TRACE_TC_ICMP: return {"tc_icmp", false, false};
    case XDPLB_TRACE_TC_FRAGMENT: return {"tc_fragment", false, false};
    case XDPLB_TRACE_TC_HAIRPIN_FRAGMENT: return {"tc_hairpin_fragment", true, false};
    case XDPLB_TRACE_SOCK_CONNECT: return {"connect", true, true};
    case XDPLB_TRACE_SOCK_SENDMSG: return {"sendmsg", true, true};
    case XDPLB_TRACE_XDP_ICMP: return {"xdp_icmp", true, false};
    case XDPLB_TRACE_XDP_FRAGMENT: return {"xdp_fragment", true, false};
    default: return {"unknown", false, false};
  }
}

const char* verdict_name(uint32_t hook, int32_t v) {
  if (hook_info(hook).socket) return "allow";  // the call goes on (to the backend, or untouched)
  if (hook == XDPLB_TRACE_XDP || hook == XDPLB_TRACE_XDP_ICMP || hook == XDPLB_TRACE_XDP_FRAGMENT) {
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
  const HookInfo hook = hook_info(e.hook);
  j["hook"] = hook.name;
  j["proto"] = e.key.proto == 6 ? "tcp" : e.key.proto == 17 ? "udp" : std::to_string(e.key.proto);
  j["src"] = hook.socket ? Json(nullptr) : Json(endpoint_text(e.key.src, e.key.sport, e.key.family));
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
  if (hook.socket) {
    // a socket is pointed at its backend once: no flow entry
  } else if (hook.request && e.pool != XDPLB_NO_POOL) {
    if (has(e.reasons, XDPLB_R_FLOW_RESELECTED)) flow = "reselected";
    else if (has(e.reasons, XDPLB_R_FLOW_MIDSTREAM)) flow = "midstream";
    else if (has(e.reasons, XDPLB_R_NEW_FLOW) || has(e.reasons, XDPLB_R_TC_HAIRPIN_NEW) ||
             has(e.reasons, XDPLB_R_FLOW_TABLE_FULL))
      flow = "new";
    else if (e.backend != XDPLB_NO_BACKEND) flow = "hit";
  } else if (e.backend != XDPLB_NO_BACKEND) {
    flow = "hit";  // a reply, an ICMP error or a later fragment of a flow it knows
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

bool trace_client_is_host(const IpAddress& client, const std::vector<IpAddress>& local) {
  IpAddress v6_loopback{AF_INET6, {}};
  v6_loopback.bytes[15] = 1;
  const bool loopback = client.is_v4() ? client.bytes[0] == 127 : client == v6_loopback;
  if (loopback) return true;
  for (const auto& a : local)
    if (a == client) return true;
  return false;
}

std::string trace_text(const Json& j) {
  const std::string src = j["src"].is_null() ? "host" : j["src"].get<std::string>();
  std::string line = j["hook"].get<std::string>() + " " + j["proto"].get<std::string>() + " " + src +
                     " -> " + j["dst"].get<std::string>();
  if (j["service"].is_null()) {
    line += " no service";
  } else {
    line += " service " + j["service"].get<std::string>();
    if (!j["scheduler"].is_null()) line += " (" + j["scheduler"].get<std::string>() + ")";
  }
  if (j["flow"] != "none") line += " flow " + j["flow"].get<std::string>();
  const bool reply = j["hook"] == "tc_reply" || j["hook"] == "tc_icmp" || j["hook"] == "tc_fragment";
  if (!j["backend"].is_null()) line += (reply ? " from " : " -> ") + j["backend"].get<std::string>();
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
