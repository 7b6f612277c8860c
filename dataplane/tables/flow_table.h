// Per-worker connection tracking table. Owned and touched by one worker only,
// so no locks or atomics. Each flow has one record and two index entries,
// the original and the reply direction (after NAT they are different
// 5-tuples), like Linux conntrack's tuplehash[2].
//
// Index: open addressing with linear probing over 8-byte slots, at most half
// full, deletion by backward shift (no tombstones, so probe lengths stay short
// however long the table runs). Records: a fixed array, free list.
// Expiry: a timing wheel of 1-tick slots; a flow sits in the slot of its
// deadline as computed when it was (re)armed. Packets only store `last_seen`;
// when the wheel reaches a flow whose real deadline moved on, it is re-armed,
// otherwise it expires. expire() takes a budget, so a worker never stalls on
// a burst of deadlines.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>

#include <rte_prefetch.h>

#include "common/limits.h"
#include "dataplane/tables/huge_array.h"

namespace meshplane::dataplane {

struct FlowKey {
  uint32_t src_addr;  // network byte order, as in the packet
  uint32_t dst_addr;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t proto;
  uint8_t pad[3] = {0, 0, 0};

  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};
static_assert(sizeof(FlowKey) == 16);

enum class FlowState : uint8_t {
  kSynSent,      // first SYN seen, no answer yet
  kEstablished,  // the reply direction has been seen
  kClosing,      // a FIN has been seen
  kReset,        // an RST has been seen
  kUdp,
};

// Open: the connection has not begun to close. Endpoints' active_flows count
// open flows only, not those waiting out their closing timeout.
inline bool is_open(FlowState s) { return s != FlowState::kClosing && s != FlowState::kReset; }

struct FlowTimeouts {  // in ticks (the caller's clock; the worker uses milliseconds)
  uint32_t syn_sent = FlowTimeoutDefaults::kTcpSyn * 1000;
  uint32_t established = FlowTimeoutDefaults::kTcpEstablished * 1000;
  uint32_t closing = FlowTimeoutDefaults::kTcpClosing * 1000;
  uint32_t reset = FlowTimeoutDefaults::kTcpReset * 1000;
  uint32_t udp = FlowTimeoutDefaults::kUdp * 1000;
  uint32_t of(FlowState s) const {
    switch (s) {
      case FlowState::kSynSent: return syn_sent;
      case FlowState::kEstablished: return established;
      case FlowState::kClosing: return closing;
      case FlowState::kReset: return reset;
      case FlowState::kUdp: return udp;
    }
    return udp;
  }
};

// What a one-way flow (direct return: replies do not pass here) keeps where
// a two-way flow keeps its reply key: the IP-in-IP tunnel to its endpoint.
struct TunnelPath {
  uint32_t outer_source;  // network order: the gateway's address towards the endpoint
  uint32_t endpoint;      // network order
  uint16_t egress_mtu;    // of the port the endpoint is routed through
  uint8_t pad[6] = {};
};
static_assert(sizeof(TunnelPath) == sizeof(FlowKey));

// Flow::endpoint of a routed connection (dataplane/stages/routed_authz.cc):
// tracked for its authorization, balanced to no endpoint.
inline constexpr uint32_t kRoutedFlow = ~uint32_t{0};

// Aligned so that a record is exactly one cache line, as the index probes and
// prefetches assume (new[] alone gives 16-byte alignment: two lines each).
struct alignas(64) Flow {
  FlowKey key[2];          // [0] original direction, [1] reply direction (two-way flows only)
  uint64_t last_seen = 0;  // ticks
  uint32_t endpoint = 0;   // what the load balancer chose (opaque here), or kRoutedFlow
  uint32_t wheel_next = 0;
  uint32_t wheel_prev = 0;
  uint32_t armed_deadline = 0;  // low 32 bits of the tick the flow is filed under
  FlowState state = FlowState::kUdp;
  uint8_t in_use : 1 = 0;
  uint8_t inspected : 1 = 0;  // its payload is being inspected (dataplane/stages/inspect.cc), or it was blocked
  uint8_t breaker : 1 = 0;    // counted by its service's and endpoint's circuit breakers while open
  uint8_t keys = 2;  // how many of key[] are in the index: 1 for one-way flows
  uint8_t authz_epoch = 0;  // AuthzView::epoch the connection was authorized in (opaque here)
  uint32_t service = 0;  // opaque here, like endpoint

  bool routed() const { return endpoint == kRoutedFlow; }

  // One-way flows: the tunnel, kept in the storage of the reply key they do not have.
  TunnelPath tunnel() const { return std::bit_cast<TunnelPath>(key[1]); }
  void set_tunnel(const TunnelPath& t) { key[1] = std::bit_cast<FlowKey>(t); }
};
static_assert(sizeof(Flow) == 64, "one cache line per flow record");

class FlowTable {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};

  struct Hit {
    uint32_t flow = kNone;
    uint8_t direction = 0;  // 0: original, 1: reply
  };

  // `capacity` flows; `wheel_ticks` must exceed the longest timeout / wheel
  // granularity is one tick. Memory: 64 B record + 2 x 2 x 8 B index per flow.
  FlowTable(uint32_t capacity, const FlowTimeouts& timeouts, uint32_t wheel_ticks = 1u << 19);

  static uint32_t hash(const FlowKey& k);

  Hit lookup(const FlowKey& k) const { return lookup(k, hash(k)); }
  Hit lookup(const FlowKey& k, uint32_t h) const;
  // A burst at a time, as workers use it: hash every key and prefetch its
  // home slot, then prefetch each candidate's record, then compare, so the
  // DRAM misses of a burst overlap instead of queueing. n <= 64. With
  // `hashes`, each key's hash() is left there for the caller to reuse.
  void lookup_burst(const FlowKey* const* keys, uint32_t n, Hit* hits, uint32_t* hashes = nullptr) const;
  // Starts loading the index slot `k` would be looked up or inserted at.
  void prefetch(const FlowKey& k) const { rte_prefetch0(&slots_[hash(k) & slot_mask_]); }

  // Adds a flow under both keys; kNone when the table is full or a key exists.
  uint32_t insert(const FlowKey& original, const FlowKey& reply, FlowState state, uint64_t now);
  // A one-way flow (direct return: replies do not pass here), indexed by its
  // original key only; its tunnel() is the caller's to set.
  uint32_t insert_one_way(const FlowKey& original, FlowState state, uint64_t now);
  void erase(uint32_t flow);

  // Records a packet of `direction` with these TCP flags (0 for UDP).
  void touch(uint32_t flow, uint8_t direction, uint8_t tcp_flags, uint64_t now);

  // Removes up to `budget` flows whose deadline passed by `now`; returns how
  // many. `on_expire` (may be null) sees each flow just before it goes.
  using ExpireHook = void (*)(void* ctx, const Flow& flow);
  uint32_t expire(uint64_t now, uint32_t budget, ExpireHook on_expire = nullptr, void* ctx = nullptr);

  Flow& flow(uint32_t i) { return flows_[i]; }
  const Flow& flow(uint32_t i) const { return flows_[i]; }
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return capacity_; }
  size_t memory_bytes() const;

 private:
  struct Slot {
    uint32_t hash;   // of the key, so probing rarely touches a flow record
    uint32_t entry;  // flow index << 1 | direction; kNone: empty
  };

  uint32_t add(const FlowKey& original, uint32_t h_original, FlowState state, uint64_t now);
  void index_add(uint32_t hash, uint32_t entry);
  void index_remove(const FlowKey& k);
  void wheel_link(uint32_t flow, uint64_t deadline);
  void wheel_unlink(uint32_t flow);

  FlowTimeouts timeouts_;
  uint32_t capacity_;
  uint32_t used_ = 0;
  uint32_t free_head_;
  HugeArray<Flow> flows_;
  uint32_t slot_mask_;
  HugeArray<Slot> slots_;
  uint32_t wheel_mask_;
  std::unique_ptr<uint32_t[]> wheel_;  // head flow per tick, kNone if empty
  uint64_t wheel_now_ = 0;             // next tick expire() will look at
};

}  // namespace meshplane::dataplane
