// Latency histogram for the generator: log-linear buckets (HdrHistogram's
// idea: 64 sub-buckets per power of two, so every value is kept within
// 1/64 = 1.6%), fixed memory, O(1) record, percentiles by walking the buckets.
#pragma once

#include <array>
#include <cstdint>

namespace meshplane::gen {

class LatencyHistogram {
 public:
  void record(uint64_t ns) {
    ++counts_[bucket(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // The value at percentile p (0..100): the upper edge of the bucket that
  // holds it, so never below the true value and at most 1.6% above.
  uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) {
        const uint64_t upper = upper_edge(b);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }

  static constexpr uint32_t kSub = 64;
  static constexpr uint32_t kBuckets = kSub * 58;

  static uint32_t bucket(uint64_t v) {
    if (v < kSub) return static_cast<uint32_t>(v);
    const uint32_t msb = 63 - static_cast<uint32_t>(__builtin_clzll(v));  // >= 6
    const uint32_t shift = msb - 5;                                     // keep the top 6 bits
    return (shift * kSub / 2) + static_cast<uint32_t>(v >> shift);      // v >> shift in [32, 64)
  }
  static uint64_t upper_edge(uint32_t b) {
    if (b < kSub) return b;
    const uint32_t shift = (b - kSub / 2) / (kSub / 2);
    const uint64_t top = b - shift * (kSub / 2);
    return ((top + 1) << shift) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0, max_ = 0;
};

}  // namespace meshplane::gen
