// XDPLB_FUZZ_SEEDS=DIR fuzz_scenarios: writes the fuzzer inputs (fuzz_input.h) that reach what the packet
// tests' frames alone reach only by luck: ICMP errors about a flow the input opened (external
// and hairpin, both directions, both families), the fragments of a request, a reply and a
// hairpin request, a hairpin request towards a backend with no route (tc_hairpin_no_source)
// two hairpin flows to one backend with one SNAT port (tc_hairpin_no_port), a reply after its
// backend's id was reused, a reply bigger than the uplink's MTU and a routed backend's
// request, reply and ICMP error (one to a client without a neighbour). The addresses
// are the harness's (datapath_target.cpp). Part of the seed corpus (CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "packet.h"
#include "packet6.h"
#include "scenario.h"

using namespace xdplb;
using fuzz::FrameIn;
using fuzz::Hook;

namespace {

const test::Mac kContainerMac{0x02, 0, 0, 0, 0, 0x50};

FrameIn frame(Hook hook, test::Bytes b, bool answer = false, bool icmp = false, bool fragment = false) {
  FrameIn f;
  f.hook = hook, f.bytes = std::move(b), f.answer = answer, f.icmp = icmp, f.fragment = fragment;
  return f;
}

test::Bytes v4(uint8_t proto, const std::string& src, uint16_t sport, const std::string& dst, size_t payload,
               bool container) {
  test::Packet p = proto == 6 ? test::Packet::tcp(src, sport, dst, test::kPort) : test::Packet::udp(src, sport, dst, test::kPort);
  p.payload.assign(payload, 'x');
  if (container) p.eth_src = kContainerMac, p.eth_dst = test::kBridgeMac;
  return p.bytes();
}

test::Bytes v6(uint8_t proto, const std::string& src, uint16_t sport, size_t payload, bool container) {
  test::Frame6 f;
  f.next = proto, f.src = src, f.sport = sport, f.dst = "fd00::10", f.dport = test::kPort;
  f.payload.assign(payload, 'x');
  if (container) f.eth_src = kContainerMac, f.eth_dst = test::kBridgeMac;
  return f.bytes();
}

}  // namespace

int main() {
  const char* dir = std::getenv("XDPLB_FUZZ_SEEDS");
  if (!dir || !*dir) {
    std::fprintf(stderr, "usage: XDPLB_FUZZ_SEEDS=DIR fuzz_scenarios\n");
    return 2;
  }
  std::vector<std::vector<FrameIn>> inputs;
  for (uint8_t proto : {6, 17}) {
    for (bool six : {false, true}) {
      // a request from the uplink's client, and one from a container (hairpin)
      const test::Bytes ext = six ? v6(proto, "fd00:1::2", 40000, 100, false)
                                  : v4(proto, "192.168.1.2", 40000, test::kVip, 100, false);
      const test::Bytes hp = six ? v6(proto, "fd00:2::50", 40000, 100, true)
                                 : v4(proto, "10.1.0.50", 40000, test::kVip, 100, true);
      const test::Bytes reply = ext;  // becomes the answer (its bytes only give the payload)
      // ICMP errors: a backend's about the request; the uplink's about the reply; the same
      // for a container's hairpin request and its reply
      inputs.push_back({frame(Hook::Xdp, ext), frame(Hook::Tc, ext, false, true)});
      inputs.push_back({frame(Hook::Xdp, ext), frame(Hook::Tc, reply, true), frame(Hook::Xdp, ext, false, true)});
      inputs.push_back({frame(Hook::Tc, hp), frame(Hook::Tc, hp, false, true)});
      inputs.push_back({frame(Hook::Tc, hp), frame(Hook::Tc, reply, true), frame(Hook::Tc, hp, false, true)});
      // fragments: a request, a reply, a hairpin request
      inputs.push_back({frame(Hook::Xdp, ext, false, false, true), frame(Hook::Xdp, ext, false, false, true)});
      inputs.push_back({frame(Hook::Xdp, ext), frame(Hook::Tc, reply, true, false, true),
                        frame(Hook::Tc, reply, false, false, true)});
      inputs.push_back({frame(Hook::Tc, hp, false, false, true), frame(Hook::Tc, hp, false, false, true)});
    }
  }
  // no route to pool 4's only backend; two hairpin flows placed on one backend, one SNAT port
  inputs.push_back({frame(Hook::Tc, v4(6, "10.1.0.50", 40000, "10.0.0.40", 5, true))});
  const auto ring = test::ring_of({0, 1, 2});
  test::Packet a = test::Packet::tcp("10.1.0.50", 40000, test::kVip, test::kPort);
  a.eth_src = kContainerMac, a.eth_dst = test::kBridgeMac;
  const test::Packet first = test::with_sport_for(ring, a, 0);
  test::Packet next = first;
  next.sport++;
  next = test::with_sport_for(ring, next, 0);
  inputs.push_back({frame(Hook::Tc, first.bytes()), frame(Hook::Tc, next.bytes())});

  // a reply after its backend's id went to a new backend (tc_reply_stale); a reply bigger
  // than the uplink's MTU (tc_pass_frag_needed)
  FrameIn removed;
  removed.control = true, removed.bytes = {12, 0};  // the previous frame's backend's id reused
  const test::Bytes syn = v4(6, "192.168.1.2", 40000, test::kVip, 5, false);
  inputs.push_back({frame(Hook::Xdp, syn), removed, frame(Hook::Tc, syn, true)});
  const test::Bytes big = v4(17, "192.168.1.2", 40000, test::kVip, 1500, false);
  inputs.push_back({frame(Hook::Xdp, v4(17, "192.168.1.2", 40000, test::kVip, 5, false)), frame(Hook::Tc, big, true)});

  // the routed backend behind 10.0.0.50: a request and its reply (fwd_routed, routed_reply),
  // and the backend's ICMP error about the request (icmp_from_routed); the same from a client
  // without a neighbour (drop_routed_reply, drop_icmp_routed)
  for (const char* client : {"192.168.1.2", "192.168.1.3"}) {
    const test::Bytes req = v4(6, client, 40000, "10.0.0.50", 5, false);
    inputs.push_back({frame(Hook::Xdp, req), frame(Hook::Xdp, req, true)});
    inputs.push_back({frame(Hook::Xdp, req), frame(Hook::Xdp, req, false, true)});
  }

  for (size_t i = 0; i < inputs.size(); ++i) {
    const test::Bytes in = fuzz::encode_input(inputs[i]);
    std::ofstream(std::string(dir) + "/scenario-" + std::to_string(i), std::ios::binary)
        .write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
  }
  std::printf("fuzz_scenarios: %zu inputs in %s\n", inputs.size(), dir);
  return 0;
}
