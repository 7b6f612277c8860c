// Maglev table build time on the control thread, for the sizes operators use.
//   build/bench/maglev_bench
#include <chrono>
#include <cstdio>
#include <fmt/format.h>

#include "ctrl/compile/maglev_builder.h"

int main() {
  using meshplane::ctrl::build_maglev;
  using meshplane::ctrl::MaglevEndpoint;
  for (uint32_t size : {65537u, 655373u}) {
    for (int n : {10, 100, 1000}) {
      std::vector<MaglevEndpoint> eps;
      for (int i = 0; i < n; ++i) eps.push_back({fmt::format("10.{}.{}.{}:8080", i >> 16, (i >> 8) & 255, i & 255), 1});
      constexpr int kRuns = 10;
      double best = 1e9;
      for (int r = 0; r < kRuns; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        auto t = build_maglev(eps, size);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (t.slots.size() != size) return 1;
        best = std::min(best, ms);
      }
      std::printf("maglev build: %4d endpoints, table %6u: %7.2f ms (best of %d)\n", n, size, best, kRuns);
    }
  }
  return 0;
}
