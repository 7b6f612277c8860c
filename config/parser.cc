#include "config/parser.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "config/access_parser.h"
#include "config/address.h"
#include "config/authz_parser.h"
#include "config/pattern_parser.h"
#include "config/peer_parser.h"
#include "config/service_parser.h"
#include "config/validate.h"
#include "config/yaml_fields.h"

namespace meshplane::config {
namespace {

void parse_flow_logs(const YamlNode& n, Diagnostics& d, FlowLogSettings& out) {
  Fields f(n, "flow_logs", d, {"path", "socket", "sample", "records_per_second"});
  if (!f.is_map()) return;
  const YamlNode path = f.get("path"), socket = f.get("socket");
  if (path.defined() == socket.defined()) {
    d.error(f.mark(), "flow_logs needs exactly one of 'path' (a file to append to) and 'socket' (a unix socket)");
  } else {
    std::string& where = path.defined() ? out.path : out.socket;
    const YamlNode& node = path.defined() ? path : socket;
    if (read_string(node, path.defined() ? "flow_logs.path" : "flow_logs.socket", d, where) && where.front() != '/')
      d.error(node.mark(), fmt::format("flow_logs: '{}' must be an absolute path", where));
  }
  if (auto v = f.get("sample"); v.defined()) read_uint_as(v, "flow_logs.sample", d, 1, 1u << 20, out.sample);
  if (auto v = f.get("records_per_second"); v.defined())
    read_uint_as(v, "flow_logs.records_per_second", d, 1, 10'000'000, out.records_per_second);
}

// "127.0.0.1:9469": where Prometheus scrapes GET /metrics.
void read_metrics_address(const YamlNode& n, Diagnostics& d, ApiSettings& api) {
  std::string text;
  if (!read_string(n, "api.metrics", d, text)) return;
  const auto colon = text.rfind(':');
  const auto address = colon == std::string::npos ? std::nullopt : parse_ipv4(std::string_view(text).substr(0, colon));
  uint32_t port = 0;
  const std::string_view digits = colon == std::string::npos ? "" : std::string_view(text).substr(colon + 1);
  bool ok = address && !digits.empty() && digits.size() <= 5;
  for (char c : digits) ok = ok && c >= '0' && c <= '9', port = port * 10 + static_cast<uint32_t>(c - '0');
  if (!ok || port > 65535) {
    d.error(n.mark(), fmt::format("api.metrics must be an IPv4 address and a port, such as 127.0.0.1:9469, found '{}'",
                                  text));
    return;
  }
  api.metrics_address = *address;
  api.metrics_port = static_cast<uint16_t>(port);
}

bool read_mac(const YamlNode& n, std::string_view what, Diagnostics& d, MacAddress& out) {
  std::string s;
  if (!read_string(n, what, d, s)) return false;
  auto m = parse_mac(s);
  if (!m) {
    d.error(n.mark(), fmt::format("{} '{}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)", what, s));
    return false;
  }
  out = *m;
  return true;
}

void parse_port(const YamlNode& n, Diagnostics& d, Policy& policy) {
  Fields f(n, "a port", d, {"name", "device", "mac", "addresses", "mtu"});
  if (!f.is_map()) return;
  Port p;
  p.mark = f.mark();
  if (auto v = f.require("name"); v.defined()) read_string(v, "port name", d, p.name);
  if (auto v = f.require("device"); v.defined()) {
    read_string(v, "port device", d, p.device);
    p.device_mark = v.mark();
  }
  if (auto v = f.get("mac"); v.defined()) {
    MacAddress mac{};
    if (read_mac(v, "port mac", d, mac)) p.mac = mac;
  }
  std::vector<YamlNode> addresses;
  if (auto v = f.require("addresses"); v.defined() && read_list(v, "port addresses", d, addresses) &&
                                       addresses.empty())
    d.error(v.mark(), fmt::format("port '{}' needs at least one address", p.name));
  for (const auto& a : addresses) {
    Ipv4Prefix prefix;
    if (read_prefix(a, "port address", d, prefix)) {
      p.addresses.push_back(prefix);
      p.address_marks.push_back(a.mark());
    }
  }
  if (auto v = f.get("mtu"); v.defined()) read_uint_as(v, "port mtu", d, kMinMtu, kMaxMtu, p.mtu);
  policy.ports.push_back(std::move(p));
}

void parse_route(const YamlNode& n, Diagnostics& d, Policy& policy) {
  Fields f(n, "a route", d, {"prefix", "via", "port"});
  if (!f.is_map()) return;
  Route r;
  r.mark = f.mark();
  if (auto v = f.require("prefix"); v.defined()) {
    read_prefix(v, "route prefix", d, r.prefix);
    r.prefix_mark = v.mark();
  }
  if (auto v = f.require("via"); v.defined()) {
    read_ipv4(v, "route via", d, r.via);
    r.via_mark = v.mark();
  }
  if (auto v = f.get("port"); v.defined()) {
    read_string(v, "route port", d, r.port);
    r.port_mark = v.mark();
  }
  policy.routes.push_back(std::move(r));
}

void parse_neighbour(const YamlNode& n, Diagnostics& d, Policy& policy) {
  Fields f(n, "a static neighbour", d, {"address", "mac", "port"});
  if (!f.is_map()) return;
  StaticNeighbour s;
  s.mark = f.mark();
  if (auto v = f.require("address"); v.defined()) read_ipv4(v, "neighbour address", d, s.address);
  if (auto v = f.require("mac"); v.defined()) read_mac(v, "neighbour mac", d, s.mac);
  if (auto v = f.require("port"); v.defined()) {
    read_string(v, "neighbour port", d, s.port);
    s.port_mark = v.mark();
  }
  policy.neighbours.push_back(std::move(s));
}

void parse_icmp(const YamlNode& n, Diagnostics& d, IcmpSettings& icmp) {
  Fields f(n, "icmp", d, {"errors_per_second", "errors_burst"});
  if (auto v = f.get("errors_per_second"); v.defined())
    read_uint_as(v, "icmp.errors_per_second", d, 0, 1'000'000, icmp.errors_per_second);
  if (auto v = f.get("errors_burst"); v.defined())
    read_uint_as(v, "icmp.errors_burst", d, 1, 100'000, icmp.errors_burst);
}

void parse_neighbour_table(const YamlNode& n, Diagnostics& d, NeighbourSettings& s) {
  Fields f(n, "neighbour_table", d, {"capacity", "reachable_seconds", "probes", "queue_per_neighbour"});
  if (auto v = f.get("capacity"); v.defined())
    read_uint_as(v, "neighbour_table.capacity", d, 16, 1u << 20, s.capacity);
  if (auto v = f.get("reachable_seconds"); v.defined())
    read_uint_as(v, "neighbour_table.reachable_seconds", d, 1, 86'400, s.reachable_seconds);
  if (auto v = f.get("probes"); v.defined())
    read_uint_as(v, "neighbour_table.probes", d, 1, 20, s.probes);
  if (auto v = f.get("queue_per_neighbour"); v.defined())
    read_uint_as(v, "neighbour_table.queue_per_neighbour", d, 0, 64, s.queue_per_neighbour);
}

void parse_dataplane(const YamlNode& n, Diagnostics& d, DataplaneSettings& s) {
  Fields f(n, "dataplane", d, {"mbufs", "rx_descriptors", "tx_descriptors", "punt_ring_size"});
  if (auto v = f.get("mbufs"); v.defined()) read_uint_as(v, "dataplane.mbufs", d, 1023, 16u << 20, s.mbufs);
  if (auto v = f.get("rx_descriptors"); v.defined())
    read_uint_as(v, "dataplane.rx_descriptors", d, 64, 16384, s.rx_descriptors);
  if (auto v = f.get("tx_descriptors"); v.defined())
    read_uint_as(v, "dataplane.tx_descriptors", d, 64, 16384, s.tx_descriptors);
  if (auto v = f.get("punt_ring_size"); v.defined()) {
    if (read_uint_as(v, "dataplane.punt_ring_size", d, 64, 1u << 20, s.punt_ring_size) &&
        (s.punt_ring_size & (s.punt_ring_size - 1)) != 0)
      d.error(v.mark(), fmt::format("dataplane.punt_ring_size must be a power of two, found {}",
                                    s.punt_ring_size));
  }
}

void parse_exception_path(const YamlNode& n, Diagnostics& d, ExceptionPathSettings& out) {
  Fields f(n, "exception_path", d, {"netns", "packets_per_second", "local_ports"});
  out.mark = f.mark();
  if (auto v = f.require("netns"); v.defined() && read_string(v, "exception_path.netns", d, out.netns) &&
                                   (out.netns.size() > 64 || out.netns.find_first_not_of(
                                                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                 "0123456789_.-") != std::string::npos ||
                                    out.netns.front() == '.'))
    d.error(v.mark(), fmt::format("exception_path.netns '{}' is not a namespace name (letters, digits, _ . -; at "
                                  "most 64)",
                                  out.netns));
  if (auto v = f.get("packets_per_second"); v.defined())
    read_uint_as(v, "exception_path.packets_per_second", d, 1, 10'000'000, out.packets_per_second);
  if (auto v = f.get("local_ports"); v.defined()) {
    PortRange r;
    if (read_port_range(v, "exception_path.local_ports", d, r)) {
      if (r.last - r.first < 1023)
        d.error(v.mark(), "exception_path.local_ports needs at least 1024 ports (the host's ephemeral ports)");
      out.local_port_min = r.first;
      out.local_port_max = r.last;
    }
  }
}

void parse_document(const YamlNode& root, Diagnostics& d, Policy& policy) {
  Fields f(root, "the policy document", d,
           {"node", "ports", "routes", "neighbours", "icmp", "neighbour_table", "dataplane", "load_balancer",
            "services", "ipsec", "ike", "peers", "access", "identities", "authorization", "api", "flow_logs",
            "pattern_sets", "inspection", "exception_path"});
  if (!f.is_map()) return;
  if (auto v = f.get("node"); v.defined()) read_string(v, "node", d, policy.node);
  std::vector<YamlNode> items;
  if (auto v = f.require("ports"); v.defined() && read_list(v, "ports", d, items)) {
    if (items.empty()) d.error(v.mark(), "at least one port is required under 'ports'");
    for (const auto& n : items) parse_port(n, d, policy);
  }
  items.clear();
  if (read_list(f.get("routes"), "routes", d, items))
    for (const auto& n : items) parse_route(n, d, policy);
  items.clear();
  if (read_list(f.get("neighbours"), "neighbours", d, items))
    for (const auto& n : items) parse_neighbour(n, d, policy);
  if (auto v = f.get("icmp"); v.defined()) parse_icmp(v, d, policy.icmp);
  if (auto v = f.get("neighbour_table"); v.defined())
    parse_neighbour_table(v, d, policy.neighbour_table);
  if (auto v = f.get("dataplane"); v.defined()) parse_dataplane(v, d, policy.dataplane);
  if (auto v = f.get("load_balancer"); v.defined()) parse_load_balancer(v, d, policy.load_balancer);
  parse_services(f.get("services"), d, policy.services);
  if (auto v = f.get("ipsec"); v.defined()) parse_ipsec(v, d, policy.ipsec);
  if (auto v = f.get("ike"); v.defined()) parse_ike(v, d, policy.ike.emplace());
  parse_peers(f.get("peers"), d, policy.peers);
  if (auto v = f.get("access"); v.defined()) parse_access(v, d, policy.access);
  parse_identities(f.get("identities"), d, policy.identities);
  parse_authorization(f.get("authorization"), d, policy.authorization);
  if (auto v = f.get("api"); v.defined()) {
    Fields api(v, "api", d, {"socket", "metrics"});
    if (auto s = api.get("socket"); s.defined() && read_string(s, "api.socket", d, policy.api.socket) &&
                                    policy.api.socket.front() != '/')
      d.error(s.mark(), fmt::format("api.socket must be an absolute path, found '{}'", policy.api.socket));
    if (auto m = api.get("metrics"); m.defined()) read_metrics_address(m, d, policy.api);
  }
  if (auto v = f.get("flow_logs"); v.defined()) parse_flow_logs(v, d, policy.flow_logs.emplace());
  parse_pattern_sets(f.get("pattern_sets"), d, policy.pattern_sets);
  if (auto v = f.get("inspection"); v.defined()) parse_inspection(v, d, policy.inspection);
  if (auto v = f.get("exception_path"); v.defined()) parse_exception_path(v, d, policy.exception_path.emplace());
}

}  // namespace

ParseResult load_policy_text(std::string_view text, const std::string& file, const std::function<bool()>& abandoned) {
  ParseResult result;
  result.policy.source = file;
  Diagnostics d(file);
  const YamlTree tree = YamlTree::read(text, {}, abandoned);
  if (tree.ok()) {
    parse_document(tree.root(), d, result.policy);
    validate(result.policy, d);
  } else {
    d.error(tree.error_mark, tree.error);
  }
  result.warnings = d.take_warnings();
  if (d.ok()) return result;
  auto errors = d.take();
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
  });
  result.status() = Status::invalid(std::move(errors));
  return result;
}

ParseResult load_policy_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ParseResult r;
    r.status() = Status::invalid({{path, {0, 0}, "cannot open file: " + std::string(std::strerror(errno))}});
    return r;
  }
  // Too large to be a policy: say so without reading it.
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size > YamlLimits{}.max_bytes) {
    ParseResult r;
    r.status() = Status::invalid({{path, {1, 1}, fmt::format("the file is {} bytes; a policy may be at "
                                                                          "most {} bytes (docs/config.md, Limits)",
                                                                          size, YamlLimits{}.max_bytes)}});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_policy_text(ss.str(), path);
}

}  // namespace meshplane::config
