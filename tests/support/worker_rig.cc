#include "tests/support/worker_rig.h"

#include <rte_ring_elem.h>

#include "config/parser.h"
#include "ctrl/compile/snapshot_compiler.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/pipeline.h"
#include "dataplane/worker/tx.h"

namespace meshplane::testing {

namespace {

rte_ring* ring(const std::string& name, unsigned flags) {
  return rte_ring_create(name.c_str(), 64, SOCKET_ID_ANY, flags);
}

void drain(rte_ring* r) {
  rte_mbuf* m;
  while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
}

}  // namespace

WorkerRig::WorkerRig(const std::string& policy_text, Options options) {
  static int serial = 0;  // DPDK object names are process-wide
  const std::string id = std::to_string(serial++);
  pool = rte_pktmbuf_pool_create(("rig" + id).c_str(), options.mbufs, 0, sizeof(dataplane::PacketMeta),
                                 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  punt = ring("rigpunt" + id, RING_F_SP_ENQ | RING_F_SC_DEQ);
  for (uint16_t i = 0; i < options.workers; ++i) handoff.push_back(ring("righand" + id + "_" + std::to_string(i), RING_F_SC_DEQ));
  if (!pool || !punt) {
    error = "cannot create the rig's mbuf pool or rings";
    return;
  }
  auto parsed = config::load_policy_text(policy_text, "rig.yaml");
  if (!parsed.ok()) {
    error = parsed.message;
    return;
  }
  policy = std::move(parsed.policy);
  const auto& lb = policy.load_balancer;
  registry = std::make_unique<ctrl::LbRegistry>(lb.max_services, lb.max_endpoints);
  if (auto s = registry->update(policy.services, ctrl::LbRegistry::Clock::now()); !s.ok()) {
    error = s.message;
    return;
  }
  sa_registry = std::make_unique<ctrl::SaRegistry>(policy.ipsec.max_sas);
  sa_table = std::make_unique<ctrl::SaTable>(policy.ipsec.max_sas, nullptr);
  sa_counters = std::make_unique<dataplane::SaCounters[]>(policy.ipsec.max_sas);
  if (!update_sas() || !publish()) return;
  w.port_count = static_cast<uint16_t>(policy.ports.size());
  w.punt_ring = punt;
  w.neighbours = &neighbours;
  w.counters = &counters;
  w.ipsec.gcm = &gcm;
  w.ipsec.states = sa_table->states();
  w.ipsec.sas = sa_counters.get();
  if (policy.services.empty() && policy.authorization.empty()) return;  // no flow table: nothing to track
  flows = std::make_unique<dataplane::FlowTable>(lb.flow_capacity, dataplane::FlowTimeouts{});
  services = std::make_unique<dataplane::ServiceCounters[]>(lb.max_services);
  endpoints = std::make_unique<dataplane::EndpointCounters[]>(lb.max_endpoints);
  w.lb.flows = flows.get();
  w.lb.services = services.get();
  w.lb.endpoints = endpoints.get();
  w.lb.handoff = handoff.data();
  limits = std::make_unique<dataplane::RateLimitState>(lb.max_services, lb.rate_limit_sources);
  w.lb.limits = limits.get();
  breakers = std::make_unique<dataplane::BreakerState>(lb.max_services, lb.max_endpoints);
  w.lb.breakers = breakers.get();
  w.lb.workers = options.workers;
  w.lb.nat_port_base = lb.nat_port_min;
  w.lb.nat_port_span = static_cast<uint16_t>((lb.nat_port_max - lb.nat_port_min + 1) / options.workers);
  w.lb.now = 1000;
  if (policy.pattern_sets.empty()) return;
  dataplane::InspectState::install_allocator();
  inspect = std::make_unique<dataplane::InspectState>(lb.flow_capacity, policy.inspection.flows_per_worker);
  inspect_events = rte_ring_create_elem(("rig_inspect" + id).c_str(), sizeof(dataplane::InspectEventRecord), 256, SOCKET_ID_ANY,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
  w.inspect.state = inspect.get();
  w.inspect.events = inspect_events;
}

WorkerRig::~WorkerRig() {
  clear_tx();
  for (rte_ring* r : handoff) {
    if (r) drain(r);
    rte_ring_free(r);
  }
  if (punt) drain(punt);
  dataplane::free_dropped(w);
  rte_ring_free(punt);
  rte_ring_free(inspect_events);
  rte_mempool_free(pool);
}

bool WorkerRig::update_sas() {
  config::Status s = sa_registry->update(policy.peers);
  if (s.ok()) s = sa_table->prepare(policy, *sa_registry);
  if (!s.ok()) error = s.message;
  return s.ok();
}

bool WorkerRig::publish() {
  // As the daemon compiles: against the running snapshot and its policy (shared tables, authorization epoch).
  const ctrl::Previous previous{snapshot.get(), snapshot ? &published_policy_ : nullptr};
  auto compiled = ctrl::compile_snapshot(policy, {{0, kMacA}, {1, kMacB}}, 1, registry.get(), previous,
                                         sa_registry.get());
  if (!compiled.ok()) {
    error = compiled.message;
    return false;
  }
  snapshot = std::move(compiled.snapshot);
  published_policy_ = policy;
  return true;
}

bool WorkerRig::reload(const std::string& policy_text, ctrl::LbRegistry::Clock::time_point now) {
  auto parsed = config::load_policy_text(policy_text, "rig.yaml");
  if (!parsed.ok()) {
    error = parsed.message;
    return false;
  }
  policy = std::move(parsed.policy);
  if (auto s = registry->update(policy.services, now); !s.ok()) {
    error = s.message;
    return false;
  }
  return update_sas() && publish();
}

void WorkerRig::run(rte_mbuf* m, uint16_t in_port) { run(&m, 1, in_port); }

void WorkerRig::run(rte_mbuf** pkts, uint16_t n, uint16_t in_port) {
  dataplane::pipeline_process(w, *snapshot, in_port, pkts, n);
}

void WorkerRig::clear_tx() {
  for (auto& q : w.tx) {
    rte_pktmbuf_free_bulk(q.pkts, q.count);
    q.count = 0;
  }
}

}  // namespace meshplane::testing
