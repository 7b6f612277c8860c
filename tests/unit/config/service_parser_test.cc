#include <gtest/gtest.h>

#include <string>

#include "config/address.h"
#include "config/parser.h"

namespace meshplane::config {
namespace {

const std::string kPorts = R"(ports:
  - name: a
    device: d0
    addresses: [10.0.1.1/24]
  - name: b
    device: d1
    addresses: [10.0.2.1/24]
)";

ParseResult load(const std::string& rest) { return load_policy_text(kPorts + rest, "lb.yaml"); }

// The error at line:column, with its message containing `text`.
::testing::AssertionResult has_error(const ParseResult& r, int line, int column, const std::string& text) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.mark.column == column && d.message.find(text) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error at " << line << ":" << column << " containing '" << text
                                       << "'; got:\n"
                                       << format(r.errors);
}

TEST(ServiceParser, BuildsServicesWithDefaults) {
  auto r = load(R"(load_balancer:
  flow_capacity: 4096
  timeouts: {udp: 7}
services:
  - name: web
    vip: 10.30.0.10
    ports:
      - {protocol: tcp, port: 80, target_port: 8080}
      - {protocol: udp, port: 53}
    subsets: [{name: v1, weight: 90}, {name: v2, weight: 10}]
    endpoints:
      - {address: 10.0.2.11, subset: v1}
      - {address: 10.0.2.12, port: 9000, weight: 3, subset: v2}
)");
  ASSERT_TRUE(r.ok()) << format(r.errors);
  EXPECT_EQ(r.policy.load_balancer.flow_capacity, 4096u);
  EXPECT_EQ(r.policy.load_balancer.timeouts.udp, 7u);
  EXPECT_EQ(r.policy.load_balancer.timeouts.tcp_established, 300u);
  ASSERT_EQ(r.policy.services.size(), 1u);
  const Service& s = r.policy.services[0];
  EXPECT_EQ(s.vip, *parse_ipv4("10.30.0.10"));
  EXPECT_EQ(s.mode, LbMode::kNat);
  EXPECT_EQ(s.unknown_port, UnknownPort::kDrop);
  EXPECT_EQ(s.table_size, 65537u);
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[0].target_port, 8080);
  EXPECT_EQ(s.ports[1].protocol, Protocol::kUdp);
  EXPECT_EQ(s.ports[1].target_port, 53);  // defaults to the port
  ASSERT_EQ(s.endpoints.size(), 2u);
  EXPECT_EQ(s.endpoints[0].weight, 1u);
  EXPECT_EQ(s.endpoints[0].port, 0);
  EXPECT_EQ(s.endpoints[1].port, 9000);
  EXPECT_EQ(s.endpoints[1].subset, "v2");
  EXPECT_EQ(s.subsets[1].weight, 10u);
}

TEST(ServiceParser, TypeErrorsHavePositions) {
  auto r = load(R"(services:
  - name: web
    vip: 10.30.0
    ports:
      - {protocol: sctp, port: 80}
    mode: dsr
    endpoints:
      - {address: 10.0.2.11, weight: -1}
)");
  EXPECT_TRUE(has_error(r, 10, 10, "not an IPv4 address"));
  EXPECT_TRUE(has_error(r, 12, 20, "'sctp' is not one of 'tcp', 'udp'"));
  EXPECT_TRUE(has_error(r, 13, 11, "'dsr' is not one of 'nat', 'direct_return'"));
  EXPECT_TRUE(has_error(r, 15, 38, "endpoint weight must be an integer"));
  EXPECT_EQ(r.errors.size(), 4u) << format(r.errors);
}

TEST(ServiceParser, CrossChecks) {
  auto r = load(R"(services:
  - name: web
    vip: 10.0.1.1
    table_size: 65536
    ports: [{port: 80}]
    subsets: [{name: v1, weight: 1}, {name: v2, weight: 1}]
    endpoints:
      - {address: 10.0.2.11, subset: v1}
      - {address: 10.0.2.11, subset: v3}
      - {address: 10.0.2.1, subset: v1}
      - {address: 10.0.2.12}
  - name: web
    vip: 10.30.0.1
    mode: direct_return
    ports: [{port: 443, target_port: 8443}]
    endpoints: [{address: 10.0.2.11, port: 9}]
  - name: other
    vip: 10.30.0.1
    ports: [{port: 443}]
)");
  EXPECT_TRUE(has_error(r, 10, 10, "vip 10.0.1.1 is this gateway's own address on port 'a'"));
  EXPECT_TRUE(has_error(r, 11, 17, "not a prime"));
  EXPECT_TRUE(has_error(r, 13, 38, "subset 'v2' has weight 1 but no endpoint"));
  EXPECT_TRUE(has_error(r, 16, 9, "listed twice"));
  EXPECT_TRUE(has_error(r, 16, 38, "unknown subset 'v3'"));
  EXPECT_TRUE(has_error(r, 17, 9, "endpoint 10.0.2.1 is this gateway's own address"));
  EXPECT_TRUE(has_error(r, 18, 9, "needs a subset"));
  EXPECT_TRUE(has_error(r, 19, 5, "duplicate service name 'web'"));
  EXPECT_TRUE(has_error(r, 22, 38, "direct_return cannot change the port"));
  EXPECT_TRUE(has_error(r, 23, 17, "direct_return cannot change the port"));
  EXPECT_TRUE(has_error(r, 26, 13, "10.30.0.1:443/tcp is already served by service 'web'"));
  EXPECT_EQ(r.errors.size(), 11u) << format(r.errors);
}

TEST(ServiceParser, NatAddresses) {
  auto r = load(R"(load_balancer:
  nat_addresses: [10.0.2.100, 10.0.2.1, 10.9.9.9, 10.0.2.100, 10.0.1.7]
services:
  - {name: s, vip: 10.0.1.7, ports: [{port: 80}]}
)");
  EXPECT_TRUE(has_error(r, 9, 31, "already an address of port 'b'"));
  EXPECT_TRUE(has_error(r, 9, 41, "on no port's subnet"));
  EXPECT_TRUE(has_error(r, 9, 51, "listed twice"));
  EXPECT_TRUE(has_error(r, 11, 20, "vip 10.0.1.7 is also a NAT address"));
  EXPECT_EQ(r.errors.size(), 4u) << format(r.errors);
}

TEST(ServiceParser, NatPortRangeAndTableSize) {
  auto r = load(R"(load_balancer:
  nat_port_min: 2000
  nat_port_max: 2100
services:
  - name: tiny
    vip: 10.30.0.1
    table_size: 7
    ports: [{port: 80}]
    endpoints: [{address: 10.0.2.2}, {address: 10.0.2.3}, {address: 10.0.2.4}, {address: 10.0.2.5},
                {address: 10.0.2.6}, {address: 10.0.2.7}, {address: 10.0.2.8}]
)");
  EXPECT_TRUE(has_error(r, 10, 17, "NAT port range 2000-2100 needs at least 256 ports"));
  EXPECT_TRUE(has_error(r, 14, 17, "table_size 7 must be larger"));
  EXPECT_EQ(r.errors.size(), 2u) << format(r.errors);
}

TEST(ServiceParser, CircuitBreakerAndOnUnhealthy) {
  auto r = load(R"(services:
  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 80}]
    endpoints: [{address: 10.0.2.11}]
    on_unhealthy: reset
    circuit_breaker:
      max_connections: 100
      per_endpoint: {max_connections: 10, max_connections_per_second: 5}
      overflow: refuse
)");
  ASSERT_TRUE(r.ok()) << format(r.errors);
  const Service& s = r.policy.services[0];
  EXPECT_TRUE(s.reset_unhealthy);
  ASSERT_TRUE(s.circuit_breaker);
  EXPECT_EQ(s.circuit_breaker->service.max_connections, 100u);
  EXPECT_EQ(s.circuit_breaker->service.max_connections_per_second, 0u);
  EXPECT_EQ(s.circuit_breaker->endpoint.max_connections, 10u);
  EXPECT_EQ(s.circuit_breaker->endpoint.max_connections_per_second, 5u);
  EXPECT_TRUE(s.circuit_breaker->refuse_overflow);

  auto bad = load(R"(services:
  - name: web
    vip: 10.30.0.10
    ports: [{protocol: tcp, port: 80}]
    on_unhealthy: drop
    circuit_breaker: {overflow: elsewhere, per_endpoint: {max_conections: 3}}
)");
  EXPECT_TRUE(has_error(bad, 12, 19, "on_unhealthy")) << format(bad.errors);
  EXPECT_TRUE(has_error(bad, 13, 33, "elsewhere")) << format(bad.errors);
  EXPECT_TRUE(has_error(bad, 13, 59, "max_conections")) << format(bad.errors);
  EXPECT_TRUE(has_error(bad, 13, 22, "circuit_breaker sets no limit")) << format(bad.errors);
}

}  // namespace
}  // namespace meshplane::config
