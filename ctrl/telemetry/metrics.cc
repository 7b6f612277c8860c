#include "ctrl/telemetry/metrics.h"

#include <fmt/format.h>

#include <limits>
#include <string_view>

#include "dataplane/inspect/inspect_state.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/lb_counters.h"

namespace meshplane::ctrl {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Families declared with their label names, then filled with samples.
class Families {
 public:
  size_t declare(std::string name, MetricType type, std::vector<std::string> labels, std::string help) {
    out_.push_back({MetricFamily{std::move(name), std::move(help), type, {}}, std::move(labels)});
    return out_.size() - 1;
  }
  void sample(size_t family, const std::vector<std::string>& values, double v) {
    ClientMetric& m = add(family, values);
    if (out_[family].family.type == MetricType::Counter)
      m.counter.value = v;
    else
      m.gauge.value = v;
  }
  void histogram(size_t family, const std::vector<std::string>& values, ClientMetric::Histogram h) {
    add(family, values).histogram = std::move(h);
  }
  struct Declared {
    MetricFamily family;
    std::vector<std::string> labels;
  };
  std::vector<Declared>& all() { return out_; }

 private:
  ClientMetric& add(size_t family, const std::vector<std::string>& values) {
    Declared& d = out_[family];
    ClientMetric& m = d.family.metric.emplace_back();
    for (size_t i = 0; i < values.size() && i < d.labels.size(); ++i) m.label.push_back({d.labels[i], values[i]});
    return m;
  }
  std::vector<Declared> out_;
};

// A counter list's member as a metric: busy_cycles -> meshplane_worker_busy_seconds_total.
struct Naming {
  std::string name;
  double scale = 1;       // multiplies the raw value
  const char* note = "";  // appended to the help text
};
Naming naming(std::string_view group, std::string_view counter, dataplane::CounterKind kind, double tsc_hz) {
  Naming n{fmt::format("meshplane_{}_{}", group, counter)};
  if (counter.ends_with("_cycles")) {  // base units: seconds
    n.name = fmt::format("meshplane_{}_{}_seconds", group, counter.substr(0, counter.size() - 7));
    n.scale = 1 / tsc_hz;
    n.note = " (counted in TSC cycles, exported in seconds)";
  }
  if (kind == dataplane::CounterKind::kCounter) n.name += "_total";
  return n;
}

MetricType type_of(dataplane::CounterKind kind) {
  return kind == dataplane::CounterKind::kCounter ? MetricType::Counter : MetricType::Gauge;
}

uint64_t value(const google::protobuf::Map<std::string, uint64_t>& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// One family per counter of `table`; `rows` calls back (label values, counter map) for each thing counted.
template <typename Table, typename Rows>
void counter_families(Families& f, std::string_view group, const Table& table, const std::vector<std::string>& labels,
                      double tsc_hz, Rows rows) {
  for (const auto& c : table) {
    const Naming n = naming(group, c.name, c.kind, tsc_hz);
    const size_t id = f.declare(n.name, type_of(c.kind), labels, std::string(c.help) + n.note);
    rows([&](const std::vector<std::string>& values, const google::protobuf::Map<std::string, uint64_t>& counters) {
      f.sample(id, values, static_cast<double>(value(counters, c.name)) * n.scale);
    });
  }
}

void ports(Families& f, const v1::GetStatsResponse* s, double tsc_hz) {
  const size_t up = f.declare("meshplane_port_up", MetricType::Gauge, {"port"}, "1 when the port's link is up");
  counter_families(f, "port", dataplane::kPortCounters, {"port"}, tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& p : s->ports()) emit({p.name()}, p.counters());
  });
  if (s)
    for (const auto& p : s->ports()) f.sample(up, {p.name()}, p.link_up() ? 1 : 0);
}

void drops(Families& f, const v1::GetStatsResponse* s) {
  const size_t id = f.declare("meshplane_drops_total", MetricType::Counter, {"reason"},
                              "packets dropped, by reason (the drop reasons of docs/operations.md)");
  if (s)
    for (const auto& r : dataplane::kDropReasons) f.sample(id, {r.name}, static_cast<double>(value(s->drops(), r.name)));
}

ClientMetric::Histogram burst_histogram(const v1::WorkerStats& w) {
  ClientMetric::Histogram h;
  uint64_t cumulative = 0;
  for (int b = 0; b < w.rx_bursts_size(); ++b) {
    cumulative += w.rx_bursts(b);
    h.bucket.push_back({cumulative, static_cast<double>(1u << b)});
  }
  h.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(value(w.counters(), "rx_packets"));
  return h;
}

void workers(Families& f, const MetricsInput& in) {
  const v1::GetStatsResponse* s = in.stats;
  counter_families(f, "worker", dataplane::kWorkerCounters, {"worker"}, in.tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& w : s->workers()) emit({std::to_string(w.id())}, w.counters());
  });
  const size_t bursts = f.declare("meshplane_worker_rx_burst_packets", MetricType::Histogram, {"worker"},
                                  "packets per receive poll that found any (at most 32)");
  const size_t capacity = f.declare("meshplane_worker_flow_capacity", MetricType::Gauge, {"worker"},
                                    "flows this worker's table holds at most");
  const size_t nat = f.declare("meshplane_worker_nat_ports", MetricType::Gauge, {"worker"},
                               "NAT source ports this worker owns (each usable once per endpoint)");
  if (!s) return;
  for (const auto& w : s->workers()) {
    const std::string id = std::to_string(w.id());
    f.histogram(bursts, {id}, burst_histogram(w));
    f.sample(capacity, {id}, static_cast<double>(s->flow_capacity_per_worker()));
    f.sample(nat, {id}, in.nat_ports_per_worker);
  }
}

std::string endpoint_name(const v1::EndpointStats& e) {
  return e.port() ? fmt::format("{}:{}", e.address(), e.port()) : e.address();
}

void services(Families& f, const v1::GetStatsResponse* s, double tsc_hz) {
  counter_families(f, "service", dataplane::kServiceCounters, {"service"}, tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& svc : s->services()) emit({svc.name()}, svc.counters());
  });
  const size_t active = f.declare("meshplane_service_active_flows", MetricType::Gauge, {"service"},
                                  "open connections and UDP flows to the service's endpoints");
  const size_t drops = f.declare("meshplane_service_drops_total", MetricType::Counter, {"service", "reason"},
                                 "packets to the service dropped by the load balancer, by reason");
  counter_families(f, "endpoint", dataplane::kEndpointCounters, {"service", "endpoint"}, tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& svc : s->services())
        for (const auto& e : svc.endpoints()) emit({svc.name(), endpoint_name(e)}, e.counters());
  });
  const size_t weight = f.declare("meshplane_endpoint_weight", MetricType::Gauge, {"service", "endpoint"},
                                  "the endpoint's weight in its service (0: drained)");
  const size_t state = f.declare("meshplane_endpoint_state", MetricType::Gauge, {"service", "endpoint", "state"},
                                 "1 for the endpoint's state: active, drained, draining or gone");
  const size_t health = f.declare("meshplane_endpoint_health", MetricType::Gauge, {"service", "endpoint", "health"},
                                  "1 for the endpoint's health: healthy, unhealthy (checks) or ejected (outlier "
                                  "detection); services with either only");
  const size_t service_breaker = f.declare("meshplane_service_breaker_active", MetricType::Gauge, {"service"},
                                           "open connections its circuit breaker counts; services with one only");
  const size_t endpoint_breaker = f.declare("meshplane_endpoint_breaker_active", MetricType::Gauge,
                                            {"service", "endpoint"},
                                            "open connections its circuit breaker counts; services with one only");
  if (!s) return;
  for (const auto& svc : s->services()) {
    f.sample(active, {svc.name()}, static_cast<double>(value(svc.counters(), "active_flows")));
    for (const auto& [reason, n] : svc.drops()) f.sample(drops, {svc.name(), reason}, static_cast<double>(n));
    if (svc.has_breaker()) f.sample(service_breaker, {svc.name()}, svc.breaker().active());
    for (const auto& e : svc.endpoints()) {
      f.sample(weight, {svc.name(), endpoint_name(e)}, e.weight());
      f.sample(state, {svc.name(), endpoint_name(e), e.state()}, 1);
      if (!e.health().empty()) f.sample(health, {svc.name(), endpoint_name(e), e.health()}, 1);
      if (e.has_breaker()) f.sample(endpoint_breaker, {svc.name(), endpoint_name(e)}, e.breaker().active());
    }
  }
}

void sas(Families& f, const v1::GetStatsResponse* s, double tsc_hz) {
  counter_families(f, "sa", dataplane::kSaCounters, {"peer", "direction", "spi"}, tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& sa : s->sas()) emit({sa.peer(), sa.direction(), sa.spi()}, sa.counters());
  });
  const size_t sequence = f.declare("meshplane_sa_sequence", MetricType::Gauge, {"peer", "direction", "spi"},
                                    "outbound: the last sequence number sent; inbound: the highest accepted");
  if (!s) return;
  for (const auto& sa : s->sas())
    f.sample(sequence, {sa.peer(), sa.direction(), sa.spi()}, static_cast<double>(sa.sequence()));
}

void pattern_sets(Families& f, const v1::GetStatsResponse* s, double tsc_hz) {
  counter_families(f, "pattern_set", dataplane::kPatternSetCounters, {"set"}, tsc_hz, [&](auto emit) {
    if (s)
      for (const auto& set : s->pattern_sets()) emit({set.name()}, set.counters());
  });
  const size_t matches = f.declare("meshplane_pattern_matches_total", MetricType::Counter, {"set", "pattern", "action"},
                                   "matches of the pattern (block, alert or tag) in inspected connections");
  if (!s) return;
  for (const auto& set : s->pattern_sets())
    for (const auto& p : set.patterns())
      f.sample(matches, {set.name(), p.name(), p.action()}, static_cast<double>(p.matches()));
}

void ike(Families& f, const v1::GetStatsResponse* s) {
  const size_t up = f.declare("meshplane_ike_peer_up", MetricType::Gauge, {"peer"},
                              "1 while the peer keyed by IKE has an established IKE SA, else 0");
  const size_t children = f.declare("meshplane_ike_child_sas", MetricType::Gauge, {"peer"},
                                    "Child SAs of the peer (2 briefly during a rekey)");
  const size_t retransmits = f.declare("meshplane_ike_retransmissions_total", MetricType::Counter, {"peer"},
                                       "our requests sent again on the peer's current IKE SA");
  const size_t half_open = f.declare("meshplane_ike_half_open", MetricType::Gauge, {},
                                     "IKE SAs the responder answered and waits on (capped; past 256, cookies)");
  const size_t cookies = f.declare("meshplane_ike_cookies_sent_total", MetricType::Counter, {},
                                   "IKE_SA_INIT requests answered with a cookie instead of state");
  if (!s) return;
  for (const auto& p : s->ike()) {
    f.sample(up, {p.peer()}, p.state() == "established" ? 1 : 0);
    f.sample(children, {p.peer()}, p.child_sas_size());
    f.sample(retransmits, {p.peer()}, p.retransmissions());
  }
  if (s->ike_size()) {
    f.sample(half_open, {}, static_cast<double>(value(s->counters(), "ike_half_open")));
    f.sample(cookies, {}, static_cast<double>(value(s->counters(), "ike_cookies_sent")));
  }
}

void policy(Families& f, const MetricsInput& in) {
  const v1::GetStatsResponse* s = in.stats;
  const size_t hits = f.declare("meshplane_access_rule_hits_total", MetricType::Counter, {"rule"},
                                "packets the access rule decided (since it was added or last changed)");
  const size_t generation =
      f.declare("meshplane_policy_generation", MetricType::Gauge, {}, "generation of the running policy");
  const size_t apply = f.declare("meshplane_policy_apply_seconds", MetricType::Histogram, {},
                                 "time from a validated policy change to its snapshot running on every worker");
  const size_t start = f.declare("process_start_time_seconds", MetricType::Gauge, {},
                                 "Unix time the daemon started");
  if (!s) return;
  for (const auto& r : s->access_rules()) f.sample(hits, {r.name()}, static_cast<double>(r.hits()));
  f.sample(generation, {}, static_cast<double>(s->generation()));
  f.sample(start, {}, in.start_time_seconds);
  if (in.apply_seconds) {
    ClientMetric::Histogram h;
    const auto& bounds = DurationHistogram::kBounds;
    for (size_t b = 0; b < bounds.size(); ++b) h.bucket.push_back({in.apply_seconds->cumulative(b), bounds[b]});
    h.bucket.push_back({in.apply_seconds->count(), std::numeric_limits<double>::infinity()});
    h.sample_count = in.apply_seconds->count();
    h.sample_sum = in.apply_seconds->sum();
    f.histogram(apply, {}, std::move(h));
  }
}

std::vector<Families::Declared> build(const MetricsInput& in) {
  Families f;
  ports(f, in.stats, in.tsc_hz);
  drops(f, in.stats);
  workers(f, in);
  services(f, in.stats, in.tsc_hz);
  sas(f, in.stats, in.tsc_hz);
  ike(f, in.stats);
  pattern_sets(f, in.stats, in.tsc_hz);
  policy(f, in);
  return std::move(f.all());
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    default: return "untyped";
  }
}

}  // namespace

std::vector<MetricFamily> metric_families(const MetricsInput& in) {
  std::vector<MetricFamily> out;
  for (auto& d : build(in))
    if (!d.family.metric.empty()) out.push_back(std::move(d.family));
  return out;
}

std::vector<MetricInfo> metric_catalogue() {
  std::vector<MetricInfo> out;
  for (const auto& d : build(MetricsInput{})) {
    std::string labels;
    for (const auto& l : d.labels) labels += (labels.empty() ? "" : ", ") + l;
    out.push_back({d.family.name, type_name(d.family.type), labels, d.family.help});
  }
  return out;
}

std::string metrics_reference() {
  std::string out = "| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& m : metric_catalogue())
    out += fmt::format("| `{}` | {} | {} | {} |\n", m.name, m.type, m.labels, m.help);
  return out;
}

}  // namespace meshplane::ctrl
