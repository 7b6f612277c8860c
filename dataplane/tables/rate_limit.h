// Rate limits on services, shared fairly by all workers: each limit is a
// GCRA bucket (the generic cell rate algorithm, a token bucket kept as one
// "theoretical arrival time" on the TSC), taken with one compare-and-swap,
// so whichever worker a packet reaches draws from the same allowance and no
// lock is held. (DPDK's rte_meter keeps per-caller state; sharing one meter
// between workers would need a lock.) The state lives outside snapshots,
// by service slot, so a policy change does not refill a bucket.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace meshplane::dataplane {

// A limit as cycles: one token every `interval`, up to `tolerance` cycles
// of burst saved up. interval 0: no limit.
struct Gcra {
  uint64_t interval = 0;
  uint64_t tolerance = 0;
  bool active() const { return interval != 0; }

  // Takes one token at `now` from the bucket whose state is `tat`.
  bool take(std::atomic<uint64_t>& tat, uint64_t now) const {
    uint64_t t = tat.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t from = t > now ? t : now;
      if (from - now > tolerance) return false;
      if (tat.compare_exchange_weak(t, from + interval, std::memory_order_relaxed)) return true;
    }
  }
};

// A service's limits, by service slot in the snapshot.
struct RateLimitView {
  Gcra connections, packets, per_source;
  uint32_t source_mask = ~uint32_t{0};  // host order: the per-source prefix
  bool reject = false;
  bool any() const { return connections.active() || packets.active() || per_source.active(); }
};

struct alignas(RTE_CACHE_LINE_SIZE) ServiceBuckets {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> packets{0};
};

// One per-source bucket: which (service slot, source prefix) holds it, and its state.
struct SourceBucket {
  std::atomic<uint64_t> key{0};  // slot + 1 << 32 | masked source; 0: free
  std::atomic<uint64_t> tat{0};
};

// What every worker shares: by service slot, and a fixed table of source
// buckets (open addressing would let a flood of spoofed sources evict
// everyone: a slot is taken over only from a source whose bucket is full
// again, i.e. idle; otherwise newcomers share it, which can only make them
// stricter).
class RateLimitState {
 public:
  RateLimitState(uint32_t services, uint32_t sources)
      : services_(new ServiceBuckets[services]), sources_(new SourceBucket[sources]), source_mask_(sources - 1) {}

  ServiceBuckets& service(uint32_t slot) { return services_[slot]; }
  // The bucket for `source` (host order, masked) of service `slot`; `shared`
  // says when it belongs to another source that is still active.
  std::atomic<uint64_t>& source(uint32_t slot, uint32_t source, uint64_t now, bool& shared);

 private:
  std::unique_ptr<ServiceBuckets[]> services_;
  std::unique_ptr<SourceBucket[]> sources_;
  uint32_t source_mask_;
};

inline std::atomic<uint64_t>& RateLimitState::source(uint32_t slot, uint32_t source, uint64_t now, bool& shared) {
  const uint64_t key = (uint64_t{slot} + 1) << 32 | source;
  SourceBucket& b = sources_[static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 40) & source_mask_];
  shared = false;
  uint64_t held = b.key.load(std::memory_order_relaxed);
  if (held == key) return b.tat;
  // Idle: its allowance has refilled (tat in the past), so the next owner loses nothing by starting afresh.
  if ((held == 0 || b.tat.load(std::memory_order_relaxed) <= now) && b.key.compare_exchange_strong(held, key)) {
    b.tat.store(0, std::memory_order_relaxed);
    return b.tat;
  }
  shared = b.key.load(std::memory_order_relaxed) != key;
  return b.tat;
}

}  // namespace meshplane::dataplane
