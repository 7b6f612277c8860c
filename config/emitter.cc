#include "config/emitter.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "config/access_parser.h"
#include "config/address.h"
#include "config/authz_parser.h"
#include "config/pattern_parser.h"
#include "config/peer_parser.h"

namespace meshplane::config {
namespace {

void emit_ports(YAML::Emitter& out, const Policy& p) {
  out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
  for (const auto& port : p.ports) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << port.name << YAML::Key << "device" << YAML::Value
        << port.device;
    if (port.mac) out << YAML::Key << "mac" << YAML::Value << mac_to_string(*port.mac);
    out << YAML::Key << "addresses" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& a : port.addresses) out << prefix_to_string(a);
    out << YAML::EndSeq << YAML::Key << "mtu" << YAML::Value << port.mtu << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emit_routes(YAML::Emitter& out, const Policy& p) {
  if (!p.routes.empty()) {
    out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : p.routes) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "prefix" << YAML::Value << prefix_to_string(r.prefix)
          << YAML::Key << "via" << YAML::Value << ipv4_to_string(r.via);
      if (!r.port.empty()) out << YAML::Key << "port" << YAML::Value << r.port;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!p.neighbours.empty()) {
    out << YAML::Key << "neighbours" << YAML::Value << YAML::BeginSeq;
    for (const auto& n : p.neighbours)
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "address" << YAML::Value << ipv4_to_string(n.address)
          << YAML::Key << "mac" << YAML::Value << mac_to_string(n.mac) << YAML::Key << "port" << YAML::Value << n.port
          << YAML::EndMap;
    out << YAML::EndSeq;
  }
}

void emit_settings(YAML::Emitter& out, const Policy& p) {
  out << YAML::Key << "icmp" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "errors_per_second"
      << YAML::Value << p.icmp.errors_per_second << YAML::Key << "errors_burst" << YAML::Value << p.icmp.errors_burst
      << YAML::EndMap;
  const auto& n = p.neighbour_table;
  out << YAML::Key << "neighbour_table" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "capacity"
      << YAML::Value << n.capacity << YAML::Key << "reachable_seconds" << YAML::Value << n.reachable_seconds
      << YAML::Key << "probes" << YAML::Value << n.probes << YAML::Key << "queue_per_neighbour" << YAML::Value
      << n.queue_per_neighbour << YAML::EndMap;
  const auto& d = p.dataplane;
  out << YAML::Key << "dataplane" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "mbufs"
      << YAML::Value << d.mbufs << YAML::Key << "rx_descriptors" << YAML::Value << d.rx_descriptors << YAML::Key
      << "tx_descriptors" << YAML::Value << d.tx_descriptors << YAML::Key << "punt_ring_size" << YAML::Value
      << d.punt_ring_size << YAML::EndMap;
  const auto& lb = p.load_balancer;
  const auto& t = lb.timeouts;
  out << YAML::Key << "load_balancer" << YAML::Value << YAML::BeginMap << YAML::Key << "flow_capacity"
      << YAML::Value << lb.flow_capacity << YAML::Key << "nat_port_min" << YAML::Value << lb.nat_port_min << YAML::Key
      << "nat_port_max" << YAML::Value << lb.nat_port_max << YAML::Key << "nat_addresses" << YAML::Value << YAML::Flow
      << YAML::BeginSeq;
  for (uint32_t a : lb.nat_addresses) out << ipv4_to_string(a);
  out << YAML::EndSeq << YAML::Key << "max_services" << YAML::Value << lb.max_services << YAML::Key << "rate_limit_sources" << YAML::Value
      << lb.rate_limit_sources << YAML::Key
      << "max_endpoints" << YAML::Value << lb.max_endpoints << YAML::Key << "timeouts" << YAML::Value << YAML::Flow
      << YAML::BeginMap << YAML::Key << "tcp_syn" << YAML::Value << t.tcp_syn << YAML::Key << "tcp_established"
      << YAML::Value << t.tcp_established << YAML::Key << "tcp_closing" << YAML::Value << t.tcp_closing << YAML::Key
      << "tcp_reset" << YAML::Value << t.tcp_reset << YAML::Key << "udp" << YAML::Value << t.udp << YAML::EndMap
      << YAML::EndMap;
}

constexpr const char* kHealthCheckTypes[] = {"tcp", "http", "https", "command"};

void emit_service(YAML::Emitter& out, const Service& s) {
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << s.name << YAML::Key << "vip" << YAML::Value
      << ipv4_to_string(s.vip) << YAML::Key << "mode" << YAML::Value
      << (s.mode == LbMode::kNat ? "nat" : "direct_return") << YAML::Key << "unknown_port" << YAML::Value
      << (s.unknown_port == UnknownPort::kDrop ? "drop" : "reject") << YAML::Key << "table_size" << YAML::Value
      << s.table_size << YAML::Key << "drain_seconds" << YAML::Value << s.drain_seconds;
  if (const RateLimit& r = s.rate_limit; r.any()) {
    out << YAML::Key << "rate_limit" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (r.connections_per_second) out << YAML::Key << "connections_per_second" << YAML::Value << r.connections_per_second;
    if (r.packets_per_second) out << YAML::Key << "packets_per_second" << YAML::Value << r.packets_per_second;
    if (r.source_connections_per_second)
      out << YAML::Key << "per_source" << YAML::Value << YAML::BeginMap << YAML::Key << "prefix_length" << YAML::Value
          << static_cast<int>(r.source_prefix_length) << YAML::Key << "connections_per_second" << YAML::Value
          << r.source_connections_per_second << YAML::EndMap;
    out << YAML::Key << "action" << YAML::Value << (r.reject ? "reject" : "drop") << YAML::EndMap;
  }
  if (!s.inspect.empty()) out << YAML::Key << "inspect" << YAML::Value << s.inspect;
  out << YAML::Key << "panic_threshold" << YAML::Value << s.panic_threshold << YAML::Key << "on_unhealthy"
      << YAML::Value << (s.reset_unhealthy ? "reset" : "keep");
  if (const auto& b = s.circuit_breaker) {
    auto limits = [&out](const BreakerLimits& l) {
      if (l.max_connections) out << YAML::Key << "max_connections" << YAML::Value << l.max_connections;
      if (l.max_connections_per_second)
        out << YAML::Key << "max_connections_per_second" << YAML::Value << l.max_connections_per_second;
    };
    out << YAML::Key << "circuit_breaker" << YAML::Value << YAML::Flow << YAML::BeginMap;
    limits(b->service);
    if (b->endpoint.any()) {
      out << YAML::Key << "per_endpoint" << YAML::Value << YAML::BeginMap;
      limits(b->endpoint);
      out << YAML::EndMap;
    }
    out << YAML::Key << "overflow" << YAML::Value << (b->refuse_overflow ? "refuse" : "next") << YAML::EndMap;
  }
  if (const auto& o = s.outlier_detection)
    out << YAML::Key << "outlier_detection" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "consecutive_failures" << YAML::Value << o->consecutive_failures << YAML::Key << "base_ejection_ms"
        << YAML::Value << o->base_ejection_ms << YAML::Key << "max_ejection_percent" << YAML::Value
        << o->max_ejection_percent << YAML::EndMap;
  if (const auto& h = s.health_check) {
    out << YAML::Key << "health_check" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "type"
        << YAML::Value << kHealthCheckTypes[static_cast<size_t>(h->type)];
    if (h->port) out << YAML::Key << "port" << YAML::Value << h->port;
    if (!h->sni.empty()) out << YAML::Key << "sni" << YAML::Value << h->sni;
    if (!h->command.empty()) {
      out << YAML::Key << "command" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& arg : h->command) out << arg;
      out << YAML::EndSeq;
    }
    if (h->web())
      out << YAML::Key << "path" << YAML::Value << h->path << YAML::Key << "expect_status" << YAML::Value
          << fmt::format("{}-{}", h->status_min, h->status_max);
    out << YAML::Key << "interval_ms" << YAML::Value << h->interval_ms << YAML::Key << "timeout_ms" << YAML::Value
        << h->timeout_ms << YAML::Key << "jitter_ms" << YAML::Value << h->jitter_ms << YAML::Key
        << "healthy_threshold" << YAML::Value << h->healthy_threshold << YAML::Key << "unhealthy_threshold"
        << YAML::Value << h->unhealthy_threshold << YAML::EndMap;
  }
  out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : s.ports)
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "protocol" << YAML::Value
        << (p.protocol == Protocol::kTcp ? "tcp" : "udp") << YAML::Key << "port" << YAML::Value << p.port
        << YAML::Key << "target_port" << YAML::Value << p.target_port << YAML::EndMap;
  out << YAML::EndSeq;
  if (!s.subsets.empty()) {
    out << YAML::Key << "subsets" << YAML::Value << YAML::BeginSeq;
    for (const auto& sub : s.subsets)
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << sub.name << YAML::Key << "weight"
          << YAML::Value << sub.weight << YAML::EndMap;
    out << YAML::EndSeq;
  }
  out << YAML::Key << "endpoints" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : s.endpoints) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "address" << YAML::Value << ipv4_to_string(e.address);
    if (e.port) out << YAML::Key << "port" << YAML::Value << e.port;
    out << YAML::Key << "weight" << YAML::Value << e.weight;
    if (!e.subset.empty()) out << YAML::Key << "subset" << YAML::Value << e.subset;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

void emit_peer(YAML::Emitter& out, const Peer& p) {
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << p.name << YAML::Key << "address" << YAML::Value
      << ipv4_to_string(p.address) << YAML::Key << "local_address" << YAML::Value << ipv4_to_string(p.local_address)
      << YAML::Key << "prefixes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& prefix : p.prefixes) out << prefix_to_string(prefix);
  out << YAML::EndSeq << YAML::Key << "encapsulation" << YAML::Value
      << (p.encapsulation == Encapsulation::kEsp ? "esp" : "udp");
  if (p.tcp_mss) out << YAML::Key << "tcp_mss" << YAML::Value << p.tcp_mss;
  if (!p.identity.empty()) out << YAML::Key << "identity" << YAML::Value << p.identity;
  if (p.ike) {
    out << YAML::Key << "ike" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "initiate"
        << YAML::Value << p.ike->initiate << YAML::EndMap << YAML::EndMap;
    return;
  }
  out << YAML::Key << "sas" << YAML::Value << YAML::BeginSeq;
  for (const auto& sa : p.sas) {
    out << YAML::BeginMap << YAML::Key << "direction" << YAML::Value
        << (sa.direction == SaDirection::kInbound ? "inbound" : "outbound") << YAML::Key << "spi" << YAML::Value
        << fmt::format("0x{:x}", sa.spi) << YAML::Key << "algorithm" << YAML::Value
        << (sa.algorithm == EspAlgorithm::kAesGcm128 ? "aes-gcm-128" : "aes-gcm-256");
    // Keys never leave the daemon: a file is named, an inline key is replaced.
    if (!sa.key_file.empty())
      out << YAML::Key << "key_file" << YAML::Value << sa.key_file;
    else
      out << YAML::Key << "key" << YAML::Value << kHiddenKey;
    out << YAML::Key << "esn" << YAML::Value << sa.esn;
    if (sa.direction == SaDirection::kInbound) out << YAML::Key << "replay_window" << YAML::Value << sa.replay_window;
    for (auto [key, lifetime] : {std::pair{"soft_lifetime", &sa.soft}, std::pair{"hard_lifetime", &sa.hard}}) {
      if (!lifetime->any()) continue;
      out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (lifetime->seconds) out << YAML::Key << "seconds" << YAML::Value << lifetime->seconds;
      if (lifetime->bytes) out << YAML::Key << "bytes" << YAML::Value << lifetime->bytes;
      if (lifetime->packets) out << YAML::Key << "packets" << YAML::Value << lifetime->packets;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

std::string range_to_string(const PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : fmt::format("{}-{}", r.first, r.last);
}

void emit_rule(YAML::Emitter& out, const AccessRule& r) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << r.name << YAML::Key << "action"
      << YAML::Value << action_name(r.action);
  if (r.protocol) out << YAML::Key << "protocol" << YAML::Value << protocol_name(*r.protocol);
  for (auto [key, list] : {std::pair{"source", &r.sources}, std::pair{"destination", &r.destinations}}) {
    if (list->empty()) continue;
    out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const auto& p : *list) out << prefix_to_string(p);
    out << YAML::EndSeq;
  }
  for (auto [key, list] :
       {std::pair{"source_ports", &r.source_ports}, std::pair{"destination_ports", &r.destination_ports}}) {
    if (list->empty()) continue;
    out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const auto& range : *list) out << range_to_string(range);
    out << YAML::EndSeq;
  }
  if (r.icmp_type) out << YAML::Key << "icmp_type" << YAML::Value << static_cast<int>(*r.icmp_type);
  if (!r.ingress.empty()) out << YAML::Key << "ingress" << YAML::Value << r.ingress;
  if (r.log) out << YAML::Key << "log" << YAML::Value << true;
  out << YAML::EndMap;
}

void emit_access(YAML::Emitter& out, const AccessPolicy& a) {
  if (a.empty()) return;
  out << YAML::Key << "access" << YAML::Value << YAML::BeginMap << YAML::Key << "default" << YAML::Value
      << action_name(a.default_action) << YAML::Key << "log_per_second" << YAML::Value << a.log_per_second
      << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : a.rules) emit_rule(out, r);
  out << YAML::EndSeq << YAML::EndMap;
}

void emit_identities(YAML::Emitter& out, const std::vector<Identity>& ids) {
  if (ids.empty()) return;
  out << YAML::Key << "identities" << YAML::Value << YAML::BeginSeq;
  for (const auto& id : ids) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << id.name << YAML::Key << "prefixes"
        << YAML::Value << YAML::BeginSeq;
    for (const auto& p : id.prefixes) out << prefix_to_string(p);
    out << YAML::EndSeq;
    if (!id.peer.empty()) out << YAML::Key << "peer" << YAML::Value << id.peer;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emit_authz_rule(YAML::Emitter& out, const AuthzRule& r) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << r.name << YAML::Key << "action"
      << YAML::Value << authz_action_name(r.action);
  if (!r.identities.empty() || !r.prefixes.empty()) {
    out << YAML::Key << "from" << YAML::Value << YAML::BeginMap;
    if (!r.identities.empty()) out << YAML::Key << "identities" << YAML::Value << r.identities;
    if (!r.prefixes.empty()) {
      out << YAML::Key << "prefixes" << YAML::Value << YAML::BeginSeq;
      for (const auto& p : r.prefixes) out << prefix_to_string(p);
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  if (!r.ports.empty() || !r.protocols.empty()) {
    out << YAML::Key << "to" << YAML::Value << YAML::BeginMap;
    if (!r.ports.empty()) {
      out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
      for (const auto& p : r.ports) out << range_to_string(p);
      out << YAML::EndSeq;
    }
    if (!r.protocols.empty()) {
      out << YAML::Key << "protocols" << YAML::Value << YAML::BeginSeq;
      for (auto p : r.protocols) out << (p == Protocol::kTcp ? "tcp" : "udp");
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  if (!r.inspect.empty()) out << YAML::Key << "inspect" << YAML::Value << r.inspect;
  out << YAML::EndMap;
}

void emit_authorization(YAML::Emitter& out, const std::vector<Authorization>& list) {
  if (list.empty()) return;
  out << YAML::Key << "authorization" << YAML::Value << YAML::BeginSeq;
  for (const auto& a : list) {
    out << YAML::BeginMap;
    if (a.for_service()) {
      out << YAML::Key << "service" << YAML::Value << a.service;
    } else {
      out << YAML::Key << "name" << YAML::Value << a.name << YAML::Key << "destinations" << YAML::Value << YAML::Flow
          << YAML::BeginSeq;
      for (const auto& p : a.destinations) out << prefix_to_string(p);
      out << YAML::EndSeq;
    }
    out << YAML::Key << "default"
        << YAML::Value << authz_action_name(a.default_action) << YAML::Key << "on_change" << YAML::Value
        << (a.keep_existing ? "keep" : "cut");
    if (!a.inspect.empty()) out << YAML::Key << "inspect" << YAML::Value << a.inspect;
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : a.rules) emit_authz_rule(out, r);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emit_pattern_sets(YAML::Emitter& out, const Policy& policy) {
  out << YAML::Key << "inspection" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "flows_per_worker"
      << YAML::Value << policy.inspection.flows_per_worker << YAML::Key << "events_per_second" << YAML::Value
      << policy.inspection.events_per_second << YAML::EndMap;
  if (policy.pattern_sets.empty()) return;
  out << YAML::Key << "pattern_sets" << YAML::Value << YAML::BeginSeq;
  for (const auto& set : policy.pattern_sets) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << set.name << YAML::Key << "inspect_bytes"
        << YAML::Value << set.inspect_bytes << YAML::Key << "directions" << YAML::Value
        << (set.client && set.server ? "both" : set.client ? "client" : "server") << YAML::Key << "out_of_order"
        << YAML::Value << (set.hold_out_of_order ? "hold" : "stop") << YAML::Key << "on_failure" << YAML::Value
        << (set.fail_closed ? "block" : "allow") << YAML::Key << "patterns" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : set.patterns) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << p.name << YAML::Key
          << (p.literal ? "literal" : "regex") << YAML::Value << YAML::DoubleQuoted << p.expression;
      std::vector<std::string> flags;
      if (p.caseless) flags.emplace_back("caseless");
      if (p.dotall) flags.emplace_back("dotall");
      if (p.multiline) flags.emplace_back("multiline");
      if (p.single_match) flags.emplace_back("single_match");
      if (!flags.empty()) out << YAML::Key << "flags" << YAML::Value << flags;
      out << YAML::Key << "action" << YAML::Value << pattern_action_name(p.action);
      if (p.action == PatternAction::kTag) out << YAML::Key << "tag" << YAML::Value << p.tag;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

std::string to_yaml(const Policy& policy) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!policy.node.empty()) out << YAML::Key << "node" << YAML::Value << policy.node;
  emit_ports(out, policy);
  emit_routes(out, policy);
  emit_settings(out, policy);
  if (!policy.api.socket.empty() || policy.api.metrics_address) {
    out << YAML::Key << "api" << YAML::Value << YAML::BeginMap;
    if (!policy.api.socket.empty()) out << YAML::Key << "socket" << YAML::Value << policy.api.socket;
    if (policy.api.metrics_address)
      out << YAML::Key << "metrics" << YAML::Value
          << fmt::format("{}:{}", ipv4_to_string(*policy.api.metrics_address), policy.api.metrics_port);
    out << YAML::EndMap;
  }
  if (!policy.services.empty()) {
    out << YAML::Key << "services" << YAML::Value << YAML::BeginSeq;
    for (const auto& s : policy.services) emit_service(out, s);
    out << YAML::EndSeq;
  }
  out << YAML::Key << "ipsec" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "max_sas" << YAML::Value
      << policy.ipsec.max_sas << YAML::Key << "sequence_file" << YAML::Value << policy.ipsec.sequence_file
      << YAML::EndMap;
  if (const auto& ike = policy.ike) {  // paths only: the files are the daemon's to read
    out << YAML::Key << "ike" << YAML::Value << YAML::BeginMap << YAML::Key << "certificate" << YAML::Value
        << ike->certificate << YAML::Key << "key" << YAML::Value << ike->key << YAML::Key << "ca" << YAML::Value
        << ike->ca;
    if (!ike->id.empty()) out << YAML::Key << "id" << YAML::Value << ike->id;
    out << YAML::Key << "child_rekey_seconds" << YAML::Value << ike->child_rekey_seconds << YAML::Key
        << "ike_rekey_seconds" << YAML::Value << ike->ike_rekey_seconds << YAML::Key << "liveness_seconds"
        << YAML::Value << ike->liveness_seconds << YAML::Key << "retransmits" << YAML::Value << ike->retransmits
        << YAML::EndMap;
  }
  if (!policy.peers.empty()) {
    out << YAML::Key << "peers" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : policy.peers) emit_peer(out, p);
    out << YAML::EndSeq;
  }
  if (const auto& fl = policy.flow_logs) {
    out << YAML::Key << "flow_logs" << YAML::Value << YAML::BeginMap;
    if (!fl->path.empty()) out << YAML::Key << "path" << YAML::Value << fl->path;
    if (!fl->socket.empty()) out << YAML::Key << "socket" << YAML::Value << fl->socket;
    out << YAML::Key << "sample" << YAML::Value << fl->sample << YAML::Key << "records_per_second" << YAML::Value
        << fl->records_per_second << YAML::EndMap;
  }
  emit_access(out, policy.access);
  emit_identities(out, policy.identities);
  emit_authorization(out, policy.authorization);
  emit_pattern_sets(out, policy);
  if (const auto& e = policy.exception_path)
    out << YAML::Key << "exception_path" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "netns"
        << YAML::Value << e->netns << YAML::Key << "packets_per_second" << YAML::Value << e->packets_per_second
        << YAML::Key << "local_ports" << YAML::Value << fmt::format("{}-{}", e->local_port_min, e->local_port_max)
        << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace meshplane::config
