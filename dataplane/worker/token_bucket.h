// Per-worker token bucket on the TSC: ICMP errors, packets to the host and to IKE.
#pragma once

#include <cstdint>

namespace meshplane::dataplane {

class TokenBucket {
 public:
  // `rate` tokens per second, at most `burst` saved up.
  void configure(uint64_t rate, uint64_t burst, uint64_t tsc_hz) {
    rate_ = rate;
    burst_ = burst;
    tsc_hz_ = tsc_hz;
    tokens_ = burst * tsc_hz;  // tokens scaled by tsc_hz to stay in integers
  }
  bool take(uint64_t now) {
    if (rate_ == 0) return false;
    const uint64_t cap = burst_ * tsc_hz_;
    if (now > last_) {
      const uint64_t gained = (now - last_) * rate_;
      tokens_ = (cap - tokens_ < gained) ? cap : tokens_ + gained;
      last_ = now;
    }
    if (tokens_ < tsc_hz_) return false;
    tokens_ -= tsc_hz_;
    return true;
  }
  // take(), at `rate` and `burst` from now on: a snapshot's settings, followed when they change.
  bool take_at(uint64_t rate, uint64_t burst, uint64_t now, uint64_t tsc_hz) {
    if (rate != rate_ || burst != burst_) configure(rate, burst, tsc_hz);
    return take(now);
  }
  uint64_t rate() const { return rate_; }
  uint64_t burst() const { return burst_; }

 private:
  uint64_t rate_ = 0;
  uint64_t burst_ = 0;
  uint64_t tsc_hz_ = 1;
  uint64_t tokens_ = 0;
  uint64_t last_ = 0;
};

}  // namespace meshplane::dataplane
