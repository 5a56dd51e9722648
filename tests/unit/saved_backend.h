// Services and backends (given by address, port 80) for the unit tests that build a
// BridgeState by hand.
#pragma once

#include "core/state.h"

namespace xdplb::test {

inline ServiceConfig service_config(const char* name, uint32_t slot, uint16_t port, ProtoSet protos = ProtoSet::Both) {
  ServiceConfig s;
  s.name = name;
  s.slot = slot;
  s.port = s.port_last = port;
  s.protos = protos;
  return s;
}

inline SavedBackend saved_backend(uint32_t id, const char* service, const char* address, bool backup = false) {
  SavedBackend b;
  b.id = id;
  b.service = service;
  b.addr = *IpAddress::parse(address);
  b.family = b.addr.is_v6() ? 6 : 4;
  b.port = 80;
  b.backup = backup;
  return b;
}

}  // namespace xdplb::test
