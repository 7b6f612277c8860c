// The load balancer's part of a snapshot: services, their endpoints and
// Maglev tables, and the VIP lookup, as flat arrays indexed by integers.
// Compiled by ctrl/compile/lb_compiler, immutable once published (the cache
// keys that let snapshots share tables stay in the compiler). Addresses and
// ports here are in network byte order, as the packet rewrites use them.
#pragma once

#include <cstdint>
#include <vector>

namespace meshplane::dataplane {

struct LbEndpoint {
  uint32_t address;        // network order
  uint16_t port;           // network order; 0: the listener's target port
  uint16_t egress_mtu;     // of the port the endpoint is routed through
  uint32_t outer_source;   // network order: the gateway's address on that port (IP-in-IP outer source)
  uint32_t slot;           // stable identity across snapshots: counters, liveness
  uint16_t nat_first;      // NAT source addresses for this endpoint: LbView::nat_pool[first, first + count)
  uint16_t nat_count;
  bool eligible;           // in its subset's Maglev table (a weight, the subset's too): circuit breakers' overflow
};

static_assert(sizeof(LbEndpoint) == 24);

// A subset and its Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer", NSDI 2016, section 3.4): `size`
// slots (a prime), each an index into its service's endpoints. The slots are
// owned by the compiled snapshot and shared with its successors while the
// subset's members are unchanged.
struct LbSubset {
  uint32_t weight;
  uint32_t size;  // 0: nothing to send to
  const uint32_t* slots;

  // Maps a 32-bit flow hash onto the slots with a multiply instead of a
  // division by the prime (Lemire's fast range reduction).
  uint32_t lookup(uint32_t flow_hash) const {
    return slots[static_cast<uint32_t>((static_cast<uint64_t>(flow_hash) * size) >> 32)];
  }
};
static_assert(sizeof(LbSubset) == 16);

struct LbService {
  uint32_t slot;  // stable identity across snapshots: counters
  uint32_t subset_weight_total;
  uint32_t first_endpoint;  // LbView::endpoints[first_endpoint, first_endpoint + endpoint_count)
  uint32_t endpoint_count;
  uint32_t first_subset;  // LbView::subsets[first_subset, first_subset + subset_count), at least one
  uint16_t subset_count;
  bool direct_return;
  bool reject_unknown_port;
  uint32_t inspect;  // 1 + the pattern set slot its connections are inspected with (dataplane/stages/inspect.cc); 0: none
  bool breaker;      // it has a circuit breaker (Snapshot::breaker(slot))
};
static_assert(sizeof(LbService) == 32);

struct LbListener {
  uint32_t service;      // index into LbView::services
  uint16_t target_port;  // network order
};
static_assert(sizeof(LbListener) == 8);

// Immutable open-addressing map from a non-zero 64-bit key, built once.
// Keys are VIPs (network order) in the high half and protocol/port in the
// low half, so services on neighbouring VIPs differ only in a few high bits:
// the hash folds the halves and takes the top bits of a Fibonacci product,
// which every key bit reaches (low product bits would put them all in one
// probe chain).
class StaticMap {
 public:
  static constexpr uint32_t kMissing = ~uint32_t{0};
  void build(const std::vector<std::pair<uint64_t, uint32_t>>& items);
  uint32_t find(uint64_t key) const {
    if (mask_ == 0) return kMissing;
    for (uint32_t i = home(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == 0) return kMissing;
    }
  }
  // The most slots a lookup of a present key steps over: 0 when every key
  // sits in its home slot.
  uint32_t longest_probe() const { return longest_probe_; }

 private:
  uint32_t home(uint64_t k) const {
    k ^= k >> 29;
    return static_cast<uint32_t>((k * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  uint32_t mask_ = 0;
  uint32_t shift_ = 63;
  uint32_t longest_probe_ = 0;
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
};

struct LbView {
  std::vector<LbService> services;
  std::vector<LbEndpoint> endpoints;  // grouped by service
  std::vector<LbSubset> subsets;      // grouped by service
  std::vector<LbListener> listeners;
  StaticMap by_listener;  // listener_key(vip, proto, port) -> index into listeners
  StaticMap by_vip;       // vip -> index into services (the first service on that VIP)
  std::vector<uint8_t> endpoint_live;  // by endpoint slot: 1 while flows may use it (active or draining)
  std::vector<uint32_t> nat_pool;      // network order, grouped by egress port

  static uint64_t listener_key(uint32_t vip, uint8_t proto, uint16_t port) {
    return uint64_t{vip} << 32 | uint64_t{proto} << 16 | port;
  }
  static uint64_t vip_key(uint32_t vip) { return uint64_t{vip} << 32 | 0xffff0000u; }
  const LbEndpoint& endpoint(const LbService& svc, uint32_t i) const { return endpoints[svc.first_endpoint + i]; }
  const LbSubset& subset(const LbService& svc, uint32_t i) const { return subsets[svc.first_subset + i]; }
  bool live(uint32_t endpoint_slot) const {
    return endpoint_slot < endpoint_live.size() && endpoint_live[endpoint_slot];
  }
};

}  // namespace meshplane::dataplane
