#include "ctrl/stats.h"

#include <rte_ether.h>

#include <fmt/format.h>

#include "config/address.h"

namespace meshplane::ctrl {

using dataplane::kDropReasonCount;
using dataplane::kDropReasons;
using dataplane::WorkerCounters;

namespace {

struct PortTotals {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
};

PortTotals port_totals(const StatsSource& src, size_t port) {
  PortTotals t;
  auto add = [&](const WorkerCounters& c) {
    t.rx_packets += c.ports[port].rx_packets.get();
    t.rx_bytes += c.ports[port].rx_bytes.get();
    t.tx_packets += c.ports[port].tx_packets.get();
    t.tx_bytes += c.ports[port].tx_bytes.get();
  };
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) add(src.workers[w]);
  return t;
}

uint64_t drop_total(const StatsSource& src, size_t reason) {
  uint64_t n = src.control->drops[reason].get();
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += src.workers[w].drops[reason].get();
  return n;
}

uint64_t worker_rx(const StatsSource& src, const WorkerCounters& c) {
  uint64_t rx = 0;
  for (size_t p = 0; p < src.ports->size(); ++p) rx += c.ports[p].rx_packets.get();
  return rx;
}

template <typename F>
uint64_t worker_sum(const StatsSource& src, F field) {
  uint64_t n = 0;
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) n += field(src.workers[w]).get();
  return n;
}

std::string mac_text(const rte_ether_addr& mac) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof buf, &mac);
  return buf;
}

}  // namespace

std::string stats_json(const StatsSource& src) {
  std::string out = fmt::format("{{\"generation\":{},\"uptime_seconds\":{:.3f},\"ports\":[", src.generation,
                                src.uptime_seconds);
  for (size_t p = 0; p < src.ports->size(); ++p) {
    const auto& port = (*src.ports)[p];
    const PortTotals t = port_totals(src, p);
    out += fmt::format(
        "{}{{\"name\":\"{}\",\"device\":\"{}\",\"link_up\":{},\"rx_packets\":{},\"rx_bytes\":{},"
        "\"tx_packets\":{},\"tx_bytes\":{}}}",
        p ? "," : "", port.name, port.device, link_up(port.dpdk_port), t.rx_packets, t.rx_bytes, t.tx_packets,
        t.tx_bytes);
  }
  out += "],\"drops\":{";
  for (size_t r = 0; r < kDropReasonCount; ++r)
    out += fmt::format("{}\"{}\":{}", r ? "," : "", kDropReasons[r].name, drop_total(src, r));
  out += fmt::format(
      "}},\"forwarded\":{},\"punted\":{},\"injected\":{},\"icmp_echo_replies\":{},\"icmp_errors_sent\":{},"
      "\"icmp_errors_suppressed\":{},\"icmp_errors_relayed\":{},\"workers\":[",
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.forwarded; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.punted; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.injected; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_echo_replies; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_errors_sent; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_errors_suppressed; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_errors_relayed; }));
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) {
    const WorkerCounters& c = src.workers[w];
    const uint64_t rx = worker_rx(src, c);
    out += fmt::format(
        "{}{{\"id\":{},\"lcore\":{},\"rx_packets\":{},\"busy_cycles\":{},\"busy_polls\":{},\"idle_polls\":{},"
        "\"cycles_per_packet\":{:.1f},\"flows\":{},\"handed_off\":{}}}",
        w ? "," : "", w, src.worker_lcores[w], rx, c.busy_cycles.get(), c.busy_polls.get(), c.idle_polls.get(),
        rx ? static_cast<double>(c.busy_cycles.get()) / rx : 0.0, c.flows.get(), c.handed_off.get());
  }
  out += "],\"neighbours\":[";
  bool first = true;
  const auto& nt = *src.neighbours;
  for (uint32_t slot = 0; slot < nt.slot_count(); ++slot) {
    if (!nt.occupied(slot)) continue;
    const auto link = nt.link(slot);
    const uint16_t port = nt.port_of(slot);
    out += fmt::format("{}{{\"port\":\"{}\",\"address\":\"{}\",\"mac\":\"{}\",\"state\":\"{}\"}}",
                       first ? "" : ",", port < src.ports->size() ? (*src.ports)[port].name : "?",
                       config::ipv4_to_string(nt.address_of(slot)), mac_text(link.mac),
                       dataplane::neighbour_state_name(link.state));
    first = false;
  }
  out += fmt::format("],\"flow_capacity_per_worker\":{},\"services\":{}}}",
                     src.policy ? src.policy->load_balancer.flow_capacity : 0, services_json(src));
  return out;
}

std::string stats_table(const StatsSource& src) {
  std::string out = fmt::format("policy generation {}, up {:.1f} s\n", src.generation, src.uptime_seconds);
  out += fmt::format("{:<12} {:>12} {:>14} {:>12} {:>14}  link\n", "port", "rx packets", "rx bytes", "tx packets",
                     "tx bytes");
  for (size_t p = 0; p < src.ports->size(); ++p) {
    const PortTotals t = port_totals(src, p);
    out += fmt::format("{:<12} {:>12} {:>14} {:>12} {:>14}  {}\n", (*src.ports)[p].name, t.rx_packets, t.rx_bytes,
                       t.tx_packets, t.tx_bytes, link_up((*src.ports)[p].dpdk_port) ? "up" : "down");
  }
  out += fmt::format(
      "forwarded {}  echo replies {}  icmp errors sent {} (suppressed {})  punted to control {}\n",
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.forwarded; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_echo_replies; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_errors_sent; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.icmp_errors_suppressed; }),
      worker_sum(src, [](const WorkerCounters& c) -> auto& { return c.punted; }));
  out += "drops:";
  bool any = false;
  for (size_t r = 0; r < kDropReasonCount; ++r)
    if (uint64_t n = drop_total(src, r)) {
      out += fmt::format("\n  {:<24} {:>10}", kDropReasons[r].name, n);
      any = true;
    }
  out += any ? "\n" : " none\n";
  for (size_t w = 0; w < src.worker_lcores.size(); ++w) {
    const WorkerCounters& c = src.workers[w];
    const uint64_t rx = worker_rx(src, c);
    out += fmt::format("worker {} (lcore {}): {} packets, {:.0f} cycles/packet busy, {} flows tracked\n", w,
                       src.worker_lcores[w], rx, rx ? static_cast<double>(c.busy_cycles.get()) / rx : 0.0,
                       c.flows.get());
  }
  return out + services_table(src);
}

}  // namespace meshplane::ctrl
