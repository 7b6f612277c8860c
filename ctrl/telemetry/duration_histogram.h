// Durations the control thread measures (policy applies), kept as a
// Prometheus histogram: fixed upper bounds, counts per bucket, sum, count.
// Written and read on the control thread only.
#pragma once

#include <array>
#include <cstdint>

namespace meshplane::ctrl {

class DurationHistogram {
 public:
  // Seconds: a policy apply takes milliseconds; a large Maglev rebuild, seconds.
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

  void observe(double seconds) {
    size_t b = 0;
    while (b < kBounds.size() && seconds > kBounds[b]) ++b;
    ++counts_[b];
    sum_ += seconds;
    ++count_;
  }
  // Observations at most kBounds[b] (b < kBounds.size()), or all of them (b == kBounds.size()).
  uint64_t cumulative(size_t b) const {
    uint64_t n = 0;
    for (size_t i = 0; i <= b && i < counts_.size(); ++i) n += counts_[i];
    return n;
  }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::array<uint64_t, kBounds.size() + 1> counts_{};  // the last: above every bound
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace meshplane::ctrl
