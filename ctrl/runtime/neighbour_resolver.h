// ARP on the control thread (RFC 826, RFC 1122 2.3.2): answers requests for our
// addresses, resolves next hops for the workers, holds a few packets per
// unresolved next hop (as Linux's unres_qlen), re-confirms entries whose
// reachable time ran out, and marks silent ones failed. It is the only writer
// of the NeighbourTable the workers read.
#pragma once

#include <rte_mbuf.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>

#include "config/model.h"
#include "dataplane/worker/counters.h"
#include "dataplane/tables/neighbour_table.h"
#include "dataplane/tables/snapshot.h"

struct rte_mempool;

namespace meshplane::ctrl {

class NeighbourResolver {
 public:
  using Clock = std::chrono::steady_clock;
  // Sends a frame on a port; takes the mbuf either way (drops when it cannot).
  using Transmit = std::function<void(uint16_t port, rte_mbuf* m)>;

  NeighbourResolver(dataplane::NeighbourTable& table, rte_mempool* pool, Transmit transmit,
                    dataplane::WorkerCounters& counters);
  ~NeighbourResolver();

  void configure(const config::NeighbourSettings& settings) { settings_ = settings; }
  // Static entries from the policy; entries no longer listed fall back to ARP.
  void set_static(const config::Policy& policy, const dataplane::Snapshot& s);
  // Gratuitous ARP for every address we own (RFC 5227 announcement).
  void announce(const dataplane::Snapshot& s);

  void on_arp(rte_mbuf* m, const dataplane::Snapshot& s, Clock::time_point now);         // consumes m
  void on_unresolved(rte_mbuf* m, const dataplane::Snapshot& s, Clock::time_point now);  // consumes m
  void tick(const dataplane::Snapshot& s, Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point confirmed{};
    Clock::time_point last_probe{};
    uint32_t probes = 0;
    bool is_static = false;
    std::deque<rte_mbuf*> held;
  };

  void learn(int32_t slot, const rte_ether_addr& mac, Clock::time_point now);
  void probe(int32_t slot, const dataplane::Snapshot& s, bool unicast, Clock::time_point now);
  void fail(int32_t slot);
  uint32_t source_for(const dataplane::Snapshot& s, uint16_t port, uint32_t target) const;

  dataplane::NeighbourTable& table_;
  rte_mempool* pool_;
  Transmit transmit_;
  dataplane::WorkerCounters& counters_;
  config::NeighbourSettings settings_;
  std::unordered_map<int32_t, Entry> entries_;
};

}  // namespace meshplane::ctrl
