// The datapath as the fuzzer sees it: the XDP and TC programs loaded (not attached) in a
// network namespace of this process, their maps programmed through the Datapath API for a few
// services (IPv4 and IPv6, three schedulers, one pool without backends, hairpin on the
// bridge, the uplink guard as attach writes it), and every frame of an input run through
// BPF_PROG_TEST_RUN with the invariants of the datapath checked on each:
//   - verdicts from the expected set, every run counted under a reason, every drop under a
//     drop reason; the frame length never changes;
//   - only a well-formed TCP/UDP frame for a service or a known flow is rewritten, and only in
//     its MACs, addresses, ports and checksums; XDP rewrites towards a backend and never for a
//     source in the uplink guard; TC back from a VIP or (hairpin) from the bridge address
//     towards a backend;
//   - every rewritten frame whose checksums verified still verifies; a reply too big for the
//     uplink goes to the stack as it came, IPv4 with DF set;
//   - a well-formed frame of a known flow (the same frame again) counts no drop reason, is
//     not dropped and (XDP) goes to the same backend.
//   - an ICMP error about the flow of the frame before (fuzz_input.h) that the datapath must
//     translate (from a backend or container about a packet it got, from the uplink about a
//     reply) is translated: its outer and quoted addresses and ports become the other side's
//     of the frame before as it was sent, its ICMP, outer and quoted IPv4 checksums verify,
//     and nothing that leaves for the uplink names a backend;
//   - the later fragment of a datagram whose first fragment was translated gets the first's
//     addresses (and only those, the MACs and the IPv4 checksum change), checksum verified;
//   - routed backends (outside the bridge, behind the uplink's router): a request DNATed to one
//     leaves by the FIB with the next hop's MACs; its reply of a live flow is translated (from
//     the VIP) or dropped (drop_routed_reply), never passed on as it came.
// Control frames change the backends meanwhile (inactive, deleted, out of the rings, back) as
// the controller does; the next input starts from the programmed state again.
// What each frame made the datapath do (reasons, verdict) comes back as features, so that
// libFuzzer keeps inputs that reach new outcomes; it cannot see coverage inside BPF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "datapath/datapath.h"
#include "frame_view.h"
#include "fuzz_input.h"

namespace xdplb::fuzz {

inline constexpr size_t kFeatureCount = 8192;

struct Report {
  std::vector<uint32_t> features;  // each < kFeatureCount
  std::string violation;           // "" when every invariant held
};

class DatapathTarget {
 public:
  // Moves the calling thread into a new network namespace (gone when the process exits),
  // builds the bridge/uplink there, loads and programs the datapath.
  static Result<std::unique_ptr<DatapathTarget>> create();

  // Runs the input's frames in order from an empty flow state.
  Report run(const uint8_t* data, size_t size);

  // Every reason the programs counted since create(), one "name count" line each by enum
  // order (0 for none), for the end of a run: which outcomes the inputs reached at all.
  std::string reasons_table();
  // The reasons the programs can count here that no input reached since create(), "" if none
  // (kUnreachable lists those that cannot be reached, and why).
  std::string reasons_missing();

  // What a frame ran as and did, for the frames derived from it (derived.h).
  struct Ran {
    Hook hook = Hook::Xdp;
    Bytes in, out;
    bool dropped = false;
  };

 private:
  DatapathTarget() = default;
  struct FrameOutcome {
    int verdict = -1;
    Bytes out;
    std::vector<uint64_t> reasons;  // counted during the run
  };
  Result<FrameOutcome> run_frame(Hook hook, const Bytes& in);
  Result<std::vector<uint64_t>> reasons();
  static bool translated_by_design(const FrameView& v);
  // A hairpin request too big for the way to its backend (lib/frag_needed.h): out must be the
  // ICMP error from the VIP it called back to its sender, quoting it. "" if so.
  std::string check_frag_needed(const FrameView& in, const Bytes& in_bytes, const Bytes& out);
  static std::string check_pass_frag_needed(const FrameView& in, const Bytes& in_bytes, const FrameOutcome& o);
  bool ours(Hook hook, const FrameView& v);
  bool routed_reply_of_flow(const FrameView& v);
  std::string check_routed(const Bytes& in, bool reply_of_flow, bool controlled, const FrameOutcome& o);
  Status control(const FrameIn& f, const Bytes& prev_out, Report& rep);
  static void add_features(Hook hook, const FrameOutcome& o, bool rewritten, uint32_t& prev, Report& rep);
  // The invariants on one run ("" when they hold), and on the same frame run again.
  std::string check_frame(const FrameIn& f, const FrameView& v, bool known, const FrameOutcome& o);
  Result<std::string> check_again(const FrameIn& f, const FrameOutcome& first);
  std::string check_rewrite(Hook hook, const FrameView& in, const Bytes& out);
  bool counted_drop(const FrameOutcome& o) const;
  Status reset_state();
  bool inside(const std::array<uint8_t, 16>& addr, int family) const;
  bool names_backend(const FrameView& v, const std::optional<IcmpView>& iv) const;
  bool must_translate_icmp(Hook hook, const Ran& about, bool controlled) const;
  std::string check_icmp(Hook hook, const Ran& about, bool controlled, const Bytes& in, const FrameOutcome& o);
  std::string check_later_fragment(Hook hook, const Ran& first, bool controlled, const Bytes& in,
                                   const FrameOutcome& o);

  std::unique_ptr<Datapath> dp_;
  int bridge_ifindex_ = 0;
  // (address bytes, port, proto) of the services and backends, for the rewrite checks.
  using Endpoint = std::tuple<std::array<uint8_t, 16>, uint16_t, uint8_t>;
  std::set<Endpoint> services_;
  std::set<std::pair<std::array<uint8_t, 16>, uint16_t>> backends_;
  std::set<std::array<uint8_t, 16>> bridge_addrs_;
  std::set<std::array<uint8_t, 16>> uplink_addrs_;  // the uplink's own (a hairpin SNAT source towards a routed backend)
  std::set<std::array<uint8_t, 16>> backend_addrs_;
  std::set<std::array<uint8_t, 16>> routed_addrs_;  // the routed backends'
  std::vector<IpPrefix> bridge_nets_;
  std::vector<IpPrefix> guard_;  // the uplink guard as written
  std::vector<uint32_t> backend_ids_;
  std::map<std::pair<std::array<uint8_t, 16>, uint16_t>, uint32_t> backend_id_;
  std::vector<bool> drop_reason_;  // by enum xdplb_reason: a "drop_*" or "no_*" outcome
  // Changed by control frames, restored before the next input: backend entries, and the
  // pools whose rings left a backend out (by that backend).
  std::set<uint32_t> touched_backends_, touched_rings_;
};

}  // namespace xdplb::fuzz
