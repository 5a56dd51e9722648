// The map setup shared by the packet tests and the prog-cost benchmark, programmed through
// the Datapath API itself: one VIP with TCP and UDP on port 8000 in pool 0 over three
// backends (one fast path, two pass path; ring and member list), and a second VIP whose pool
// has no backend. Services start on the maglev scheduler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "datapath/datapath.h"
#include "packet.h"

namespace xdplb::test {

inline const std::string kVip = "10.0.0.10";
inline const std::string kVipNoBackend = "10.0.0.20";
inline constexpr uint16_t kPort = 8000;
inline constexpr uint32_t kPool = 0, kEmptyPool = 1;
inline const Mac kBridgeMac{0x02, 0, 0, 0, 0, 0x01};

struct TestBackend {
  uint32_t id;
  std::string addr;
  uint16_t port;
  bool fast_path;
  Mac mac;
};
inline const TestBackend kB0{0, "10.1.0.11", 80, true, {0x02, 0, 0, 0, 0, 0x11}};
inline const TestBackend kB1{1, "10.1.0.12", 80, false, {0x02, 0, 0, 0, 0, 0x12}};
inline const TestBackend kB2{2, "10.1.0.13", 80, false, {0x02, 0, 0, 0, 0, 0x13}};

// Ring with slot s -> ids[s % n]; all XDPLB_NO_BACKEND if ids is empty.
std::vector<uint32_t> ring_of(const std::vector<uint32_t>& ids);
Status put_backend(Datapath& dp, const TestBackend& b, bool active = true, int fast_ifindex = 1);
// Services + backends + ring_of({0,1,2}) and members {0,1,2} (weight 1) for pool 0; pool 1
// left empty.
Status program_scenario(Datapath& dp);
// A freshly loaded, unattached datapath with the scenario programmed.
Result<std::unique_ptr<Datapath>> load_scenario(const Tunables& tunables = {});

// The backend the ring holds for this packet's flow (same flow hash as the program).
uint32_t ring_choice(const std::vector<uint32_t>& ring, const Packet& p);
// p with the first source port >= p.sport whose flow the ring places on id.
Packet with_sport_for(const std::vector<uint32_t>& ring, Packet p, uint32_t id);
// One service pool: backend id (addr:bport) alone in pool's ring, vip:kPort TCP and UDP on it.
Status serve(Datapath& dp, const std::string& vip, uint32_t pool, uint32_t id, const std::string& addr,
             uint16_t bport);

// What f made the datapath count, per reason (the counters after minus before).
Result<std::vector<uint64_t>> reasons_during(Datapath& dp, const std::function<void()>& f);

// What the XDP program should emit for p sent to backend b.
Bytes dnat_expected(Packet p, const TestBackend& b);

}  // namespace xdplb::test
