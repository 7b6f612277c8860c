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
  bool operator==(const Ipv4Prefix&) const = default;
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
  // Taken out by health checks or outlier detection, with its service's
  // on_unhealthy: reset (never parsed: PolicyManager's overlay sets it, and
  // its weight 0, in the policy it compiles).
  bool reset = false;
  Mark mark;
  Mark subset_mark;
  bool operator==(const Endpoint&) const = default;
};

// Token buckets on a service (docs/config.md, "rate limits"), shared by all
// workers: each allows its rate on average and bursts of a tenth of a
// second's worth (at least 1).
struct RateLimit {
  uint32_t connections_per_second = 0;  // new connections to the service, all clients; 0: no limit
  uint32_t packets_per_second = 0;      // packets from clients to the service
  uint32_t source_connections_per_second = 0;  // new connections per source prefix
  uint8_t source_prefix_length = 32;
  bool reject = false;  // over the limit: TCP RST / ICMP prohibited instead of a silent drop
  Mark mark;
  bool operator==(const RateLimit&) const = default;
  bool any() const { return connections_per_second || packets_per_second || source_connections_per_second; }
};

// Active health checks of a service's endpoints (docs/config.md, "health
// checks"), run from the host's exception path namespace.
struct HealthCheck {
  enum class Type : uint8_t { kTcp, kHttp, kHttps, kCommand };
  Type type = Type::kTcp;    // a TCP connect, an HTTP(S) GET, or a program's exit status
  uint16_t port = 0;         // 0: each endpoint's port for the service's first port
  std::string path = "/";    // http, https
  std::string sni;           // https: the server name sent; empty: none
  std::vector<std::string> command;  // command: the program and its arguments
  uint16_t status_min = 200, status_max = 399;  // http, https: an answer in this range is healthy
  bool web() const { return type == Type::kHttp || type == Type::kHttps; }
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;
  uint32_t jitter_ms = 0;    // each interval is longer by up to this much, at random
  uint32_t healthy_threshold = 2;    // consecutive successes that make an unhealthy endpoint healthy
  uint32_t unhealthy_threshold = 3;  // consecutive failures that make a healthy endpoint unhealthy
  Mark mark;
  bool operator==(const HealthCheck&) const = default;
};

// Passive outlier detection (docs/config.md, "outlier detection"): the
// workers count each endpoint's failed and answered connection attempts.
struct OutlierDetection {
  uint32_t consecutive_failures = 5;  // failed attempts in a row (RST to a SYN, no answer) that eject
  uint32_t base_ejection_ms = 30000;  // the first ejection's length; each further one of the endpoint's is longer by it
  uint32_t max_ejection_percent = 10; // at most this share of the service's endpoints out at once (at least one)
  Mark mark;
  bool operator==(const OutlierDetection&) const = default;
};

// Circuit breaking (docs/config.md, "circuit breaking"): caps on what a
// service, and each of its endpoints, receive; 0: no cap.
struct BreakerLimits {
  uint32_t max_connections = 0;             // open connections (and UDP flows) at once
  uint32_t max_connections_per_second = 0;  // new ones
  bool any() const { return max_connections || max_connections_per_second; }
  bool operator==(const BreakerLimits&) const = default;
};

struct CircuitBreaker {
  BreakerLimits service;   // the service's endpoints together: beyond them, refused
  BreakerLimits endpoint;  // each endpoint
  bool refuse_overflow = false;  // an endpoint at its limits: false: another endpoint under its limits; true: refused
  Mark mark;
  bool operator==(const CircuitBreaker&) const = default;
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
  RateLimit rate_limit;
  std::string inspect;  // a pattern set every connection to it is inspected with; empty: none
  std::optional<HealthCheck> health_check;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<CircuitBreaker> circuit_breaker;
  bool reset_unhealthy = false;  // connections of an endpoint taken out (checks, ejection) are reset, not kept
  uint32_t panic_threshold = 50;  // percent: with fewer endpoints healthy, balance over all of them (Envoy's panic)
  Mark mark;
  Mark vip_mark;
  Mark table_size_mark;
  Mark inspect_mark;
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
  // Per-source rate-limit buckets shared by all services, a power of two,
  // fixed while running: a flood from spoofed sources cannot grow it.
  uint32_t rate_limit_sources = 65536;
  // Extra NAT source addresses, each on a port's subnet (the gateway answers
  // ARP for them). Without any on a port, NAT uses the port's first address.
  // Concurrent flows to one endpoint port: NAT addresses x NAT ports.
  std::vector<uint32_t> nat_addresses;
  std::vector<Mark> nat_address_marks;
  FlowTimeoutSettings timeouts;
  Mark nat_ports_mark;
};

// Encryption between gateways (docs/config.md, "peers").

// Keying material: an RFC 4106 key followed by its 4-byte salt. Never
// printed, logged or emitted; wiped when freed.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret& o) {
    if (this != &o) {
      wipe();
      bytes_ = o.bytes_;
    }
    return *this;
  }
  ~Secret() { wipe(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  void wipe() {
    for (auto& b : bytes_) *static_cast<volatile uint8_t*>(&b) = 0;
  }
  std::vector<uint8_t> bytes_;
};

enum class SaDirection : uint8_t { kInbound, kOutbound };
enum class EspAlgorithm : uint8_t { kAesGcm128, kAesGcm256 };  // RFC 4106, 16-byte ICV
enum class Encapsulation : uint8_t {
  kEsp,  // IP protocol 50
  kUdp,  // UDP port 4500 (RFC 3948): through NAT, and what many peers speak
};

// When an SA should be replaced (soft: an event says so) and when it stops
// (hard: no more packets, in or out). 0: no limit.
struct SaLifetime {
  uint64_t seconds = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  bool operator==(const SaLifetime&) const = default;
  bool any() const { return seconds || bytes || packets; }
};

// A manually keyed security association.
struct SecurityAssociation {
  SaDirection direction = SaDirection::kInbound;
  uint32_t spi = 0;
  EspAlgorithm algorithm = EspAlgorithm::kAesGcm128;
  Secret key;            // from `key` or read from `key_file`
  std::string key_file;  // where it came from, if a file
  bool esn = false;      // extended sequence numbers (RFC 4304)
  uint32_t replay_window = 1024;  // inbound; 0: no replay protection
  SaLifetime soft, hard;
  // Installed by IKE: a fresh random key that no restart brings back, so its
  // sequence numbers need no reservation on disk.
  bool negotiated = false;
  Mark mark;
  Mark lifetime_mark;
  Mark spi_mark;
  Mark key_mark;
  bool operator==(const SecurityAssociation&) const = default;
};

// A peer keyed by IKEv2 (docs/config.md "ike"): its SAs are negotiated,
// not listed; its certificate must carry the peer's `identity`.
struct PeerIke {
  bool initiate = true;  // start the IKE SA ourselves (at start, and again after the peer was lost)
  Mark mark;
  bool operator==(const PeerIke&) const = default;
};

// A remote gateway and the prefixes behind it. Traffic routed to those
// prefixes is encrypted to it; traffic from it must come from them.
struct Peer {
  std::string name;
  uint32_t address = 0;        // the remote gateway (outer destination)
  uint32_t local_address = 0;  // ours (outer source): one of the ports' addresses
  std::vector<Ipv4Prefix> prefixes;
  Encapsulation encapsulation = Encapsulation::kEsp;
  uint16_t tcp_mss = 0;  // clamp the MSS of SYNs entering the tunnel to this; 0: no clamping
  // ESP in UDP goes to this port of the peer: 4500, or, when IKE found the
  // peer behind a NAT, the port that NAT maps (set by IKE, never by the file).
  uint16_t udp_port = 4500;
  // Who the remote gateway is (a SPIFFE URI, DNS name...): believed for every
  // packet that arrives over its SAs. Manual keying: as configured; IKE: as
  // its certificate proves.
  std::string identity;
  std::vector<SecurityAssociation> sas;  // manual keying; with `ike` IKE adds and removes them
  std::optional<PeerIke> ike;            // set: keyed by IKEv2
  Mark mark;
  Mark address_mark;
  Mark local_mark;
  std::vector<Mark> prefix_marks;
  bool operator==(const Peer&) const = default;
};

// IKEv2 keying (docs/config.md "ike"): who this gateway is and whom it
// trusts, and how often SAs are renewed and peers checked.
struct IkeSettings {
  std::string certificate;  // PEM: this gateway's certificate (intermediates may follow)
  std::string key;          // PEM: its private key, readable by its owner only
  std::string ca;           // PEM: the CA bundle peers' certificates must chain to
  std::string id;           // this gateway's identity, a name in its certificate; empty: the certificate's first
  uint32_t child_rekey_seconds = 3600;  // a Child SA is replaced after this long (less up to 10%: jitter)
  uint32_t ike_rekey_seconds = 14400;   // the IKE SA likewise
  uint32_t liveness_seconds = 30;       // a peer silent this long is asked whether it is alive
  uint32_t retransmits = 5;             // requests sent again (0.5 s, doubling) before a peer counts as dead
  Mark mark, certificate_mark, key_mark, ca_mark;
  bool operator==(const IkeSettings&) const = default;
};

struct IpsecSettings {
  uint32_t max_sas = 1024;  // SA slots (sequence numbers, replay windows, counters), fixed while running
  // Where outbound sequence numbers are reserved, so that a restart with the
  // same manual keys never sends a number (a GCM nonce) twice.
  std::string sequence_file = "/var/lib/meshplane/esp-sequence";
};

// Access rules (docs/config.md, "access"): stateless, on every packet after
// decryption and before load balancing, first match decides. Lists in one
// rule mean any of them; a rule's fields must all match.
enum class AccessAction : uint8_t {
  kAllow,
  kDeny,    // dropped silently, counted
  kReject,  // TCP RST, else ICMP "communication administratively prohibited"; counted
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;
  bool operator==(const PortRange&) const = default;
  bool any() const { return first == 0 && last == 65535; }
};

struct AccessRule {
  std::string name;  // default: "rule-N", N its 1-based place
  AccessAction action = AccessAction::kAllow;
  std::optional<uint8_t> protocol;  // IP protocol number; none: any
  std::vector<Ipv4Prefix> sources, destinations;  // empty: any
  std::vector<PortRange> source_ports, destination_ports;  // TCP and UDP only; empty: any
  std::optional<uint8_t> icmp_type;  // ICMP only
  std::string ingress;  // a port's name; empty: any
  bool log = false;     // an event per matching packet, rate limited
  Mark mark;
  Mark ingress_mark;
  bool operator==(const AccessRule&) const = default;
};

struct AccessPolicy {
  AccessAction default_action = AccessAction::kAllow;
  std::vector<AccessRule> rules;
  uint32_t log_per_second = 100;  // events from rules with `log`, per worker; the rest are counted
  bool operator==(const AccessPolicy&) const = default;
  bool empty() const { return rules.empty() && default_action == AccessAction::kAllow; }
};

// Authorization (docs/config.md, "authorization"): per service, decided when
// a connection starts, from who the client is.

// A workload identity mapped to source prefixes; with `peer`, believed only
// for packets that arrived over that peer's SAs (the peer speaks for it).
struct Identity {
  std::string name;
  std::vector<Ipv4Prefix> prefixes;
  std::string peer;
  Mark mark;
  Mark peer_mark;
  std::vector<Mark> prefix_marks;
  bool operator==(const Identity&) const = default;
};

enum class AuthzAction : uint8_t {
  kAllow,
  kDeny,
  kAudit,  // decides nothing; a matching connection is reported
};

struct AuthzRule {
  std::string name;  // default: "rule-N"
  AuthzAction action = AuthzAction::kAllow;
  // from: every list given must match (any of its items); none given: any source.
  std::vector<std::string> identities;
  std::vector<Ipv4Prefix> prefixes;
  // to: the service's ports and protocols as clients address them; empty: any.
  std::vector<PortRange> ports;
  std::vector<Protocol> protocols;
  std::string inspect;  // allow rules: the pattern set connections it admits are inspected with
  Mark mark;
  std::vector<Mark> identity_marks;
  Mark inspect_mark;
  bool operator==(const AuthzRule&) const = default;
};

// For a service (connections to its VIP) or for destinations (routed
// connections to prefixes the gateway forwards to): exactly one is given.
struct Authorization {
  std::string service;
  std::string name;                       // destinations: what events, counters and explain call it
  std::vector<Ipv4Prefix> destinations;   // routed connections to these prefixes; longest prefix decides
  AuthzAction default_action = AuthzAction::kAllow;  // kAllow or kDeny: what no allow or deny rule matches gets
  bool keep_existing = false;  // after a change, connections it now denies go on (true) or are cut (false)
  std::vector<AuthzRule> rules;
  std::string inspect;  // the pattern set of connections it allows whose rule names none
  Mark mark;
  Mark service_mark;
  Mark inspect_mark;
  std::vector<Mark> destination_marks;
  bool for_service() const { return destinations.empty(); }
  // "service 'web'", "destination 'admin'".
  std::string label() const { return (for_service() ? "service '" + service : "destination '" + name) + "'"; }
  bool operator==(const Authorization&) const = default;
};

// Payload matching (docs/config.md, "pattern sets"): Hyperscan patterns
// over the first bytes of each direction of a TCP connection, across
// segments, in the workers.
enum class PatternAction : uint8_t {
  kBlock,  // the connection is reset both ways, the packet dropped
  kAlert,  // an event and a counter; traffic goes on
  kTag,    // counted under its tag; traffic goes on
};

struct Pattern {
  std::string name;
  std::string expression;  // a regular expression, or the literal's bytes
  bool literal = false;
  bool caseless = false, dotall = false, multiline = false, single_match = false;
  PatternAction action = PatternAction::kAlert;
  std::string tag;  // kTag: what it counts under (default: its name)
  Mark mark;
  Mark expression_mark;
  bool operator==(const Pattern&) const = default;
};

struct PatternSet {
  std::string name;
  uint32_t inspect_bytes = 4096;  // of each inspected direction
  bool client = true, server = true;  // directions inspected: client to server, server to client
  bool hold_out_of_order = true;  // hold a few segments past a hole (else stop inspecting at the first)
  bool fail_closed = false;  // inspection that cannot go on (a gap, no state left) resets the connection
  std::vector<Pattern> patterns;
  Mark mark;
  bool operator==(const PatternSet&) const = default;
};

struct InspectionSettings {
  uint32_t flows_per_worker = 4096;  // connections under inspection at once, per worker (fixed while running)
  uint32_t events_per_second = 100;  // block and alert events per worker; the rest are counted
};

// The host exception path (docs/config.md, "exception_path"): a TAP per port
// in a network namespace, for traffic to the gateway's addresses that the
// data plane does not serve itself.
struct ExceptionPathSettings {
  std::string netns;                     // the namespace the TAPs live in (created if absent)
  uint32_t packets_per_second = 10000;   // per worker, towards the host; the rest are dropped, counted
  uint16_t local_port_min = 61000;       // the namespace's ephemeral ports, kept apart from NAT ports
  uint16_t local_port_max = 65535;
  Mark mark;
  bool operator==(const ExceptionPathSettings&) const = default;
};

// Sampled records of flows starting and ending, as JSON lines (docs/operations.md).
struct FlowLogSettings {
  std::string path;    // appended to (a file), or
  std::string socket;  // written to (a unix stream socket a collector listens on)
  uint32_t sample = 1;                    // one flow in `sample` is logged (both its records)
  uint32_t records_per_second = 10000;    // per worker; beyond it records are counted, not written
  bool operator==(const FlowLogSettings&) const = default;
};

struct ApiSettings {
  std::string socket;  // empty: --socket, else RUN_DIR/meshplane.sock
  // Prometheus exposition over HTTP on the control side (GET /metrics).
  std::optional<uint32_t> metrics_address;  // host order; unset: off
  uint16_t metrics_port = 0;                // 0: one the kernel picks (logged, and in meshctl status)
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
  IpsecSettings ipsec;
  std::vector<Peer> peers;
  std::optional<IkeSettings> ike;  // unset: no IKE (manual keys only)
  AccessPolicy access;
  std::vector<Identity> identities;
  std::vector<Authorization> authorization;
  ApiSettings api;
  std::optional<FlowLogSettings> flow_logs;  // unset: off
  std::vector<PatternSet> pattern_sets;
  InspectionSettings inspection;
  std::optional<ExceptionPathSettings> exception_path;  // unset: off
};

}  // namespace meshplane::config
