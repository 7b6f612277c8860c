#include "ctrl/runtime/inspect_runtime.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>

#include <fmt/format.h>

#include <stdexcept>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

std::string endpoint_text(uint32_t address, uint16_t port) {
  return fmt::format("{}:{}", config::ipv4_to_string(rte_be_to_cpu_32(address)), rte_be_to_cpu_16(port));
}

std::string set_name(const PatternLibrary* lib, uint32_t slot) {
  if (lib)
    for (const auto& [name, s] : lib->set_slots)
      if (s == slot) return name;
  return fmt::format("#{}", slot);
}

}  // namespace

InspectRuntime::InspectRuntime(uint16_t workers, uint32_t flow_capacity, const config::InspectionSettings& settings) {
  dataplane::InspectState::install_allocator();
  for (uint16_t w = 0; w < workers; ++w) {
    states_.push_back(std::make_unique<dataplane::InspectState>(flow_capacity, settings.flows_per_worker));
    rte_ring* ring = rte_ring_create_elem(fmt::format("inspect{}", w).c_str(), sizeof(dataplane::InspectEventRecord),
                                          1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring) throw std::runtime_error(fmt::format("cannot create inspect ring {}: {}", w, rte_strerror(rte_errno)));
    rings_.push_back(ring);
  }
}

InspectRuntime::~InspectRuntime() {
  for (rte_ring* r : rings_) rte_ring_free(r);
}

void InspectRuntime::attach(dataplane::WorkerCtx& w) const {
  w.inspect.state = states_[w.worker_id].get();
  w.inspect.events = rings_[w.worker_id];
}

std::vector<const dataplane::InspectState*> InspectRuntime::states() const {
  std::vector<const dataplane::InspectState*> out;
  for (const auto& s : states_) out.push_back(s.get());
  return out;
}

std::vector<InspectRuntime::Event> InspectRuntime::drain(const PatternLibrary* patterns, const LbRegistry* registry) {
  std::vector<Event> out;
  dataplane::InspectEventRecord records[32];
  for (rte_ring* ring : rings_) {
    const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, records, sizeof records[0], RTE_DIM(records), nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const auto& r = records[i];
      std::string service;
      if (!r.routed && registry)
        for (const auto& [name, record] : registry->services())
          if (record.slot == r.service) service = name;
      static constexpr const char* kKinds[] = {"pattern_alert", "pattern_block", "inspect_failed"};
      out.push_back({kKinds[static_cast<int>(r.kind) % 3], describe_inspect_event(r, patterns, service)});
    }
  }
  return out;
}

std::string describe_inspect_event(const dataplane::InspectEventRecord& r, const PatternLibrary* patterns,
                                   const std::string& service) {
  const dataplane::FlowKey& k = r.key[0];
  const std::string connection =
      fmt::format("tcp {} -> {} ({})", endpoint_text(k.src_addr, k.src_port), endpoint_text(k.dst_addr, k.dst_port),
                  r.routed ? "routed" : "service '" + service + "'");
  const char* direction = r.direction == 0 ? "client to server" : "server to client";
  const std::string set = set_name(patterns, r.set);
  if (r.kind == dataplane::InspectEvent::kFailedClosed)
    return fmt::format("set '{}': {} on {}, {}; on_failure: block, reset both ways", set,
                       r.gap ? "inspection stopped at a hole in the byte stream" : "no inspection state left",
                       connection, direction);
  std::string pattern = fmt::format("#{}", r.pattern);
  if (patterns && r.pattern < patterns->pattern_names.size()) {
    const std::string& full = patterns->pattern_names[r.pattern];  // "set/pattern"
    pattern = full.substr(full.find('/') + 1);
  }
  return fmt::format("pattern '{}' of set '{}' {} {}, {}{}", pattern, set,
                     r.kind == dataplane::InspectEvent::kBlock ? "blocked" : "matched", connection, direction,
                     r.kind == dataplane::InspectEvent::kBlock ? ": reset both ways" : "");
}

}  // namespace meshplane::ctrl
