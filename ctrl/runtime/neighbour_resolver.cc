#include "ctrl/runtime/neighbour_resolver.h"

#include <rte_arp.h>
#include <rte_ether.h>

#include <cstring>

#include "config/address.h"
#include "ctrl/runtime/log.h"
#include "dataplane/net/arp.h"
#include "dataplane/worker/packet_meta.h"

namespace meshplane::ctrl {

using dataplane::DropReason;
using dataplane::NeighbourState;

namespace {
constexpr auto kProbeInterval = std::chrono::seconds(1);  // RFC 1122 2.3.2.1: at most one request per second
}

NeighbourResolver::NeighbourResolver(dataplane::NeighbourTable& table, rte_mempool* pool, Transmit transmit,
                                     dataplane::WorkerCounters& counters)
    : table_(table), pool_(pool), transmit_(std::move(transmit)), counters_(counters) {}

NeighbourResolver::~NeighbourResolver() {
  for (auto& [slot, e] : entries_)
    for (rte_mbuf* m : e.held) rte_pktmbuf_free(m);
}

uint32_t NeighbourResolver::source_for(const dataplane::Snapshot& s, uint16_t port, uint32_t target) const {
  // The port address on the target's subnet; the port's primary otherwise.
  for (const auto& l : s.local_addresses)
    if (l.port == port && ((l.address ^ target) & l.mask) == 0) return l.address;
  return s.ports[port].primary_address;
}

void NeighbourResolver::set_static(const config::Policy& policy, const dataplane::Snapshot&) {
  for (auto& [slot, e] : entries_)
    if (e.is_static) {
      e.is_static = false;
      fail(slot);
    }
  for (const auto& n : policy.neighbours) {
    uint16_t port = 0;
    while (port < policy.ports.size() && policy.ports[port].name != n.port) ++port;
    const int32_t slot = table_.insert(port, n.address);
    if (slot < 0) {
      log::warn("neighbour table full: static neighbour {} not installed", config::ipv4_to_string(n.address));
      continue;
    }
    rte_ether_addr mac;
    memcpy(mac.addr_bytes, n.mac.data(), 6);
    table_.set(slot, NeighbourState::kStatic, mac);
    entries_[slot].is_static = true;
  }
}

void NeighbourResolver::announce(const dataplane::Snapshot& s) {
  for (const auto& l : s.local_addresses) {
    rte_mbuf* m = dataplane::arp_build_request(pool_, s.ports[l.port].mac, l.address, l.address);
    if (m) transmit_(l.port, m);
  }
}

void NeighbourResolver::learn(int32_t slot, const rte_ether_addr& mac, Clock::time_point now) {
  Entry& e = entries_[slot];
  if (e.is_static) return;
  e.confirmed = now;
  e.probes = 0;
  table_.set(slot, NeighbourState::kReachable, mac);
  while (!e.held.empty()) {
    rte_mbuf* m = e.held.front();
    e.held.pop_front();
    rte_ether_addr_copy(&mac, &rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr);
    transmit_(table_.port_of(slot), m);
  }
}

void NeighbourResolver::fail(int32_t slot) {
  Entry& e = entries_[slot];
  table_.set(slot, NeighbourState::kFailed, {});
  for (rte_mbuf* m : e.held) {
    counters_.drop(DropReason::kNeighbourUnresolved);
    rte_pktmbuf_free(m);
  }
  e.held.clear();
  log::debug("neighbour {} failed: no answer to {} ARP request(s)", config::ipv4_to_string(table_.address_of(slot)),
             e.probes);
}

void NeighbourResolver::probe(int32_t slot, const dataplane::Snapshot& s, bool unicast, Clock::time_point now) {
  Entry& e = entries_[slot];
  const uint16_t port = table_.port_of(slot);
  const uint32_t target = table_.address_of(slot);
  const dataplane::NeighbourLink link = table_.link(slot);
  rte_mbuf* m = dataplane::arp_build_request(pool_, s.ports[port].mac, source_for(s, port, target), target,
                                             unicast ? &link.mac : nullptr);
  e.last_probe = now;
  ++e.probes;
  if (m) transmit_(port, m);
}

void NeighbourResolver::on_arp(rte_mbuf* m, const dataplane::Snapshot& s, Clock::time_point now) {
  const uint16_t port = dataplane::meta(m).port;
  const auto arp = dataplane::arp_parse(m);
  if (!arp) {
    counters_.drop(DropReason::kArpMalformed);
    rte_pktmbuf_free(m);
    return;
  }
  const dataplane::LocalAddress* target = s.local(arp->target_ip);
  const bool for_us = target && target->port == port && arp->sender_ip != arp->target_ip;
  const bool sender_valid = arp->sender_ip != 0 && !rte_is_multicast_ether_addr(&arp->sender_mac) &&
                            !s.local(arp->sender_ip);
  // RFC 826 merge: refresh an entry we already have; add one when the packet is for us.
  if (sender_valid) {
    int32_t slot = table_.find(port, arp->sender_ip);
    if (slot < 0 && for_us) slot = table_.insert(port, arp->sender_ip);
    if (slot >= 0) learn(slot, arp->sender_mac, now);
  }
  if (for_us && arp->op == RTE_ARP_OP_REQUEST) {
    dataplane::arp_make_reply(m, s.ports[port].mac, arp->target_ip);
    transmit_(port, m);
    return;
  }
  if (!for_us) counters_.drop(DropReason::kArpNotForUs);
  rte_pktmbuf_free(m);  // replies are consumed by learn()
}

void NeighbourResolver::on_unresolved(rte_mbuf* m, const dataplane::Snapshot& s, Clock::time_point now) {
  const dataplane::PacketMeta pm = dataplane::meta(m);
  const int32_t slot = table_.insert(pm.port, pm.next_hop);
  if (slot < 0) {
    counters_.drop(DropReason::kNeighbourTableFull);
    rte_pktmbuf_free(m);
    return;
  }
  const dataplane::NeighbourLink link = table_.link(slot);
  if (dataplane::neighbour_usable(link.state)) {  // resolved since the worker looked
    rte_ether_addr_copy(&link.mac, &rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr);
    transmit_(pm.port, m);
    return;
  }
  Entry& e = entries_[slot];
  if (e.held.size() >= settings_.queue_per_neighbour) {
    counters_.drop(DropReason::kNeighbourQueueFull);
    rte_pktmbuf_free(m);
  } else {
    e.held.push_back(m);
  }
  if (link.state == NeighbourState::kFailed || e.probes == 0) {
    table_.set(slot, NeighbourState::kIncomplete, {});
    e.probes = 0;
    probe(slot, s, false, now);
  }
}

void NeighbourResolver::tick(const dataplane::Snapshot& s, Clock::time_point now) {
  const auto reachable = std::chrono::seconds(settings_.reachable_seconds);
  for (auto& [slot, e] : entries_) {
    if (e.is_static) continue;
    switch (table_.link(slot).state) {
      case NeighbourState::kIncomplete:
        if (now - e.last_probe < kProbeInterval) break;
        if (e.probes >= settings_.probes) fail(slot);
        else probe(slot, s, false, now);
        break;
      case NeighbourState::kReachable:
        if (now - e.confirmed < reachable) break;
        // Keep using the MAC while it is re-confirmed by unicast (RFC 1122 2.3.2.1).
        table_.set(slot, NeighbourState::kProbe, table_.link(slot).mac);
        e.probes = 0;
        probe(slot, s, true, now);
        break;
      case NeighbourState::kProbe:
        if (now - e.last_probe < kProbeInterval) break;
        if (e.probes >= settings_.probes) fail(slot);
        else probe(slot, s, true, now);
        break;
      default:
        break;
    }
  }
}

}  // namespace meshplane::ctrl
