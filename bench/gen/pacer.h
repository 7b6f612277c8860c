// Rate control for the generator: how many packets may go now so that the
// average rate is `pps` (TSC based, no sleeping, no drift: the schedule is
// anchored at the start, not at the last send).
#pragma once

#include <cstdint>

namespace meshplane::gen {

class Pacer {
 public:
  // pps 0: no limit.
  Pacer(uint64_t tsc_hz, uint64_t pps, uint64_t start_tsc) : hz_(tsc_hz), pps_(pps), start_(start_tsc) {}

  // Packets allowed at `now`, at most `burst`; call sent() with what went out.
  uint32_t allowed(uint64_t now, uint32_t burst) const {
    if (pps_ == 0) return burst;
    const uint64_t due = static_cast<uint64_t>(static_cast<unsigned __int128>(now - start_) * pps_ / hz_) + 1;
    return due > sent_ ? static_cast<uint32_t>(due - sent_ < burst ? due - sent_ : burst) : 0;
  }
  void sent(uint32_t n) { sent_ += n; }
  uint64_t total() const { return sent_; }

 private:
  uint64_t hz_, pps_, start_;
  uint64_t sent_ = 0;
};

}  // namespace meshplane::gen
