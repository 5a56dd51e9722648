// libFuzzer entry points (built with clang++ -fsanitize=fuzzer-no-link, linked with the
// project's static libraries and libFuzzer's runtime). libFuzzer sees no coverage inside the
// BPF programs, so every outcome the datapath reports for an input (datapath_target.h) is
// handed over as an extra counter: inputs that reach a new reason, verdict or combination of
// them are kept. An invariant that does not hold aborts, and libFuzzer saves the input.
#include <cstdio>
#include <cstdlib>

#include "datapath_target.h"

namespace {

__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t extra_counters[xdplb::fuzz::kFeatureCount];

std::unique_ptr<xdplb::fuzz::DatapathTarget> target;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto t = xdplb::fuzz::DatapathTarget::create();
  if (!t) {
    std::fprintf(stderr, "datapath_fuzz: %s\n", t.error().c_str());
    std::exit(2);
  }
  target = std::move(*t);
  std::atexit([] { std::fprintf(stderr, "datapath_fuzz: reasons reached: %s\n", target->reasons_reached().c_str()); });
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
