// xdplb_bench_maglev: control-plane figures of the Maglev ring (controller/core/maglev.h) as
// one JSON object: build time for 10/100/1000 backends (median and min-max of several builds),
// the same for the reference build the fast one replaced (tests/unit/maglev_reference.h, runs
// interleaved with the fast ones, so the ratio compares like with like), and the share of ring
// slots — i.e. of flows — that move when one of N backends leaves.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/maglev.h"
#include "maglev_reference.h"

namespace {

std::vector<xdplb::MaglevBackend> pool(uint32_t n) {
  std::vector<xdplb::MaglevBackend> out;
  for (uint32_t i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "10.%u.%u.11:80", i / 250, i % 250);
    out.push_back({i, key, 1});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 9;
  std::vector<uint32_t> sizes = {10, 100, 1000};
  CLI::App app{"Maglev ring build time and disruption (JSON on stdout)"};
  app.add_option("--runs", runs, "builds per size (median reported)")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--backends", sizes, "pool sizes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  nlohmann::json out = {{"ring_size", XDPLB_MAGLEV_RING_SIZE}, {"runs", runs},
                        {"pools", nlohmann::json::array()}};
  for (uint32_t n : sizes) {
    const auto backends = pool(n);
    std::vector<double> ms, ref_ms;
    std::vector<uint32_t> ring;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      auto built = xdplb::build_maglev_ring(backends);
      const auto t1 = std::chrono::steady_clock::now();
      const auto reference = xdplb::reference::build_maglev_ring(backends);
      const auto t2 = std::chrono::steady_clock::now();
      if (!built) {
        std::fprintf(stderr, "xdplb_bench_maglev: %s\n", built.error().c_str());
        return 1;
      }
      if (*built != reference) {
        std::fprintf(stderr, "xdplb_bench_maglev: the ring differs from the reference build\n");
        return 1;
      }
      ring = std::move(*built);
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      ref_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    std::sort(ms.begin(), ms.end());
    std::sort(ref_ms.begin(), ref_ms.end());
    // One backend leaves (the middle one): which slots change owner?
    auto fewer = backends;
    const uint32_t gone = n / 2;
    fewer.erase(fewer.begin() + gone);
    auto after = xdplb::build_maglev_ring(fewer);
    if (!after) {
      std::fprintf(stderr, "xdplb_bench_maglev: %s\n", after.error().c_str());
      return 1;
    }
    uint64_t moved = 0, moved_other = 0;
    for (size_t i = 0; i < ring.size(); ++i) {
      if (ring[i] == (*after)[i]) continue;
      ++moved;
      if (ring[i] != gone) ++moved_other;  // a flow whose backend stayed, moved anyway
    }
    const double slots = static_cast<double>(ring.size());
    out["pools"].push_back({{"backends", n},
                            {"build_ms_median", ms[ms.size() / 2]},
                            {"build_ms_min", ms.front()},
                            {"build_ms_max", ms.back()},
                            {"reference_build_ms_median", ref_ms[ref_ms.size() / 2]},
                            {"reference_build_ms_min", ref_ms.front()},
                            {"reference_build_ms_max", ref_ms.back()},
                            {"build_x_reference", ms[ms.size() / 2] / ref_ms[ref_ms.size() / 2]},
                            {"moved_share", moved / slots},
                            {"moved_share_ideal", 1.0 / n},
                            {"moved_share_of_staying_backends", moved_other / slots}});
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
