#include "ctrl/runtime/port_control.h"

#include <rte_ethdev.h>

#include <fmt/format.h>

#include <algorithm>

#include "ctrl/runtime/log.h"

namespace meshplane::ctrl {

PortControl::PortControl(std::vector<RunningPort>& ports, dataplane::PortGate& gate,
                         dataplane::SnapshotSlot& workers, EventLog& events)
    : ports_(ports), gate_(gate), workers_(workers), events_(events), detached_(ports.size(), false) {}

void PortControl::close_gate(size_t i) {
  gate_.close(static_cast<uint16_t>(i));
  workers_.synchronize();  // from here on no worker is inside rx or tx on the port
}

std::string PortControl::state(size_t i) const {
  if (detached_[i]) return "detached";
  return gate_.is_open(static_cast<uint16_t>(i)) ? "up" : "link-down";
}

Outcome PortControl::set(const std::string& name, bool attach, uint64_t generation) {
  Outcome o;
  o.generation = generation;
  const auto it = std::find_if(ports_.begin(), ports_.end(), [&](const RunningPort& p) { return p.name == name; });
  if (it == ports_.end()) {
    o.status() = config::Status::failure(Outcome::Code::kNotFound, fmt::format("no port named '{}'", name));
    return o;
  }
  const auto i = static_cast<size_t>(it - ports_.begin());
  if (detached_[i] == !attach) return o;  // already so: nothing to do
  if (attach) {
    o.status() = this->attach(i, generation);
  } else {
    detach(i, generation);
  }
  o.applied = o.ok();
  return o;
}

void PortControl::detach(size_t i, uint64_t generation) {
  RunningPort& p = ports_[i];
  close_gate(i);
  detached_[i] = true;
  if (p.started) {
    if (int rc = rte_eth_dev_stop(p.dpdk_port); rc != 0)
      log::warn("port '{}': stopping the device failed: {}", p.name, rte_strerror(-rc));
    p.started = false;
  }
  events_.add("port_detached", generation, p.name);
  log::info("port '{}' detached: not polled, device stopped", p.name);
}

config::Status PortControl::attach(size_t i, uint64_t generation) {
  RunningPort& p = ports_[i];
  if (int rc = rte_eth_dev_start(p.dpdk_port); rc != 0)
    return config::Status::failure(Outcome::Code::kExhausted,
                                   fmt::format("port '{}': the device did not start: {}", p.name, rte_strerror(-rc)));
  p.started = true;
  detached_[i] = false;
  events_.add("port_attached", generation, p.name);
  log::info("port '{}' attached: polled again once its link is up", p.name);
  watch_links(generation);
  return {};
}

void PortControl::watch_links(uint64_t generation) {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (detached_[i]) continue;
    const bool up = link_up(ports_[i].dpdk_port);
    const bool polled = gate_.is_open(static_cast<uint16_t>(i));
    if (polled && !up) {
      close_gate(i);
      events_.add("port_link_down", generation, ports_[i].name);
      log::warn("port '{}': link down, no longer polled", ports_[i].name);
    } else if (!polled && up) {
      gate_.open(static_cast<uint16_t>(i));
      events_.add("port_link_up", generation, ports_[i].name);
      log::info("port '{}': link up, polled", ports_[i].name);
    }
  }
}

}  // namespace meshplane::ctrl
