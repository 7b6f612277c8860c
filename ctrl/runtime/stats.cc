#include "ctrl/runtime/stats.h"

#include <rte_ether.h>

#include "config/address.h"

namespace meshplane::ctrl {

using dataplane::kDropReasonCount;
using dataplane::kDropReasons;
using dataplane::WorkerCounters;

namespace {

std::string mac_text(const rte_ether_addr& mac) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &mac);
  return buf;
}

void add_ports(const StatsSource& src, v1::GetStatsResponse& out) {
  for (size_t p = 0; p < src.ports->size(); ++p) {
    const RunningPort& port = (*src.ports)[p];
    auto* ps = out.add_ports();
    ps->set_name(port.name);
    ps->set_device(port.device);
    ps->set_link_up(link_up(port.dpdk_port));
    if (p < src.port_states.size()) ps->set_state(src.port_states[p]);
    auto& counters = *ps->mutable_counters();
    for (const auto& c : dataplane::kPortCounters) {
      uint64_t n = 0;
      for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += (src.workers[w].ports[p].*c.member).get();
      counters[c.name] = n;
    }
  }
}

void add_workers(const StatsSource& src, v1::GetStatsResponse& out) {
  auto& totals = *out.mutable_counters();
  // The control thread counts in the same list what it does on the workers' behalf (the exception path).
  if (src.control)
    for (const auto& c : dataplane::kWorkerCounters) totals[c.name] += (src.control->*c.member).get();
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) {
    const WorkerCounters& wc = src.workers[w];
    auto* ws = out.add_workers();
    ws->set_id(static_cast<uint32_t>(w));
    ws->set_lcore(src.worker_lcores[w]);
    auto& counters = *ws->mutable_counters();
    for (const auto& c : dataplane::kWorkerCounters) {
      const uint64_t n = (wc.*c.member).get();
      counters[c.name] = n;
      totals[c.name] += n;
    }
    uint64_t rx = 0;
    for (size_t p = 0; p < src.ports->size(); ++p) rx += wc.ports[p].rx_packets.get();
    counters["rx_packets"] = rx;
    for (const auto& bucket : wc.rx_bursts) ws->add_rx_bursts(bucket.get());
    ws->set_cycles_per_packet(rx ? static_cast<double>(wc.busy_cycles.get()) / static_cast<double>(rx) : 0.0);
  }
}

void add_drops(const StatsSource& src, v1::GetStatsResponse& out) {
  auto& drops = *out.mutable_drops();
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    uint64_t n = src.control->drops[r].get();
    for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += src.workers[w].drops[r].get();
    drops[kDropReasons[r].name] = n;
  }
}

void add_neighbours(const StatsSource& src, v1::GetStatsResponse& out) {
  const auto& nt = *src.neighbours;
  for (uint32_t slot = 0; slot < nt.slot_count(); ++slot) {
    if (!nt.occupied(slot)) continue;
    const auto link = nt.link(slot);
    const uint16_t port = nt.port_of(slot);
    auto* n = out.add_neighbours();
    n->set_port(port < src.ports->size() ? (*src.ports)[port].name : "?");
    n->set_address(config::ipv4_to_string(nt.address_of(slot)));
    n->set_mac(mac_text(link.mac));
    n->set_state(dataplane::neighbour_state_name(link.state));
  }
}

}  // namespace

v1::GetStatsResponse stats_message(const StatsSource& src) {
  v1::GetStatsResponse out;
  out.set_generation(src.generation);
  out.set_uptime_seconds(src.uptime_seconds);
  add_ports(src, out);
  add_drops(src, out);
  add_workers(src, out);
  add_neighbours(src, out);
  out.set_flow_capacity_per_worker(src.policy ? src.policy->load_balancer.flow_capacity : 0);
  add_services(src, out);
  add_sas(src, out);
  add_access_rules(src, out);
  add_authorizations(src, out);
  add_pattern_sets(src, out);
  if (src.ike) src.ike(out);
  return out;
}

}  // namespace meshplane::ctrl
