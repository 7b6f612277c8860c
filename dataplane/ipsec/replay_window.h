// The receiver's anti-replay window (RFC 4303 section 3.4.3 and appendix A):
// a packet is checked before its ICV is verified and the window moves only
// after, so forged packets cannot move it. Sequence numbers are 64 bits; with
// extended sequence numbers (RFC 4304) only the low 32 travel and the high
// 32 are inferred from the window (RFC 4303 appendix A.2).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

namespace meshplane::dataplane {

class ReplayWindow {
 public:
  static constexpr uint32_t kMaxSize = 4096;

  // `size`: packets the window spans; 0 turns replay checks off.
  explicit ReplayWindow(uint32_t size = 0) : size_(size > kMaxSize ? kMaxSize : size) {}
  ReplayWindow(const ReplayWindow& o) { *this = o; }
  ReplayWindow& operator=(const ReplayWindow& o) {
    top_.store(o.top(), std::memory_order_relaxed);
    size_ = o.size_;
    std::memcpy(bits_, o.bits_, sizeof bits_);
    return *this;
  }

  enum class Verdict : uint8_t { kNew, kReplayed, kTooOld };

  uint32_t size() const { return size_; }
  // The highest number accepted. Only its worker writes it; others may read it (stats).
  uint64_t top() const { return top_.load(std::memory_order_relaxed); }

  // The whole sequence number of a packet carrying `low`. Without ESN the
  // high half is 0. With ESN it is the high half that puts `low` nearest
  // the window (appendix A.2.2).
  uint64_t infer(uint32_t low, bool esn) const {
    if (!esn) return low;
    const uint64_t top = this->top();
    const uint32_t top_low = static_cast<uint32_t>(top);
    const uint32_t top_high = static_cast<uint32_t>(top >> 32);
    const uint32_t w = size_ ? size_ : 1;
    const uint32_t bottom = top_low - w + 1;  // mod 2^32
    uint32_t high;
    if (top_low >= w - 1)  // the window lies within one 2^32 subspace
      high = low >= bottom ? top_high : top_high + 1;
    else  // the window spans two subspaces
      high = low >= bottom ? top_high - 1 : top_high;
    return uint64_t{high} << 32 | low;
  }

  Verdict check(uint64_t seq) const {
    const uint64_t top = this->top();
    if (seq == 0) return Verdict::kReplayed;  // never sent: the first number is 1
    if (seq > top) return Verdict::kNew;
    if (size_ == 0) return Verdict::kNew;
    if (top - seq >= size_) return Verdict::kTooOld;
    return bit(seq) ? Verdict::kReplayed : Verdict::kNew;
  }

  // Records `seq` as received; call only after its ICV verified and check() said kNew.
  void accept(uint64_t seq) {
    const uint64_t top = this->top();
    if (seq > top) {
      if (seq - top >= kBits) {
        for (auto& word : bits_) word = 0;
      } else {
        for (uint64_t s = top + 1; s < seq; ++s) clear(s);
      }
      top_.store(seq, std::memory_order_relaxed);
    }
    set(seq);
  }

 private:
  static constexpr uint32_t kBits = kMaxSize;
  bool bit(uint64_t s) const { return bits_[(s % kBits) / 64] >> (s % 64) & 1; }
  void set(uint64_t s) { bits_[(s % kBits) / 64] |= uint64_t{1} << (s % 64); }
  void clear(uint64_t s) { bits_[(s % kBits) / 64] &= ~(uint64_t{1} << (s % 64)); }

  std::atomic<uint64_t> top_{0};  // the highest sequence number accepted
  uint32_t size_;
  uint64_t bits_[kBits / 64] = {};
};

}  // namespace meshplane::dataplane
