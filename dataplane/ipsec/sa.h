// Security associations as workers use them. The immutable part (keys,
// SPI, addresses) is compiled into snapshots; the mutable part (sequence
// numbers, replay window, counters) is an SaState that the control side
// owns and keeps across snapshots, so a policy change never resets an
// outbound counter (a repeated GCM nonce under one key is fatal) or a
// replay window.
#pragma once

#include <rte_common.h>

#include <atomic>
#include <cstdint>

#include "dataplane/ipsec/aes_gcm.h"
#include "dataplane/ipsec/replay_window.h"
#include "dataplane/worker/counters.h"

namespace meshplane::dataplane {

// Per worker, by SA slot (counter_list.h).
struct SaCounters {
  MESHPLANE_SA_COUNTERS(MESHPLANE_COUNTER_MEMBER)
  void reset();
};

// Mutable per-SA state, in a table the control side sizes at start (by SA
// slot). Outbound sequence numbers are taken with an atomic add, so several
// workers may encrypt with one SA and never share a number. The replay
// window is written by one worker at a time (docs/architecture.md,
// "Encryption").
struct alignas(RTE_CACHE_LINE_SIZE) SaState {
  explicit SaState(uint32_t replay_window = 0) : window(replay_window) {}

  std::atomic<uint64_t> last_seq{0};  // outbound: the last number handed out
  // Outbound: the highest number this process may use. The control thread
  // raises it after recording a higher mark on disk, so a restart never
  // reuses a number under the same key; also the SA's hard packet limit.
  std::atomic<uint64_t> seq_limit{0};
  // Inbound: the hard lifetime is over; nothing more is accepted.
  std::atomic<bool> expired{false};
  alignas(RTE_CACHE_LINE_SIZE) ReplayWindow window;  // inbound
};

enum class Encapsulation : uint8_t { kEsp, kUdp };  // IP protocol 50, or UDP 4500 (RFC 3948)

// What encrypting with an SA needs, besides its state.
struct OutboundSa {
  GcmKey key;
  uint32_t spi;          // network order
  uint32_t local;        // outer source, network order
  uint32_t remote;       // outer destination (the peer), network order
  bool esn;              // extended sequence numbers (RFC 4304)
  Encapsulation encapsulation;
  uint16_t remote_port;  // UDP encapsulation: the peer's port, 4500 or what its NAT maps (network order)
  uint32_t slot;  // SaState and counters
};

struct InboundSa {
  GcmKey key;
  uint32_t spi;    // network order
  uint32_t peer;   // index into Snapshot::peers: whose prefixes inner sources must lie in
  bool esn;
  uint32_t slot;  // SaState and counters
};

MESHPLANE_COUNTER_TABLE(kSaCounters, SaCounters, MESHPLANE_SA_COUNTERS)

inline void SaCounters::reset() {
  for (const auto& c : kSaCounters) (this->*c.member).set(0);
}

}  // namespace meshplane::dataplane
