#include "dataplane/tables/neighbour_table.h"

#include <rte_common.h>

namespace meshplane::dataplane {

const char* neighbour_state_name(NeighbourState s) {
  switch (s) {
    case NeighbourState::kNone: return "none";
    case NeighbourState::kIncomplete: return "incomplete";
    case NeighbourState::kReachable: return "reachable";
    case NeighbourState::kProbe: return "probe";
    case NeighbourState::kFailed: return "failed";
    case NeighbourState::kStatic: return "static";
  }
  return "unknown";
}

NeighbourTable::NeighbourTable(uint32_t capacity) : capacity_(capacity) {
  // At most half full, so probe sequences stay short and always end at an empty slot.
  const uint32_t slots = rte_align32pow2(capacity * 2);
  slots_ = std::make_unique<Slot[]>(slots);
  mask_ = slots - 1;
}

int32_t NeighbourTable::find(uint16_t port, uint32_t address) const {
  const uint64_t key = make_key(port, address);
  for (uint32_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    const uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
    if (k == key) return static_cast<int32_t>(i);
    if (k == 0) return -1;
  }
}

int32_t NeighbourTable::insert(uint16_t port, uint32_t address) {
  if (int32_t s = find(port, address); s >= 0) return s;
  if (used_ >= capacity_) return -1;
  const uint64_t key = make_key(port, address);
  uint32_t i = hash(key) & mask_;
  while (slots_[i].key.load(std::memory_order_relaxed) != 0) i = (i + 1) & mask_;
  slots_[i].link.store(pack(NeighbourState::kIncomplete, {}), std::memory_order_relaxed);
  slots_[i].key.store(key, std::memory_order_release);
  ++used_;
  return static_cast<int32_t>(i);
}

void NeighbourTable::set(int32_t slot, NeighbourState state, const rte_ether_addr& mac) {
  slots_[slot].link.store(pack(state, mac), std::memory_order_release);
}

}  // namespace meshplane::dataplane
