#include "config/service_parser.h"

#include <fmt/format.h>

#include "config/access_parser.h"
#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {

void parse_rate_limit(const YamlNode& n, Diagnostics& d, RateLimit& r) {
  Fields f(n, "rate_limit", d, {"connections_per_second", "packets_per_second", "per_source", "action"});
  if (!f.is_map()) return;
  r.mark = f.mark();
  constexpr uint64_t kMax = 100'000'000;
  if (auto v = f.get("connections_per_second"); v.defined())
    read_uint_as(v, "rate_limit.connections_per_second", d, 1, kMax, r.connections_per_second);
  if (auto v = f.get("packets_per_second"); v.defined())
    read_uint_as(v, "rate_limit.packets_per_second", d, 1, kMax, r.packets_per_second);
  if (auto v = f.get("per_source"); v.defined()) {
    Fields s(v, "rate_limit.per_source", d, {"prefix_length", "connections_per_second"});
    if (auto x = s.get("prefix_length"); x.defined())
      read_uint_as(x, "per_source.prefix_length", d, 8, 32, r.source_prefix_length);
    if (auto x = s.require("connections_per_second"); x.defined())
      read_uint_as(x, "per_source.connections_per_second", d, 1, kMax, r.source_connections_per_second);
  }
  if (auto v = f.get("action"); v.defined()) {
    const int c = read_choice(v, "rate_limit action", d, {"drop", "reject"});
    if (c >= 0) r.reject = c == 1;
  }
}

void read_breaker_limits(const Fields& f, std::string_view what, Diagnostics& d, BreakerLimits& l) {
  if (auto v = f.get("max_connections"); v.defined())
    read_uint_as(v, fmt::format("{} max_connections", what), d, 1, 100'000'000, l.max_connections);
  if (auto v = f.get("max_connections_per_second"); v.defined())
    read_uint_as(v, fmt::format("{} max_connections_per_second", what), d, 1, 100'000'000,
                 l.max_connections_per_second);
}

void parse_circuit_breaker(const YamlNode& n, Diagnostics& d, CircuitBreaker& b) {
  Fields f(n, "circuit_breaker", d, {"max_connections", "max_connections_per_second", "per_endpoint", "overflow"});
  if (!f.is_map()) return;
  b.mark = f.mark();
  read_breaker_limits(f, "circuit_breaker", d, b.service);
  if (auto v = f.get("per_endpoint"); v.defined())
    read_breaker_limits(Fields(v, "circuit_breaker.per_endpoint", d, {"max_connections", "max_connections_per_second"}),
                        "circuit_breaker.per_endpoint", d, b.endpoint);
  if (auto v = f.get("overflow"); v.defined()) {
    const int c = read_choice(v, "circuit_breaker overflow", d, {"next", "refuse"});
    if (c >= 0) b.refuse_overflow = c == 1;
  }
  if (!b.service.any() && !b.endpoint.any()) d.error(b.mark, "circuit_breaker sets no limit");
}

// 0.0.0.0 is never a valid VIP or endpoint: reject it here, so 0 can mean
// "did not parse" and later checks stay quiet about it.
void read_nonzero_ipv4(const YamlNode& n, std::string_view what, Diagnostics& d, uint32_t& out) {
  if (read_ipv4(n, what, d, out) && out == 0) d.error(n.mark(), fmt::format("{} 0.0.0.0 is not usable", what));
}

void parse_timeouts(const YamlNode& n, Diagnostics& d, FlowTimeoutSettings& t) {
  Fields f(n, "load_balancer.timeouts", d, {"tcp_syn", "tcp_established", "tcp_closing", "tcp_reset", "udp"});
  struct Item {
    const char* key;
    uint32_t* value;
  };
  for (auto [key, value] : {Item{"tcp_syn", &t.tcp_syn}, Item{"tcp_established", &t.tcp_established},
                            Item{"tcp_closing", &t.tcp_closing}, Item{"tcp_reset", &t.tcp_reset},
                            Item{"udp", &t.udp}})
    if (auto v = f.get(key); v.defined())
      read_uint_as(v, fmt::format("load_balancer.timeouts.{}", key), d, 1, 86'400, *value);
}

void parse_service_port(const YamlNode& n, Diagnostics& d, Service& s) {
  Fields f(n, "a service port", d, {"protocol", "port", "target_port"});
  if (!f.is_map()) return;
  ServicePort p;
  p.mark = f.mark();
  if (auto v = f.get("protocol"); v.defined()) {
    const int c = read_choice(v, "service port protocol", d, {"tcp", "udp"});
    if (c >= 0) p.protocol = c == 0 ? Protocol::kTcp : Protocol::kUdp;
  }
  if (auto v = f.require("port"); v.defined()) read_uint_as(v, "service port", d, 1, 65535, p.port);
  p.target_port = p.port;
  p.target_mark = p.mark;
  if (auto v = f.get("target_port"); v.defined()) {
    read_uint_as(v, "service target_port", d, 1, 65535, p.target_port);
    p.target_mark = v.mark();
  }
  s.ports.push_back(p);
}

void parse_endpoint(const YamlNode& n, Diagnostics& d, Service& s) {
  Fields f(n, "an endpoint", d, {"address", "port", "weight", "subset"});
  if (!f.is_map()) return;
  Endpoint e;
  e.mark = f.mark();
  if (auto v = f.require("address"); v.defined()) read_nonzero_ipv4(v, "endpoint address", d, e.address);
  if (auto v = f.get("port"); v.defined()) read_uint_as(v, "endpoint port", d, 1, 65535, e.port);
  if (auto v = f.get("weight"); v.defined()) read_uint_as(v, "endpoint weight", d, 0, 10'000, e.weight);
  if (auto v = f.get("subset"); v.defined()) {
    read_string(v, "endpoint subset", d, e.subset);
    e.subset_mark = v.mark();
  }
  s.endpoints.push_back(std::move(e));
}

void parse_subset(const YamlNode& n, Diagnostics& d, Service& s) {
  Fields f(n, "a subset", d, {"name", "weight"});
  if (!f.is_map()) return;
  Subset sub;
  sub.mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "subset name", d, sub.name);
  if (auto v = f.require("weight"); v.defined()) read_uint_as(v, "subset weight", d, 0, 10'000, sub.weight);
  s.subsets.push_back(std::move(sub));
}

void parse_health_check(const YamlNode& n, Diagnostics& d, HealthCheck& h) {
  Fields f(n, "health_check", d,
           {"type", "port", "path", "sni", "command", "expect_status", "interval_ms", "timeout_ms", "jitter_ms",
            "healthy_threshold", "unhealthy_threshold"});
  h.mark = f.mark();
  if (auto v = f.get("type"); v.defined()) {
    const int c = read_choice(v, "health_check type", d, {"tcp", "http", "https", "command"});
    if (c >= 0) h.type = static_cast<HealthCheck::Type>(c);
  }
  const bool command = h.type == HealthCheck::Type::kCommand;
  if (auto v = f.get("command"); v.defined()) {
    std::vector<YamlNode> items;
    if (!command) {
      d.error(v.mark(), "health_check command needs type: command");
    } else if (read_list(v, "health_check command", d, items) && items.empty()) {
      d.error(v.mark(), "health_check command needs the program to run");
    } else {
      for (const auto& item : items)
        if (std::string arg; read_string(item, "health_check command argument", d, arg)) h.command.push_back(arg);
      if (!h.command.empty() && h.command[0].front() != '/')
        d.error(v.mark(), fmt::format("health_check command '{}' must be an absolute path", h.command[0]));
    }
  } else if (command) {
    d.error(h.mark, "health_check type command needs command: [program, arguments...]");
  }
  for (const char* key : {"path", "expect_status"})
    if (auto v = f.get(key); v.defined() && !h.web())
      d.error(v.mark(), fmt::format("health_check {} needs type http or https", key));
  if (auto v = f.get("sni"); v.defined()) {
    if (h.type != HealthCheck::Type::kHttps)
      d.error(v.mark(), "health_check sni needs type https");
    else
      read_string(v, "health_check sni", d, h.sni);
  }
  if (auto v = f.get("port"); v.defined() && command) d.error(v.mark(), "health_check port: a command check connects nowhere itself");
  if (auto v = f.get("port"); v.defined()) read_uint_as(v, "health_check port", d, 1, 65535, h.port);
  if (auto v = f.get("path"); v.defined() && read_string(v, "health_check path", d, h.path) &&
                              (h.path.empty() || h.path.front() != '/' ||
                               h.path.find_first_of(" \r\n") != std::string::npos))
    d.error(v.mark(), fmt::format("health_check path '{}' must start with / and hold no spaces", h.path));
  if (auto v = f.get("expect_status"); v.defined()) {
    PortRange r;  // the same "200-399" syntax
    if (read_port_range(v, "health_check expect_status", d, r)) {
      if (r.first < 100 || r.last > 599) d.error(v.mark(), "health_check expect_status must lie within 100-599");
      h.status_min = r.first;
      h.status_max = r.last;
    }
  }
  if (auto v = f.get("interval_ms"); v.defined()) read_uint_as(v, "health_check interval_ms", d, 100, 3'600'000, h.interval_ms);
  if (auto v = f.get("timeout_ms"); v.defined()) read_uint_as(v, "health_check timeout_ms", d, 10, 600'000, h.timeout_ms);
  if (auto v = f.get("jitter_ms"); v.defined()) read_uint_as(v, "health_check jitter_ms", d, 0, 3'600'000, h.jitter_ms);
  if (auto v = f.get("healthy_threshold"); v.defined())
    read_uint_as(v, "health_check healthy_threshold", d, 1, 100, h.healthy_threshold);
  if (auto v = f.get("unhealthy_threshold"); v.defined())
    read_uint_as(v, "health_check unhealthy_threshold", d, 1, 100, h.unhealthy_threshold);
  if (h.timeout_ms >= h.interval_ms)
    d.error(h.mark, fmt::format("health_check timeout_ms ({}) must be shorter than interval_ms ({})", h.timeout_ms,
                                h.interval_ms));
}

void parse_service(const YamlNode& n, Diagnostics& d, std::vector<Service>& services) {
  Fields f(n, "a service", d,
           {"name", "vip", "ports", "endpoints", "subsets", "mode", "unknown_port", "table_size", "drain_seconds",
            "rate_limit", "inspect", "health_check", "panic_threshold", "outlier_detection", "circuit_breaker",
            "on_unhealthy"});
  if (!f.is_map()) return;
  Service s;
  s.mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "service name", d, s.name);
  if (auto v = f.require("vip"); v.defined()) {
    read_nonzero_ipv4(v, "service vip", d, s.vip);
    s.vip_mark = v.mark();
  }
  std::vector<YamlNode> items;
  if (auto v = f.require("ports"); v.defined() && read_list(v, "service ports", d, items) && items.empty())
    d.error(v.mark(), fmt::format("service '{}' needs at least one port", s.name));
  for (const auto& p : items) parse_service_port(p, d, s);
  items.clear();
  if (read_list(f.get("endpoints"), "service endpoints", d, items))
    for (const auto& e : items) parse_endpoint(e, d, s);
  items.clear();
  if (read_list(f.get("subsets"), "service subsets", d, items))
    for (const auto& e : items) parse_subset(e, d, s);
  if (auto v = f.get("mode"); v.defined()) {
    const int c = read_choice(v, "service mode", d, {"nat", "direct_return"});
    if (c >= 0) s.mode = c == 0 ? LbMode::kNat : LbMode::kDirectReturn;
  }
  if (auto v = f.get("unknown_port"); v.defined()) {
    const int c = read_choice(v, "service unknown_port", d, {"drop", "reject"});
    if (c >= 0) s.unknown_port = c == 0 ? UnknownPort::kDrop : UnknownPort::kReject;
  }
  s.table_size_mark = s.mark;
  if (auto v = f.get("table_size"); v.defined()) {
    read_uint_as(v, "service table_size", d, 7, 16'777'213, s.table_size);
    s.table_size_mark = v.mark();
  }
  if (auto v = f.get("drain_seconds"); v.defined())
    read_uint_as(v, "service drain_seconds", d, 0, 86'400, s.drain_seconds);
  if (auto v = f.get("rate_limit"); v.defined()) parse_rate_limit(v, d, s.rate_limit);
  if (auto v = f.get("inspect"); v.defined()) {
    read_string(v, "service inspect", d, s.inspect);
    s.inspect_mark = v.mark();
  }
  if (auto v = f.get("health_check"); v.defined()) parse_health_check(v, d, s.health_check.emplace());
  if (auto v = f.get("outlier_detection"); v.defined()) {
    OutlierDetection& o = s.outlier_detection.emplace();
    Fields od(v, "outlier_detection", d, {"consecutive_failures", "base_ejection_ms", "max_ejection_percent"});
    o.mark = od.mark();
    if (auto x = od.get("consecutive_failures"); x.defined())
      read_uint_as(x, "outlier_detection consecutive_failures", d, 1, 1000, o.consecutive_failures);
    if (auto x = od.get("base_ejection_ms"); x.defined())
      read_uint_as(x, "outlier_detection base_ejection_ms", d, 100, 3'600'000, o.base_ejection_ms);
    if (auto x = od.get("max_ejection_percent"); x.defined())
      read_uint_as(x, "outlier_detection max_ejection_percent", d, 1, 100, o.max_ejection_percent);
  }
  if (auto v = f.get("panic_threshold"); v.defined())
    read_uint_as(v, "service panic_threshold", d, 0, 100, s.panic_threshold);
  if (auto v = f.get("circuit_breaker"); v.defined()) parse_circuit_breaker(v, d, s.circuit_breaker.emplace());
  if (auto v = f.get("on_unhealthy"); v.defined()) {
    const int c = read_choice(v, "service on_unhealthy", d, {"keep", "reset"});
    if (c >= 0) s.reset_unhealthy = c == 1;
  }
  services.push_back(std::move(s));
}

}  // namespace

void parse_load_balancer(const YamlNode& n, Diagnostics& d, LoadBalancerSettings& lb) {
  Fields f(n, "load_balancer", d,
           {"flow_capacity", "nat_port_min", "nat_port_max", "nat_addresses", "max_services", "max_endpoints",
            "rate_limit_sources",
            "timeouts"});
  if (auto v = f.get("flow_capacity"); v.defined())
    read_uint_as(v, "load_balancer.flow_capacity", d, 1024, 1u << 28, lb.flow_capacity);
  lb.nat_ports_mark = f.mark();
  if (auto v = f.get("nat_port_min"); v.defined()) {
    read_uint_as(v, "load_balancer.nat_port_min", d, 1, 65535, lb.nat_port_min);
    lb.nat_ports_mark = v.mark();
  }
  if (auto v = f.get("nat_port_max"); v.defined()) {
    read_uint_as(v, "load_balancer.nat_port_max", d, 1, 65535, lb.nat_port_max);
    lb.nat_ports_mark = v.mark();
  }
  if (auto v = f.get("max_services"); v.defined())
    read_uint_as(v, "load_balancer.max_services", d, 1, 1u << 20, lb.max_services);
  if (auto v = f.get("max_endpoints"); v.defined())
    read_uint_as(v, "load_balancer.max_endpoints", d, 1, 1u << 22, lb.max_endpoints);
  if (auto v = f.get("rate_limit_sources"); v.defined() &&
                                            read_uint_as(v, "load_balancer.rate_limit_sources", d, 64, 1u << 24,
                                                         lb.rate_limit_sources) &&
                                            (lb.rate_limit_sources & (lb.rate_limit_sources - 1)) != 0)
    d.error(v.mark(), fmt::format("load_balancer.rate_limit_sources must be a power of two, found {}",
                                  lb.rate_limit_sources));
  if (auto v = f.get("timeouts"); v.defined()) parse_timeouts(v, d, lb.timeouts);
  std::vector<YamlNode> items;
  if (read_list(f.get("nat_addresses"), "load_balancer.nat_addresses", d, items))
    for (const auto& a : items) {
      uint32_t address = 0;
      if (!read_ipv4(a, "NAT address", d, address)) continue;
      lb.nat_addresses.push_back(address);
      lb.nat_address_marks.push_back(a.mark());
    }
}

void parse_services(const YamlNode& n, Diagnostics& d, std::vector<Service>& services) {
  std::vector<YamlNode> items;
  if (read_list(n, "services", d, items))
    for (const auto& s : items) parse_service(s, d, services);
}

}  // namespace meshplane::config
