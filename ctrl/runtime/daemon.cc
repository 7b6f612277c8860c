#include "ctrl/runtime/daemon.h"

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "config/address.h"
#include "config/parser.h"
#include "ctrl/api/api_server.h"
#include "ctrl/runtime/access_text.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/apply/outlier_detector.h"
#include "ctrl/apply/policy_manager.h"
#include "ctrl/runtime/exception_path.h"
#include "ctrl/runtime/health_checker.h"
#include "ctrl/runtime/ike_runtime.h"
#include "ctrl/runtime/inspect_runtime.h"
#include "ctrl/runtime/log.h"
#include "ctrl/runtime/neighbour_resolver.h"
#include "ctrl/runtime/port_control.h"
#include "ctrl/runtime/port_setup.h"
#include "ctrl/runtime/sa_table.h"
#include "ctrl/runtime/sequence_store.h"
#include "ctrl/compile/snapshot_compiler.h"
#include "ctrl/runtime/stats.h"
#include "ctrl/api/stats_text.h"
#include "ctrl/telemetry/flow_log_writer.h"
#include "ctrl/telemetry/metrics.h"
#include "ctrl/telemetry/metrics_server.h"
#include "ctrl/telemetry/trace_session.h"
#include "dataplane/ipsec/aes_gcm.h"
#include "dataplane/net/arp.h"
#include "dataplane/tables/flow_table.h"
#include "dataplane/worker/flow_log.h"
#include "dataplane/worker/lb_counters.h"
#include "dataplane/tables/neighbour_table.h"
#include "dataplane/worker/packet_meta.h"
#include "dataplane/worker/port_gate.h"
#include "dataplane/tables/snapshot_slot.h"
#include "dataplane/worker/worker.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::ctrl {
namespace {

using Clock = std::chrono::steady_clock;
using dataplane::DropReason;

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;
volatile std::sig_atomic_t g_dump = 0;

void on_signal(int sig) {
  if (sig == SIGHUP) g_reload = 1;
  else if (sig == SIGUSR1) g_dump = 1;
  else g_stop = 1;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& options) : options_(options) {}
  ~Daemon();
  int run();

 private:
  void start();
  void start_load_balancer();
  void start_ipsec();
  config::Status prepare_sas(const config::Policy& policy, const SaRegistry& registry);
  void refresh_sequences();
  void check_sa_lifetimes();
  void reset_fresh_slots(const LbRegistry& registry);
  void end_drains(Clock::time_point now);
  void detect_outliers(Clock::time_point now);
  StatusInfo status() const;
  void control_loop();
  void drain_punts(Clock::time_point now);
  void drain_access_log();
  void drain_inspect_events();
  void drain_trace();
  void start_flow_logs();
  void drain_flow_logs();
  config::Status start_trace(const TraceQuery& q);
  std::vector<TracedPacket> take_trace(bool last);
  void report_authorization_sweeps();
  uint64_t authz_cut_total() const;
  void transmit(uint16_t port, rte_mbuf* m);
  void inject(rte_mbuf* m);
  void reload();
  void write_stats_file();
  StatsSource stats_source() const;
  void start_metrics();
  std::vector<prometheus::MetricFamily> collect_metrics() const;
  void stop_workers();

  DaemonOptions options_;
  config::Policy policy_;  // as started: fixes ports, pools and table sizes; manager_ has the running one
  Clock::time_point started_ = Clock::now();
  double started_unix_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  uint16_t worker_count_ = 0;
  std::vector<unsigned> worker_lcores_;
  rte_mempool* pool_ = nullptr;
  std::vector<RunningPort> ports_;
  std::vector<PortBinding> bindings_;
  std::unique_ptr<dataplane::NeighbourTable> neighbours_;
  std::unique_ptr<dataplane::SnapshotSlot> snapshots_;
  std::unique_ptr<dataplane::WorkerCounters[]> counters_;  // workers, then the control thread
  std::unique_ptr<dataplane::WorkerCtx[]> workers_;
  std::unique_ptr<NeighbourResolver> resolver_;
  std::unique_ptr<PolicyManager> manager_;
  dataplane::PortGate gate_;
  std::unique_ptr<PortControl> port_control_;
  uint64_t before_event_ = 0;  // last event logged
  ControlQueue api_queue_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<MetricsServer> metrics_;  // null: api.metrics not set
  dataplane::TraceControl trace_control_;   // the workers' side of a packet trace
  std::vector<std::unique_ptr<dataplane::FlowLog>> flow_logs_;  // one per worker; empty: flow logs off
  std::unique_ptr<FlowLogWriter> flow_log_writer_;
  std::unique_ptr<InspectRuntime> inspect_;  // per-worker payload inspection state
  std::unique_ptr<ExceptionPath> exception_;  // null: no exception_path in the policy
  std::unique_ptr<HealthChecker> health_;     // null: no service has a health_check
  std::unique_ptr<IkeRuntime> ike_;           // null: the policy has no ike
  OutlierDetector outliers_;
  std::unique_ptr<TraceSession> trace_;     // null: no trace running
  std::vector<std::unique_ptr<dataplane::FlowTable>> flow_tables_;      // one per worker
  std::unique_ptr<dataplane::ServiceCounters[]> service_counters_;    // worker-major, max_services each
  std::unique_ptr<dataplane::EndpointCounters[]> endpoint_counters_;  // worker-major, max_endpoints each
  std::vector<rte_ring*> handoff_rings_;                               // one per worker
  std::unique_ptr<dataplane::RateLimitState> rate_limits_;             // shared by the workers
  std::unique_ptr<dataplane::BreakerState> breakers_;                  // shared by the workers
  std::unique_ptr<SequenceStore> sequences_;
  std::unique_ptr<SaTable> sa_table_;
  std::vector<std::unique_ptr<dataplane::GcmEngine>> gcm_;         // one per worker
  std::unique_ptr<dataplane::SaCounters[]> sa_counters_;          // worker-major, max_sas each
  int authz_reported_epoch_ = -1;  // the last authorization epoch whose sweep was reported
  uint64_t authz_cut_reported_ = 0;
  Clock::time_point sequence_error_logged_{};
  std::atomic<bool> stop_workers_{false};
  bool workers_running_ = false;
};

Daemon::~Daemon() {
  stop_workers();
  for (uint16_t w = 0; workers_ && w < worker_count_; ++w) {
    rte_mbuf* m;
    rte_ring* handoff = w < handoff_rings_.size() ? handoff_rings_[w] : nullptr;
    for (rte_ring* r : {workers_[w].punt_ring, workers_[w].inject_ring, handoff}) {
      while (r && rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
      rte_ring_free(r);
    }
    rte_ring_free(workers_[w].access_log);  // records, not packets
    rte_ring_free(workers_[w].trace_ring);
    if (w < flow_logs_.size()) rte_ring_free(flow_logs_[w]->ring);
  }
  resolver_.reset();
  snapshots_.reset();
  close_ports(ports_);
  rte_mempool_free(pool_);
}

void Daemon::stop_workers() {
  if (!workers_running_) return;
  stop_workers_.store(true);
  rte_eal_mp_wait_lcore();
  workers_running_ = false;
}

void Daemon::start() {
  auto loaded = config::load_policy_file(options_.config_path);
  if (!loaded.ok()) throw std::runtime_error("invalid policy:\n" + config::format(loaded.errors));
  policy_ = std::move(loaded.policy);

  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) worker_lcores_.push_back(lcore);
  worker_count_ = static_cast<uint16_t>(worker_lcores_.size());
  if (worker_count_ == 0)
    throw std::runtime_error(
        "no worker lcores: give EAL at least two (e.g. -l 0,1); the main lcore runs the control thread");
  if (worker_count_ > dataplane::kMaxWorkers)
    throw std::runtime_error(fmt::format("at most {} workers are supported", dataplane::kMaxWorkers));

  uint32_t max_frame = 0;
  for (const auto& p : policy_.ports) max_frame = std::max<uint32_t>(max_frame, p.mtu + RTE_ETHER_HDR_LEN + 4);
  const uint16_t data_room = static_cast<uint16_t>(std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE,
                                                                      max_frame + RTE_PKTMBUF_HEADROOM));
  pool_ = rte_pktmbuf_pool_create("mbufs", policy_.dataplane.mbufs, 256, sizeof(dataplane::PacketMeta), data_room,
                                  rte_socket_id());
  if (!pool_)
    throw std::runtime_error(fmt::format("cannot create a pool of {} mbufs: {} (give EAL more memory with -m, "
                                         "or lower dataplane.mbufs)",
                                         policy_.dataplane.mbufs, rte_strerror(rte_errno)));

  ports_ = open_ports(policy_, worker_count_, pool_, options_.run_dir);
  for (const auto& p : ports_) bindings_.push_back({p.dpdk_port, p.mac});

  neighbours_ = std::make_unique<dataplane::NeighbourTable>(policy_.neighbour_table.capacity);
  snapshots_ = std::make_unique<dataplane::SnapshotSlot>(worker_count_);
  counters_ = std::make_unique<dataplane::WorkerCounters[]>(worker_count_ + 1);
  workers_ = std::make_unique<dataplane::WorkerCtx[]>(worker_count_);
  for (uint16_t w = 0; w < worker_count_; ++w) {
    auto& ctx = workers_[w];
    ctx.worker_id = w;
    ctx.port_count = static_cast<uint16_t>(ports_.size());
    for (size_t p = 0; p < ports_.size(); ++p) ctx.dpdk_port[p] = ports_[p].dpdk_port;
    const auto ring_size = policy_.dataplane.punt_ring_size;
    ctx.punt_ring = rte_ring_create(fmt::format("punt{}", w).c_str(), ring_size, rte_socket_id(),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
    ctx.inject_ring = rte_ring_create(fmt::format("inject{}", w).c_str(), ring_size, rte_socket_id(),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
    ctx.access_log = rte_ring_create_elem(fmt::format("access_log{}", w).c_str(), sizeof(dataplane::AccessLogRecord),
                                          1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    ctx.trace_ring = rte_ring_create_elem(fmt::format("trace{}", w).c_str(), sizeof(dataplane::TraceRecord), 4096,
                                          rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    ctx.trace_control = &trace_control_;
    if (!ctx.punt_ring || !ctx.inject_ring || !ctx.access_log || !ctx.trace_ring)
      throw std::runtime_error(fmt::format("cannot create rings for worker {}: {}", w, rte_strerror(rte_errno)));
    ctx.neighbours = neighbours_.get();
    ctx.snapshots = snapshots_.get();
    ctx.gate = &gate_;
    ctx.stop = &stop_workers_;
    ctx.counters = &counters_[w];
  }

  start_load_balancer();
  inspect_ = std::make_unique<InspectRuntime>(worker_count_, policy_.load_balancer.flow_capacity, policy_.inspection);
  for (uint16_t w = 0; w < worker_count_; ++w) inspect_->attach(workers_[w]);
  start_flow_logs();
  start_ipsec();

  if (policy_.exception_path) {
    std::vector<rte_ether_addr> macs;
    for (const auto& b : bindings_) macs.push_back(b.mac);
    exception_ = std::make_unique<ExceptionPath>(
        policy_, macs, pool_, [this](uint16_t port, rte_mbuf* m) { transmit(port, m); }, counters_[worker_count_]);
    log::info("exception path: {} TAP(s) in network namespace {}", policy_.ports.size(), exception_->netns());
    // Checks run from the namespace while the daemon runs; the policy (validated) names them.
    health_ = std::make_unique<HealthChecker>(exception_->netns());
    health_->set_targets(HealthChecker::targets_of(policy_));
  }
  resolver_ = std::make_unique<NeighbourResolver>(
      *neighbours_, pool_, [this](uint16_t port, rte_mbuf* m) { transmit(port, m); }, counters_[worker_count_]);
  PolicyManager::Hooks hooks;
  hooks.publish = [this](std::unique_ptr<dataplane::Snapshot> s) { snapshots_->publish(std::move(s)); };
  hooks.fresh_slots = [this](const LbRegistry& r) { reset_fresh_slots(r); };
  hooks.prepare_sas = [this](const config::Policy& p, const SaRegistry& r) { return prepare_sas(p, r); };
  hooks.published = [this](const config::Policy& p, const dataplane::Snapshot& s) {
    if (health_) health_->set_targets(HealthChecker::targets_of(p));
    if (ike_) ike_->configure(p);
    resolver_->configure(p.neighbour_table);
    resolver_->set_static(p, s);
    resolver_->announce(s);
  };
  manager_ = std::make_unique<PolicyManager>(policy_, bindings_, std::move(hooks), Clock::now());
  if (policy_.ike) {
    ike_ = std::make_unique<IkeRuntime>(*policy_.ike, pool_, [this](rte_mbuf* m) { inject(m); }, *manager_);
    ike_->configure(manager_->policy());
  }
  port_control_ = std::make_unique<PortControl>(ports_, gate_, *snapshots_, manager_->events());
  port_control_->watch_links(manager_->generation());  // ports whose link is down start out of the poll set

  ApiContext api;
  api.queue = &api_queue_;
  api.manager = manager_.get();
  api.events = &manager_->events();
  api.stats = [this] { return stats_message(stats_source()); };
  api.status = [this] { return status(); };
  api.trace_start = [this](const TraceQuery& q) { return start_trace(q); };
  api.trace_take = [this](bool last) { return take_trace(last); };
  api.set_port = [this](const std::string& name, bool attach, std::string& state) {
    const Outcome o = port_control_->set(name, attach, manager_->generation());
    for (size_t i = 0; i < ports_.size(); ++i)
      if (ports_[i].name == name) state = port_control_->state(i);
    return o;
  };
  // --socket, else the policy's api.socket, else RUN_DIR/meshplane.sock.
  const std::string socket = !options_.socket_path.empty() ? options_.socket_path
                             : !policy_.api.socket.empty() ? policy_.api.socket
                                                           : options_.run_dir + "/meshplane.sock";
  api_ = std::make_unique<ApiServer>(socket, std::move(api));
  start_metrics();

  for (uint16_t w = 0; w < worker_count_; ++w)
    if (int rc = rte_eal_remote_launch(dataplane::worker_main, &workers_[w], worker_lcores_[w]); rc != 0)
      throw std::runtime_error(fmt::format("cannot launch worker on lcore {}: {}", worker_lcores_[w],
                                           rte_strerror(-rc)));
  workers_running_ = true;
  log::info("meshplane {} running: {} port(s), {} worker(s) on lcore(s) {}, policy generation {} from {}, API on {}",
            MESHPLANE_VERSION, ports_.size(), worker_count_, fmt::join(worker_lcores_, ","), manager_->generation(),
            options_.config_path, api_->socket_path());
}

// Flow tables, counters and hand-off rings are sized once, at start.
void Daemon::start_load_balancer() {
  const auto& lb = policy_.load_balancer;
  const auto& t = lb.timeouts;
  const uint32_t nat_ports = lb.nat_port_max - lb.nat_port_min + 1u;
  if (nat_ports / worker_count_ < 64)
    throw std::runtime_error(fmt::format("the NAT port range {}-{} gives each of {} workers fewer than 64 ports",
                                         lb.nat_port_min, lb.nat_port_max, worker_count_));
  const dataplane::FlowTimeouts timeouts{t.tcp_syn * 1000, t.tcp_established * 1000, t.tcp_closing * 1000,
                                         t.tcp_reset * 1000, t.udp * 1000};
  service_counters_ = std::make_unique<dataplane::ServiceCounters[]>(size_t{worker_count_} * lb.max_services);
  endpoint_counters_ = std::make_unique<dataplane::EndpointCounters[]>(size_t{worker_count_} * lb.max_endpoints);
  rate_limits_ = std::make_unique<dataplane::RateLimitState>(lb.max_services, lb.rate_limit_sources);
  breakers_ = std::make_unique<dataplane::BreakerState>(lb.max_services, lb.max_endpoints);
  for (uint16_t w = 0; w < worker_count_; ++w) {
    flow_tables_.push_back(std::make_unique<dataplane::FlowTable>(lb.flow_capacity, timeouts));
    rte_ring* ring = rte_ring_create(fmt::format("handoff{}", w).c_str(), 1024, rte_socket_id(), RING_F_SC_DEQ);
    if (!ring) throw std::runtime_error(fmt::format("cannot create hand-off ring {}: {}", w, rte_strerror(rte_errno)));
    handoff_rings_.push_back(ring);
  }
  for (uint16_t w = 0; w < worker_count_; ++w) {
    auto& l = workers_[w].lb;
    l.flows = flow_tables_[w].get();
    l.services = &service_counters_[size_t{w} * lb.max_services];
    l.endpoints = &endpoint_counters_[size_t{w} * lb.max_endpoints];
    l.handoff = handoff_rings_.data();
    l.limits = rate_limits_.get();
    l.breakers = breakers_.get();
    l.workers = worker_count_;
    l.nat_port_base = lb.nat_port_min;
    l.nat_port_span = static_cast<uint16_t>(nat_ports / worker_count_);
  }
  log::info("load balancer: {} service(s), {} flows per worker ({} MiB each)", policy_.services.size(),
            lb.flow_capacity, flow_tables_[0]->memory_bytes() >> 20);
}

// A reused slot still holds its previous owner's totals; no worker touches it
// now (quarantine), so the control thread may zero it before publishing.
// Sums each endpoint's connection attempts over the workers for the outlier detector.
void Daemon::detect_outliers(Clock::time_point now) {
  const config::Policy& policy = manager_->policy();
  if (std::none_of(policy.services.begin(), policy.services.end(),
                   [](const config::Service& s) { return s.outlier_detection.has_value(); }))
    return;
  const auto& lb = policy_.load_balancer;  // counter sizes are the started policy's
  std::vector<OutlierDetector::Sample> samples;
  for (const auto& [id, rec] : manager_->registry().endpoints()) {
    OutlierDetector::Sample s{id.service, id.address, id.port, 0, 0};
    for (uint16_t w = 0; w < worker_count_; ++w) {
      const auto& c = endpoint_counters_[size_t{w} * lb.max_endpoints + rec.slot];
      s.failures += c.connect_failures.get();
      s.answers += c.connect_answers.get();
    }
    samples.push_back(std::move(s));
  }
  for (const auto& d : outliers_.update(policy, samples, now)) {
    log::info("outlier detection: {}: {}", LbRegistry::endpoint_name({d.service, d.address, d.port}), d.why);
    manager_->set_ejected(d.service, d.address, d.port, d.eject, d.why, now);
  }
}

void Daemon::reset_fresh_slots(const LbRegistry& registry) {
  const auto& lb = policy_.load_balancer;
  for (uint16_t w = 0; w < worker_count_; ++w) {
    for (uint32_t slot : registry.fresh_service_slots())
      service_counters_[size_t{w} * lb.max_services + slot].reset();
    for (uint32_t slot : registry.fresh_endpoint_slots())
      endpoint_counters_[size_t{w} * lb.max_endpoints + slot].reset();
  }
}

// SA state shared by the workers, each worker's ipsec-mb manager and SA
// counters, and the file outbound sequence numbers are reserved in.
void Daemon::start_ipsec() {
  const auto& ipsec = policy_.ipsec;
  sequences_ = std::make_unique<SequenceStore>(ipsec.sequence_file);
  if (auto s = sequences_->load(); !s.ok()) throw std::runtime_error(s.message);
  sa_table_ = std::make_unique<SaTable>(ipsec.max_sas, sequences_.get());
  sa_counters_ = std::make_unique<dataplane::SaCounters[]>(size_t{worker_count_} * ipsec.max_sas);
  for (uint16_t w = 0; w < worker_count_; ++w) {
    gcm_.push_back(std::make_unique<dataplane::GcmEngine>());
    if (!gcm_.back()->ok()) throw std::runtime_error("cannot start an ipsec-mb manager");
    auto& i = workers_[w].ipsec;
    i.gcm = gcm_.back().get();
    i.states = sa_table_->states();
    i.sas = &sa_counters_[size_t{w} * ipsec.max_sas];
  }
}

// Before a snapshot names fresh SA slots: their counters zeroed, their state set up.
config::Status Daemon::prepare_sas(const config::Policy& policy, const SaRegistry& registry) {
  for (uint16_t w = 0; w < worker_count_; ++w)
    for (uint32_t slot : registry.fresh()) sa_counters_[size_t{w} * policy_.ipsec.max_sas + slot].reset();
  return sa_table_->prepare(policy, registry);
}

// Keeps outbound SAs' usable numbers ahead of use. If the file cannot be
// written, the SAs stop at their limit (counted) rather than risk a nonce.
void Daemon::refresh_sequences() {
  if (auto s = sa_table_->refresh(); !s.ok()) {
    const auto now = Clock::now();
    if (now - sequence_error_logged_ > std::chrono::seconds(10)) {
      log::error("cannot reserve ESP sequence numbers, outbound SAs will stop at their limit: {}", s.message);
      sequence_error_logged_ = now;
    }
  }
}

// Soft lifetimes reached become events; SAs past a hard one stop.
void Daemon::check_sa_lifetimes() {
  const uint32_t max = policy_.ipsec.max_sas;
  const auto usage = [&](uint32_t slot) {
    SaTable::Usage u;
    for (uint16_t w = 0; w < worker_count_; ++w) {
      u.packets += sa_counters_[size_t{w} * max + slot].packets.get();
      u.bytes += sa_counters_[size_t{w} * max + slot].bytes.get();
    }
    return u;
  };
  for (const auto& e : sa_table_->check_lifetimes(usage)) {
    log::warn("{}", e.message);
    manager_->events().add(e.kind, manager_->generation(), e.message);
  }
}

// Endpoints whose drain time is over lose their slot; workers see them gone
// with the next snapshot and end their remaining flows.
void Daemon::end_drains(Clock::time_point now) {
  const uint64_t before = manager_->generation();
  manager_->end_drains(now);
  if (manager_->generation() != before) log::info("a drain ended; policy generation {}", manager_->generation());
  for (const auto& e : manager_->events().after(before_event_, std::chrono::milliseconds(0))) {
    if (e.kind == "endpoint_drained") log::info("drained {}", e.message);
    before_event_ = e.sequence;
  }
}

// The control thread hands packets to worker 0, which owns a transmit queue on every port.
void Daemon::transmit(uint16_t port, rte_mbuf* m) {
  dataplane::meta(m).port = static_cast<uint8_t>(port);
  dataplane::meta(m).inject_at = dataplane::InjectAt::kEgress;
  inject(m);
}

// A packet for the workers: to egress as it is, or (InjectAt::kRoute) routed first.
void Daemon::inject(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(workers_[0].inject_ring, m) != 0) {
    counters_[worker_count_].drop(DropReason::kInjectRingFull);
    rte_pktmbuf_free(m);
  }
}

void Daemon::drain_punts(Clock::time_point now) {
  const dataplane::Snapshot& s = *snapshots_->current();
  rte_mbuf* pkts[64];
  for (uint16_t w = 0; w < worker_count_; ++w) {
    const unsigned n =
        rte_ring_sc_dequeue_burst(workers_[w].punt_ring, reinterpret_cast<void**>(pkts), RTE_DIM(pkts), nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const dataplane::PacketMeta& pm = dataplane::meta(pkts[i]);
      switch (pm.reason) {
        case dataplane::PuntReason::kArp:
          // The host's kernel resolves its own next hops: it hears the replies too.
          if (exception_)
            if (const auto arp = dataplane::arp_parse(pkts[i]); arp && arp->op == RTE_ARP_OP_REPLY)
              exception_->to_host(pm.port, pkts[i]);
          resolver_->on_arp(pkts[i], s, now);
          break;
        case dataplane::PuntReason::kHost:
          if (exception_) exception_->to_host(pm.port, pkts[i]);
          rte_pktmbuf_free(pkts[i]);
          break;
        case dataplane::PuntReason::kResolve:
          resolver_->on_unresolved(pkts[i], s, now);
          break;
        case dataplane::PuntReason::kIke:
          if (ike_)
            ike_->on_packet(pkts[i], now);
          else
            rte_pktmbuf_free(pkts[i]);
          break;
      }
    }
  }
}

void Daemon::drain_access_log() {
  const CompiledSnapshot& running = *manager_->running();
  dataplane::AccessLogRecord records[32];
  for (uint16_t w = 0; w < worker_count_; ++w) {
    const unsigned n = rte_ring_sc_dequeue_burst_elem(workers_[w].access_log, records, sizeof records[0],
                                                      RTE_DIM(records), nullptr);
    for (unsigned i = 0; i < n; ++i) {
      const bool audit = records[i].kind != dataplane::LogKind::kAccess;
      std::string line = audit ? describe_audit(records[i], running, manager_->policy())
                               : describe(records[i], *running.access_table, manager_->policy().ports);
      log::info("{}: {}", audit ? "authorization" : "access", line);
      manager_->events().add(audit ? "authz_audit" : "access_log", manager_->generation(), std::move(line));
    }
  }
}

void Daemon::drain_inspect_events() {
  for (auto& e : inspect_->drain(manager_->running()->patterns.get(), &manager_->registry())) {
    log::info("inspection: {}", e.message);
    manager_->events().add(std::move(e.kind), manager_->generation(), std::move(e.message));
  }
}

void Daemon::start_flow_logs() {
  if (!policy_.flow_logs) return;
  const auto& settings = *policy_.flow_logs;
  flow_log_writer_ = std::make_unique<FlowLogWriter>(settings);
  for (uint16_t w = 0; w < worker_count_; ++w) {
    rte_ring* ring = rte_ring_create_elem(fmt::format("flowlog{}", w).c_str(), sizeof(dataplane::FlowLogRecord), 4096,
                                          rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring) throw std::runtime_error(fmt::format("cannot create flow-log ring {}: {}", w, rte_strerror(rte_errno)));
    flow_logs_.push_back(std::make_unique<dataplane::FlowLog>(policy_.load_balancer.flow_capacity, ring, settings.sample,
                                                              settings.records_per_second));
    workers_[w].flow_log = flow_logs_.back().get();
  }
  log::info("flow logs to {}, one flow in {}", settings.path.empty() ? settings.socket : settings.path, settings.sample);
}

// Flow-log records as JSON lines, services named by their slots.
void Daemon::drain_flow_logs() {
  if (!flow_log_writer_) return;
  const uint64_t ms_per_tick = rte_get_tsc_hz() / 1000;
  const int64_t offset =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() -
      static_cast<int64_t>(rte_rdtsc() / ms_per_tick);
  std::vector<const std::string*> names;  // by service slot, made when a record needs it
  dataplane::FlowLogRecord records[64];
  for (uint16_t w = 0; w < worker_count_; ++w) {
    const unsigned n = rte_ring_sc_dequeue_burst_elem(flow_logs_[w]->ring, records, sizeof records[0],
                                                      RTE_DIM(records), nullptr);
    if (n && names.empty()) {
      names.assign(manager_->registry().max_services(), nullptr);
      for (const auto& [name, record] : manager_->registry().services())
        if (record.slot < names.size()) names[record.slot] = &name;
    }
    for (unsigned i = 0; i < n; ++i) {
      const uint32_t slot = records[i].service;
      static const std::string kUnknown;
      const std::string& service = slot < names.size() && names[slot] ? *names[slot] : kUnknown;
      flow_log_writer_->write(flow_log_json(records[i], w, service, offset));
    }
  }
  flow_log_writer_->flush();  // also what a socket could not take before
}

// Trace records: to the running trace, or (one that ended) nowhere.
void Daemon::drain_trace() {
  dataplane::TraceRecord records[64];
  for (uint16_t w = 0; w < worker_count_; ++w) {
    unsigned n;
    do {
      n = rte_ring_sc_dequeue_burst_elem(workers_[w].trace_ring, records, sizeof records[0], RTE_DIM(records), nullptr);
      for (unsigned i = 0; trace_ && i < n; ++i) trace_->add(records[i]);
    } while (n == RTE_DIM(records));
  }
}

config::Status Daemon::start_trace(const TraceQuery& q) {
  if (trace_) return config::Status::failure(config::Status::Code::kInvalid, "a trace is already running; one at a time");
  dataplane::TraceFilter filter;
  if (auto s = trace_filter(q, manager_->policy(), filter); !s.ok()) return s;
  drain_trace();  // what an earlier trace left behind is not this one's
  trace_control_.filter = filter;
  trace_ = std::make_unique<TraceSession>(q.count);
  trace_control_.remaining.store(static_cast<int32_t>(q.count), std::memory_order_release);
  log::info("tracing the next {} packet(s)", q.count);
  return {};
}

std::vector<TracedPacket> Daemon::take_trace(bool last) {
  if (!trace_) return {};
  if (last) trace_control_.remaining.store(0, std::memory_order_relaxed);
  drain_trace();
  auto packets = trace_->take(manager_->policy(), *manager_->running(), last);
  if (last) trace_.reset();
  return packets;
}

uint64_t Daemon::authz_cut_total() const {
  const uint32_t max = manager_->registry().max_services();
  uint64_t total = 0;
  for (size_t i = 0; i < size_t{worker_count_} * max; ++i) total += service_counters_[i].authz_cut.get();
  for (uint16_t w = 0; w < worker_count_; ++w) total += counters_[w].routed_authz_cut.get();
  return total;
}

// Once every worker has checked its flows against a changed authorization,
// says how many connections the change cut.
void Daemon::report_authorization_sweeps() {
  const uint8_t epoch = manager_->running()->authz.epoch;
  if (authz_reported_epoch_ == epoch || !service_counters_) return;
  for (uint16_t w = 0; w < worker_count_; ++w)
    if (counters_[w].authz_swept.get() != epoch) return;
  const uint64_t total = authz_cut_total();
  if (authz_reported_epoch_ >= 0) {
    const std::string message = fmt::format("authorization change checked against every connection: {} cut",
                                            total - authz_cut_reported_);
    log::info("{}", message);
    manager_->events().add("authz_applied", manager_->generation(), message);
  }
  authz_reported_epoch_ = epoch;
  authz_cut_reported_ = total;
}

void Daemon::reload() {
  log::info("reloading policy from {}", options_.config_path);
  const Outcome o =
      manager_->apply(config::load_policy_file(options_.config_path), options_.config_path, false, Clock::now());
  if (o.ok())
    log::info("policy generation {} applied", o.generation);
  else
    log::error("reload rejected, generation {} stays: {}", o.generation, o.message);
}

StatusInfo Daemon::status() const {
  StatusInfo info;
  info.node = manager_->policy().node;
  info.generation = manager_->generation();
  info.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  for (const auto& p : ports_) {
    char mac[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac, sizeof mac, &p.mac);
    info.ports.push_back({p.name, p.device, mac, link_up(p.dpdk_port),
                          port_control_->state(static_cast<size_t>(&p - ports_.data()))});
  }
  for (uint16_t w = 0; w < worker_count_; ++w)
    info.workers.push_back({w, worker_lcores_[w], counters_[w].flows.get()});
  info.services = static_cast<uint32_t>(manager_->policy().services.size());
  if (metrics_)
    info.metrics = fmt::format("http://{}:{}/metrics", config::ipv4_to_string(*policy_.api.metrics_address),
                               metrics_->port());
  return info;
}

void Daemon::start_metrics() {
  const auto& api = policy_.api;
  if (!api.metrics_address) return;
  metrics_ = std::make_unique<MetricsServer>(*api.metrics_address, api.metrics_port, [this] {
    std::vector<prometheus::MetricFamily> out;
    api_queue_.call([&] { out = collect_metrics(); });  // false (stopping): nothing
    return out;
  });
  log::info("metrics on http://{}:{}/metrics", config::ipv4_to_string(*api.metrics_address), metrics_->port());
}

std::vector<prometheus::MetricFamily> Daemon::collect_metrics() const {
  const v1::GetStatsResponse stats = stats_message(stats_source());
  MetricsInput in;
  in.stats = &stats;
  in.apply_seconds = &manager_->apply_seconds();
  in.tsc_hz = static_cast<double>(rte_get_tsc_hz());
  in.start_time_seconds = started_unix_;
  in.nat_ports_per_worker = workers_[0].lb.nat_port_span;
  return metric_families(in);
}

StatsSource Daemon::stats_source() const {
  StatsSource src;
  src.ports = &ports_;
  for (size_t p = 0; p < ports_.size(); ++p) src.port_states.push_back(port_control_->state(p));
  src.workers = counters_.get();
  src.worker_lcores = worker_lcores_;
  src.control = &counters_[worker_count_];
  src.neighbours = neighbours_.get();
  src.generation = manager_->generation();
  src.policy = &manager_->policy();
  if (ike_) src.ike = [this](v1::GetStatsResponse& out) { ike_->add_stats(out, Clock::now()); };
  src.peers = &manager_->compiled_policy().peers;
  src.registry = &manager_->registry();
  src.service_counters = service_counters_.get();
  src.endpoint_counters = endpoint_counters_.get();
  src.breakers = breakers_.get();
  src.sa_registry = &manager_->sa_registry();
  src.sa_table = sa_table_.get();
  src.sa_counters = sa_counters_.get();
  src.access = manager_->running()->access_table.get();
  src.patterns = manager_->running()->patterns.get();
  src.health = [this](const std::string& service, uint32_t address, uint16_t port) -> std::string {
    if (!manager_->healthy(service, address, port)) return "unhealthy";
    return manager_->ejected(service, address, port) ? "ejected" : "healthy";
  };
  src.inspect = inspect_->states();
  src.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  return src;
}

void Daemon::write_stats_file() {
  const std::string tmp = options_.stats_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      log::warn("cannot write stats file {}", tmp);
      return;
    }
    out << message_json(stats_message(stats_source())) << '\n';
  }
  std::rename(tmp.c_str(), options_.stats_file.c_str());
}

void Daemon::control_loop() {
  constexpr auto kTick = std::chrono::milliseconds(100);
  const auto stats_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.stats_interval));
  constexpr auto kLinkWatch = std::chrono::milliseconds(1);  // a peer that left stops being polled this fast
  auto next_tick = Clock::now();
  auto next_links = Clock::now();
  auto next_stats = Clock::now();
  while (!g_stop) {
    const auto now = Clock::now();
    drain_punts(now);
    drain_access_log();
    drain_inspect_events();
    if (exception_) exception_->from_host();
    if (health_)
      for (const auto& c : health_->take_changes()) {
        log::info("health check: {} {}: {}", LbRegistry::endpoint_name({c.service, c.address, c.port}),
                  c.healthy ? "healthy" : "unhealthy", c.why);
        manager_->set_health(c.service, c.address, c.port, c.healthy, c.why, now);
      }
    drain_trace();
    drain_flow_logs();
    refresh_sequences();
    api_queue_.run_pending();
    if (now >= next_links) {
      port_control_->watch_links(manager_->generation());
      next_links = now + kLinkWatch;
    }
    if (now >= next_tick) {
      resolver_->tick(*snapshots_->current(), now);
      end_drains(now);
      detect_outliers(now);
      check_sa_lifetimes();
      report_authorization_sweeps();
      if (ike_) {
        uint64_t waiting = 0;  // packets for tunnels IKE has not keyed (yet, or again)
        for (uint16_t w = 0; w < worker_count_; ++w) waiting += counters_[w].dropped(DropReason::kEspNoOutboundSa);
        ike_->tick(now, waiting);
      }
      next_tick = now + kTick;
    }
    if (g_reload) {
      g_reload = 0;
      reload();
    }
    if (g_dump) {
      g_dump = 0;
      std::fputs(stats_table(stats_message(stats_source())).c_str(), stdout);
      std::fflush(stdout);
    }
    if (!options_.stats_file.empty() && now >= next_stats) {
      write_stats_file();
      next_stats = now + stats_every;
    }
    // The control thread shares its core with the rest of the system: poll gently.
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

int Daemon::run() {
  install_signal_handlers();
  try {
    start();
  } catch (const std::exception& e) {
    log::error("cannot start: {}", e.what());
    return 3;
  }
  control_loop();
  if (ike_) {  // peers hear that our SAs are gone, rather than finding out by liveness checks
    ike_->shutdown(Clock::now());
    const auto deadline = Clock::now() + std::chrono::milliseconds(200);
    while (rte_ring_count(workers_[0].inject_ring) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  log::info("stopping: closing the API, waiting for workers");
  api_queue_.close();
  api_->stop();
  metrics_.reset();  // a scrape waiting for the control thread was answered with nothing
  stop_workers();
  drain_punts(Clock::now());
  if (!options_.stats_file.empty()) write_stats_file();
  std::fputs(stats_table(stats_message(stats_source())).c_str(), stdout);
  std::fflush(stdout);
  log::info("stopped");
  return 0;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace meshplane::ctrl
