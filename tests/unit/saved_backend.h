// A backend given by address (port 80) for the unit tests that build a BridgeState by hand.
#pragma once

#include "core/state.h"

namespace xdplb::test {

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
