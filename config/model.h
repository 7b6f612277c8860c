// The policy document as an operator writes it: plain types, no YAML, no DPDK.
// Runtime structures (what a worker reads) live in dataplane/ and are compiled
// from this by ctrl/snapshot_compiler.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/limits.h"

namespace meshplane::config {

// Where a value came from in its file; 1-based like compiler diagnostics.
// A position says where a value was written, not what it is: values that
// differ only in their positions compare equal (a service moved down the
// file by an edit above it is the same service).
struct Mark {
  int line = 0;
  int column = 0;
  friend bool operator==(const Mark&, const Mark&) { return true; }
};

using MacAddress = std::array<uint8_t, 6>;

// IPv4 values are kept in host byte order on the control side.
struct Ipv4Prefix {
  uint32_t address = 0;
  uint8_t length = 32;
};

struct Port {
  std::string name;
  std::string device;  // PCI address or vdev string, e.g. "net_af_packet0,iface=dp0"
  std::optional<MacAddress> mac;  // default: the device's own
  std::vector<Ipv4Prefix> addresses;  // interface addresses, e.g. 10.0.1.1/24
  uint16_t mtu = 1500;
  Mark mark;
  Mark device_mark;
  std::vector<Mark> address_marks;
};

struct Route {
  Ipv4Prefix prefix;
  uint32_t via = 0;  // next hop; must sit on a connected subnet
  std::string port;  // optional: pin the next hop to this port
  Mark mark;
  Mark prefix_mark;
  Mark via_mark;
  Mark port_mark;
};

struct StaticNeighbour {
  uint32_t address = 0;
  MacAddress mac{};
  std::string port;
  Mark mark;
  Mark port_mark;
};

struct IcmpSettings {
  uint32_t errors_per_second = 1000;  // per worker, as Linux's icmp_msgs_per_sec
  uint32_t errors_burst = 50;
};

struct NeighbourSettings {
  uint32_t capacity = 4096;
  uint32_t reachable_seconds = 30;  // Linux base_reachable_time
  uint32_t probes = 3;              // ARP requests before an entry is declared failed
  uint32_t queue_per_neighbour = 3; // packets held while resolving (Linux unres_qlen)
};

struct DataplaneSettings {
  uint32_t mbufs = 8191;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t punt_ring_size = 1024;
};

// Load balancing (docs/config.md, "services").
enum class Protocol : uint8_t { kTcp = 6, kUdp = 17 };
enum class LbMode : uint8_t {
  kNat,           // full NAT: the gateway's address to the endpoint, replies come back through it
  kDirectReturn,  // IP-in-IP (RFC 2003) to the endpoint, which answers the client directly
};
enum class UnknownPort : uint8_t {
  kDrop,    // silently, counted
  kReject,  // TCP RST / ICMP port unreachable, counted
};

struct ServicePort {
  Protocol protocol = Protocol::kTcp;
  uint16_t port = 0;
  uint16_t target_port = 0;  // default: port
  Mark mark;
  Mark target_mark;
  bool operator==(const ServicePort&) const = default;
};

struct Subset {
  std::string name;
  uint32_t weight = 1;
  Mark mark;
  bool operator==(const Subset&) const = default;
};

struct Endpoint {
  uint32_t address = 0;  // 0 only when it failed to parse (already reported)
  uint16_t port = 0;  // 0: each service port's target_port
  uint32_t weight = 1;
  std::string subset;
  Mark mark;
  Mark subset_mark;
  bool operator==(const Endpoint&) const = default;
};

struct Service {
  std::string name;
  uint32_t vip = 0;  // 0 only when it failed to parse (already reported)
  std::vector<ServicePort> ports;
  std::vector<Endpoint> endpoints;
  std::vector<Subset> subsets;  // empty: one implicit subset of every endpoint
  LbMode mode = LbMode::kNat;
  UnknownPort unknown_port = UnknownPort::kDrop;
  uint32_t table_size = kDefaultMaglevTableSize;  // Maglev lookup table size, a prime
  uint32_t drain_seconds = 30;    // a removed endpoint keeps its flows this long
  Mark mark;
  Mark vip_mark;
  Mark table_size_mark;
  bool operator==(const Service&) const = default;
};

struct FlowTimeoutSettings {  // seconds
  uint32_t tcp_syn = FlowTimeoutDefaults::kTcpSyn;
  uint32_t tcp_established = FlowTimeoutDefaults::kTcpEstablished;
  uint32_t tcp_closing = FlowTimeoutDefaults::kTcpClosing;
  uint32_t tcp_reset = FlowTimeoutDefaults::kTcpReset;
  uint32_t udp = FlowTimeoutDefaults::kUdp;
};

struct LoadBalancerSettings {
  uint32_t flow_capacity = 1u << 20;  // tracked flows per worker
  uint16_t nat_port_min = 1024;       // NAT source ports, split between workers
  uint16_t nat_port_max = 65535;
  uint32_t max_services = 16384;      // counter slots, fixed while running
  uint32_t max_endpoints = 131072;
  // Extra NAT source addresses, each on a port's subnet (the gateway answers
  // ARP for them). Without any on a port, NAT uses the port's first address.
  // Concurrent flows to one endpoint port: NAT addresses x NAT ports.
  std::vector<uint32_t> nat_addresses;
  std::vector<Mark> nat_address_marks;
  FlowTimeoutSettings timeouts;
  Mark nat_ports_mark;
};

struct ApiSettings {
  std::string socket;  // empty: --socket, else RUN_DIR/meshplane.sock
};

struct Policy {
  std::string source;  // file name for diagnostics
  std::string node;
  std::vector<Port> ports;
  std::vector<Route> routes;
  std::vector<StaticNeighbour> neighbours;
  IcmpSettings icmp;
  NeighbourSettings neighbour_table;
  DataplaneSettings dataplane;
  LoadBalancerSettings load_balancer;
  std::vector<Service> services;
  ApiSettings api;
};

}  // namespace meshplane::config
