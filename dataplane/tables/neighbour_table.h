// IPv4 neighbour (ARP) table shared by all workers. One writer (the control
// thread) and lock-free readers: each slot is two 64-bit atomics, the key
// (valid bit | port | address) and the link (state | MAC). The writer fills a
// slot's link before publishing its key with release order; a slot's key never
// changes once set, so a reader that matched a key always reads a link for it.
// Entries are never removed, only marked failed, so the table is bounded by
// `capacity` (neighbour_table.capacity in the policy).
#pragma once

#include <rte_ether.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace meshplane::dataplane {

enum class NeighbourState : uint8_t {
  kNone = 0,        // no entry
  kIncomplete = 1,  // ARP request sent, no answer yet
  kReachable = 2,
  kProbe = 3,       // reachable time ran out; still used while being re-confirmed
  kFailed = 4,      // no answer to the last probes
  kStatic = 5,      // from the policy file; never expires
};

inline bool neighbour_usable(NeighbourState s) {
  return s == NeighbourState::kReachable || s == NeighbourState::kProbe || s == NeighbourState::kStatic;
}
const char* neighbour_state_name(NeighbourState s);

struct NeighbourLink {
  NeighbourState state = NeighbourState::kNone;
  rte_ether_addr mac{};
};

class NeighbourTable {
 public:
  explicit NeighbourTable(uint32_t capacity);

  // Readers (workers): wait-free.
  NeighbourLink lookup(uint16_t port, uint32_t address) const {
    const uint64_t key = make_key(port, address);
    for (uint32_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const uint64_t k = slots_[i].key.load(std::memory_order_acquire);
      if (k == key) return unpack(slots_[i].link.load(std::memory_order_acquire));
      if (k == 0) return {};
    }
  }

  // Writer (control thread only).
  int32_t find(uint16_t port, uint32_t address) const;
  int32_t insert(uint16_t port, uint32_t address);  // new kIncomplete entry; -1 when full
  void set(int32_t slot, NeighbourState state, const rte_ether_addr& mac);
  NeighbourLink link(int32_t slot) const { return unpack(slots_[slot].link.load(std::memory_order_relaxed)); }
  uint16_t port_of(int32_t slot) const { return static_cast<uint16_t>(slots_[slot].key.load() >> 32); }
  uint32_t address_of(int32_t slot) const { return static_cast<uint32_t>(slots_[slot].key.load()); }
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t slot_count() const { return mask_ + 1; }
  bool occupied(int32_t slot) const { return slots_[slot].key.load(std::memory_order_relaxed) != 0; }

 private:
  struct alignas(16) Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> link{0};
  };
  static uint64_t make_key(uint16_t port, uint32_t address) {
    return (uint64_t{1} << 63) | (uint64_t{port} << 32) | address;
  }
  static uint32_t hash(uint64_t key) { return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 32); }
  static uint64_t pack(NeighbourState s, const rte_ether_addr& mac) {
    uint64_t v = uint64_t{static_cast<uint8_t>(s)} << 48;
    for (int i = 0; i < 6; ++i) v |= uint64_t{mac.addr_bytes[i]} << (8 * (5 - i));
    return v;
  }
  static NeighbourLink unpack(uint64_t v) {
    NeighbourLink l;
    l.state = static_cast<NeighbourState>(v >> 48);
    for (int i = 0; i < 6; ++i) l.mac.addr_bytes[i] = static_cast<uint8_t>(v >> (8 * (5 - i)));
    return l;
  }

  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_ = 0;
  uint32_t capacity_ = 0;
  uint32_t used_ = 0;
};

}  // namespace meshplane::dataplane
