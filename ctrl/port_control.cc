#include "ctrl/port_control.h"

#include <rte_ethdev.h>

#include <fmt/format.h>

#include "ctrl/log.h"

namespace meshplane::ctrl {

PortControl::PortControl(std::vector<RunningPort>& ports, dataplane::PortGate& gate,
                         dataplane::SnapshotSlot& workers, EventLog& events)
    : ports_(ports), gate_(gate), workers_(workers), events_(events), detached_(ports.size(), false) {}

RunningPort* PortControl::find(const std::string& name) {
  for (auto& p : ports_)
    if (p.name == name) return &p;
  return nullptr;
}

void PortControl::close_gate(size_t i) {
  gate_.close(static_cast<uint16_t>(i));
  workers_.synchronize();  // from here on no worker is inside rx or tx on the port
}

std::string PortControl::state(size_t i) const {
  if (detached_[i]) return "detached";
  return gate_.is_open(static_cast<uint16_t>(i)) ? "up" : "link-down";
}

Outcome PortControl::detach(const std::string& name, uint64_t generation) {
  Outcome o;
  o.generation = generation;
  RunningPort* p = find(name);
  if (!p) {
    o.code = Outcome::Code::kNotFound;
    o.message = fmt::format("no port named '{}'", name);
    return o;
  }
  const size_t i = static_cast<size_t>(p - ports_.data());
  if (detached_[i]) return o;  // already: nothing to do
  close_gate(i);
  detached_[i] = true;
  if (p->started) {
    if (int rc = rte_eth_dev_stop(p->dpdk_port); rc != 0)
      log::warn("port '{}': stopping the device failed: {}", name, rte_strerror(-rc));
    p->started = false;
  }
  o.applied = true;
  events_.add("port_detached", generation, name);
  log::info("port '{}' detached: not polled, device stopped", name);
  return o;
}

Outcome PortControl::attach(const std::string& name, uint64_t generation) {
  Outcome o;
  o.generation = generation;
  RunningPort* p = find(name);
  if (!p) {
    o.code = Outcome::Code::kNotFound;
    o.message = fmt::format("no port named '{}'", name);
    return o;
  }
  const size_t i = static_cast<size_t>(p - ports_.data());
  if (!detached_[i]) return o;
  if (int rc = rte_eth_dev_start(p->dpdk_port); rc != 0) {
    o.code = Outcome::Code::kExhausted;
    o.message = fmt::format("port '{}': the device did not start: {}", name, rte_strerror(-rc));
    return o;
  }
  p->started = true;
  detached_[i] = false;
  o.applied = true;
  events_.add("port_attached", generation, name);
  log::info("port '{}' attached: polled again once its link is up", name);
  watch_links(generation);
  return o;
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
