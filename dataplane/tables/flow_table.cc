#include "dataplane/tables/flow_table.h"

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "dataplane/net/tcp_flags.h"

namespace meshplane::dataplane {

FlowTable::FlowTable(uint32_t capacity, const FlowTimeouts& timeouts, uint32_t wheel_ticks)
    : timeouts_(timeouts), capacity_(capacity), free_head_(capacity ? 0 : kNone) {
  flows_ = HugeArray<Flow>(capacity);
  for (uint32_t i = 0; i < capacity; ++i) flows_[i].wheel_next = i + 1 < capacity ? i + 1 : kNone;
  // Two keys per flow, at most half full.
  const uint32_t slots = rte_align32pow2(capacity < 4 ? 16 : capacity * 4);
  slot_mask_ = slots - 1;
  slots_ = HugeArray<Slot>(slots);
  for (uint32_t i = 0; i < slots; ++i) slots_[i] = {0, kNone};
  const uint32_t ticks = rte_align32pow2(wheel_ticks);
  wheel_mask_ = ticks - 1;
  wheel_ = std::make_unique<uint32_t[]>(ticks);
  for (uint32_t i = 0; i < ticks; ++i) wheel_[i] = kNone;
}

size_t FlowTable::memory_bytes() const {
  return sizeof(Flow) * capacity_ + sizeof(Slot) * (slot_mask_ + 1) + sizeof(uint32_t) * (wheel_mask_ + 1);
}

uint32_t FlowTable::hash(const FlowKey& k) {
  uint64_t w[2];
  std::memcpy(w, &k, sizeof w);
  return rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], 0x6d657368));
}

FlowTable::Hit FlowTable::lookup(const FlowKey& k, uint32_t h) const {
  for (uint32_t i = h & slot_mask_;; i = (i + 1) & slot_mask_) {
    const Slot& s = slots_[i];
    if (s.entry == kNone) return {};
    if (s.hash == h && flows_[s.entry >> 1].key[s.entry & 1] == k)
      return {s.entry >> 1, static_cast<uint8_t>(s.entry & 1)};
  }
}

void FlowTable::lookup_burst(const FlowKey* const* keys, uint32_t n, Hit* hits, uint32_t* hashes) const {
  uint32_t local[64];
  uint32_t* h = hashes ? hashes : local;
  uint32_t candidate[64];
  for (uint32_t i = 0; i < n; ++i) {
    h[i] = hash(*keys[i]);
    rte_prefetch0(&slots_[h[i] & slot_mask_]);
  }
  for (uint32_t i = 0; i < n; ++i) {
    candidate[i] = kNone;
    for (uint32_t j = h[i] & slot_mask_;; j = (j + 1) & slot_mask_) {
      const Slot& s = slots_[j];
      if (s.entry == kNone) break;
      if (s.hash == h[i]) {
        candidate[i] = s.entry;
        rte_prefetch0(&flows_[s.entry >> 1]);
        break;
      }
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t c = candidate[i];
    if (c == kNone)
      hits[i] = {};
    else if (flows_[c >> 1].key[c & 1] == *keys[i])
      hits[i] = {c >> 1, static_cast<uint8_t>(c & 1)};
    else
      hits[i] = lookup(*keys[i], h[i]);  // a 32-bit hash collision: walk the run properly
  }
}

void FlowTable::index_add(uint32_t h, uint32_t entry) {
  uint32_t i = h & slot_mask_;
  while (slots_[i].entry != kNone) i = (i + 1) & slot_mask_;
  slots_[i] = {h, entry};
}

void FlowTable::index_remove(const FlowKey& k) {
  const uint32_t h = hash(k);
  uint32_t i = h & slot_mask_;
  for (;; i = (i + 1) & slot_mask_) {
    const Slot& s = slots_[i];
    if (s.entry == kNone) return;
    if (s.hash == h && flows_[s.entry >> 1].key[s.entry & 1] == k) break;
  }
  // Backward-shift deletion (Knuth 6.4 algorithm R): pull later entries of
  // the run into the hole unless that would move them before their home slot.
  for (uint32_t j = i;;) {
    j = (j + 1) & slot_mask_;
    if (slots_[j].entry == kNone) break;
    const uint32_t home = slots_[j].hash & slot_mask_;
    if (((j - home) & slot_mask_) >= ((j - i) & slot_mask_)) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = {0, kNone};
}

void FlowTable::wheel_link(uint32_t f, uint64_t deadline) {
  if (deadline < wheel_now_) deadline = wheel_now_;
  if (deadline - wheel_now_ > wheel_mask_) deadline = wheel_now_ + wheel_mask_;  // re-armed when reached
  Flow& flow = flows_[f];
  const uint32_t slot = static_cast<uint32_t>(deadline) & wheel_mask_;
  flow.armed_deadline = static_cast<uint32_t>(deadline);
  flow.wheel_prev = kNone;
  flow.wheel_next = wheel_[slot];
  if (flow.wheel_next != kNone) flows_[flow.wheel_next].wheel_prev = f;
  wheel_[slot] = f;
}

void FlowTable::wheel_unlink(uint32_t f) {
  Flow& flow = flows_[f];
  if (flow.wheel_prev != kNone)
    flows_[flow.wheel_prev].wheel_next = flow.wheel_next;
  else
    wheel_[flow.armed_deadline & wheel_mask_] = flow.wheel_next;
  if (flow.wheel_next != kNone) flows_[flow.wheel_next].wheel_prev = flow.wheel_prev;
}

uint32_t FlowTable::add(const FlowKey& original, uint32_t h_original, FlowState state, uint64_t now) {
  if (used_ == 0 && now > wheel_now_) wheel_now_ = now;  // an empty wheel need not walk the idle time
  const uint32_t f = free_head_;
  Flow& flow = flows_[f];
  free_head_ = flow.wheel_next;
  flow.key[0] = original;
  flow.last_seen = now;
  flow.state = state;
  flow.endpoint = 0;
  flow.service = 0;
  flow.in_use = 1;
  flow.inspected = 0;
  flow.breaker = 0;
  index_add(h_original, f << 1);
  wheel_link(f, now + timeouts_.of(state));
  ++used_;
  return f;
}

uint32_t FlowTable::insert(const FlowKey& original, const FlowKey& reply, FlowState state, uint64_t now) {
  if (free_head_ == kNone) return kNone;
  const uint32_t h_original = hash(original), h_reply = hash(reply);
  if (original == reply || lookup(original, h_original).flow != kNone || lookup(reply, h_reply).flow != kNone)
    return kNone;
  const uint32_t f = add(original, h_original, state, now);
  flows_[f].key[1] = reply;
  flows_[f].keys = 2;
  index_add(h_reply, (f << 1) | 1);
  return f;
}

uint32_t FlowTable::insert_one_way(const FlowKey& original, FlowState state, uint64_t now) {
  if (free_head_ == kNone) return kNone;
  const uint32_t h = hash(original);
  if (lookup(original, h).flow != kNone) return kNone;
  const uint32_t f = add(original, h, state, now);
  flows_[f].key[1] = {};
  flows_[f].keys = 1;
  return f;
}

void FlowTable::erase(uint32_t f) {
  Flow& flow = flows_[f];
  if (!flow.in_use) return;
  index_remove(flow.key[0]);
  if (flow.keys == 2) index_remove(flow.key[1]);
  wheel_unlink(f);
  flow.in_use = 0;
  flow.wheel_next = free_head_;
  free_head_ = f;
  --used_;
}

void FlowTable::touch(uint32_t f, uint8_t direction, uint8_t tcp_flags, uint64_t now) {
  Flow& flow = flows_[f];
  flow.last_seen = now;
  if (flow.state == FlowState::kUdp) return;
  const FlowState before = flow.state;
  if (tcp_flags & kTcpRst)
    flow.state = FlowState::kReset;
  else if ((tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn && direction == 0)
    flow.state = FlowState::kSynSent;  // the client reopens the same 5-tuple (conntrack does the same)
  else if ((tcp_flags & kTcpFin) && flow.state != FlowState::kReset)
    flow.state = FlowState::kClosing;
  else if (flow.state == FlowState::kSynSent && direction == 1)
    flow.state = FlowState::kEstablished;
  if (flow.state != before) {
    // A shorter timeout (FIN, RST) must not wait for the old, later deadline;
    // state changes are a handful per flow, so re-filing here is cheap.
    wheel_unlink(f);
    wheel_link(f, now + timeouts_.of(flow.state));
  }
}

uint32_t FlowTable::expire(uint64_t now, uint32_t budget, ExpireHook on_expire, void* ctx) {
  uint32_t expired = 0;
  if (used_ == 0) {
    if (now >= wheel_now_) wheel_now_ = now + 1;
    return 0;
  }
  // Every flow examined and every tick stepped costs one unit of budget.
  while (wheel_now_ <= now && budget > 0) {
    const uint32_t slot = static_cast<uint32_t>(wheel_now_) & wheel_mask_;
    uint32_t f = wheel_[slot];
    while (f != kNone && budget > 0) {
      --budget;
      const uint32_t next = flows_[f].wheel_next;
      const uint64_t deadline = flows_[f].last_seen + timeouts_.of(flows_[f].state);
      if (deadline > now) {
        // Seen since it was filed: file it again under its real deadline (always a later slot).
        wheel_unlink(f);
        wheel_link(f, deadline);
      } else {
        if (on_expire) on_expire(ctx, flows_[f]);
        erase(f);
        ++expired;
      }
      f = next;
    }
    if (wheel_[slot] != kNone) break;  // budget spent inside this tick; resume here next time
    ++wheel_now_;
    if (budget > 0) --budget;
  }
  return expired;
}

}  // namespace meshplane::dataplane
