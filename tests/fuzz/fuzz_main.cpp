// libFuzzer entry points (built with clang++ -fsanitize=fuzzer-no-link, linked with the
// project's static libraries and libFuzzer's runtime). libFuzzer sees no coverage inside the
// BPF programs, so every outcome the datapath reports for an input (datapath_target.h) is
// handed over as an extra counter: inputs that reach a new reason, verdict or combination of
// them are kept. An invariant that does not hold aborts, and libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "datapath_target.h"

namespace {

__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t extra_counters[xdplb::fuzz::kFeatureCount];

std::unique_ptr<xdplb::fuzz::DatapathTarget> target;

// At exit: the count of every reason the inputs reached (in -fork mode only this process's,
// none: each job prints its own). XDPLB_FUZZ_REQUIRE_REASONS=1: exit 1 if a reason the
// programs can count here was not reached (the bounded run in the suite).
void report_reasons() {
  std::fprintf(stderr, "datapath_fuzz: reasons reached (count per reason):\n%s", target->reasons_table().c_str());
  const char* require = std::getenv("XDPLB_FUZZ_REQUIRE_REASONS");
  if (!require || std::string_view(require) != "1") return;
  const std::string missing = target->reasons_missing();
  if (missing.empty()) return;
  std::fprintf(stderr, "datapath_fuzz: reachable reasons never reached: %s\n", missing.c_str());
  std::_Exit(1);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto t = xdplb::fuzz::DatapathTarget::create();
  if (!t) {
    std::fprintf(stderr, "datapath_fuzz: %s\n", t.error().c_str());
    std::exit(2);
  }
  target = std::move(*t);
  std::atexit(report_reasons);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto report = target->run(data, size);
  for (uint32_t f : report.features)
    if (f < xdplb::fuzz::kFeatureCount && extra_counters[f] < 255) extra_counters[f]++;
  if (!report.violation.empty()) {
    std::fprintf(stderr, "datapath_fuzz: invariant broken: %s\n", report.violation.c_str());
    std::abort();
  }
  return 0;
}
