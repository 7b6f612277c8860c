// Which ports the workers poll and transmit on, one bit per port. The
// control thread clears a port's bit and then waits one grace period
// (SnapshotSlot::synchronize): after that no worker is inside rx or tx on the
// port, so it may be stopped, or its peer may leave. Workers read the bits
// once per loop, after their previous quiescent report.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/worker/capacity.h"

namespace meshplane::dataplane {

class PortGate {
 public:
  static_assert(kMaxPorts <= 32, "one bit per port");

  // Worker side.
  uint32_t open_ports() const { return open_.load(std::memory_order_acquire); }

  // Control side (one writer).
  void open(uint16_t port) { open_.fetch_or(uint32_t{1} << port, std::memory_order_release); }
  void close(uint16_t port) { open_.fetch_and(~(uint32_t{1} << port), std::memory_order_release); }
  bool is_open(uint16_t port) const { return open_ports() >> port & 1; }

 private:
  std::atomic<uint32_t> open_{~uint32_t{0}};
};

}  // namespace meshplane::dataplane
