// Table-driven packet cases (after Katran's lib/testing): each row is a description, the map
// changes to make first, an input frame, the expected verdict, the named reasons it must
// count (exactly these, one each), the expected output frame, and (if set) the trace record
// it must write: a row with `trace` runs with a trace on and must write exactly one record, of
// that hook, with its verdict and exactly its reasons.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "packet.h"

namespace xdplb::test {

struct Case {
  std::string description;
  std::function<Status(Datapath&)> setup;  // may be empty
  Bytes input;
  int verdict;
  std::vector<uint32_t> reasons;
  std::optional<Bytes> output;  // nullopt: the frame must come out untouched
  std::optional<uint32_t> trace = std::nullopt;  // enum xdplb_trace_hook
};

enum class Prog { Xdp, Tc };

// Runs the rows in order against dp (rows may depend on earlier ones, e.g. a known flow);
// reports every mismatch with the row's description and the differing fields. A rewritten
// output must also pass IP and L4 checksums recomputed from scratch. ifindex: the ingress
// device of each frame (TC: the skb's; XDP: 0 for the test run's loopback).
void run_cases(Datapath& dp, Prog prog, const std::vector<Case>& cases, int ifindex = 0);

}  // namespace xdplb::test
