#include "ctrl/api/stats_text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

namespace meshplane::ctrl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void write_message(std::string& out, const Message& m);

void write_scalar(std::string& out, const Message& m, const FieldDescriptor* f, int i) {
  const Reflection* r = m.GetReflection();
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: out += fmt::format("{}", rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f)); break;
    case FieldDescriptor::CPPTYPE_INT64: out += fmt::format("{}", rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f)); break;
    case FieldDescriptor::CPPTYPE_UINT32: out += fmt::format("{}", rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f)); break;
    case FieldDescriptor::CPPTYPE_UINT64: out += fmt::format("{}", rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: out += fmt::format("{}", rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f)); break;
    case FieldDescriptor::CPPTYPE_FLOAT: out += fmt::format("{}", rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f)); break;
    case FieldDescriptor::CPPTYPE_BOOL: out += (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true" : "false"; break;
    case FieldDescriptor::CPPTYPE_ENUM: write_string(out, (rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f))->name()); break;
    case FieldDescriptor::CPPTYPE_STRING: write_string(out, rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f)); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: write_message(out, rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f)); break;
  }
}

// A map's entries as "key":value pairs, in key order, each after a comma but the first.
void write_map_entries(std::string& out, const Message& m, const FieldDescriptor* f, bool& first) {
  const Reflection* r = m.GetReflection();
  std::vector<const Message*> entries;
  for (int i = 0; i < r->FieldSize(m, f); ++i) entries.push_back(&r->GetRepeatedMessage(m, f, i));
  const FieldDescriptor* key = f->message_type()->map_key();
  const FieldDescriptor* value = f->message_type()->map_value();
  std::sort(entries.begin(), entries.end(), [&](const Message* a, const Message* b) {
    return a->GetReflection()->GetString(*a, key) < b->GetReflection()->GetString(*b, key);
  });
  for (const Message* e : entries) {
    if (!first) out += ',';
    first = false;
    write_string(out, e->GetReflection()->GetString(*e, key));
    out += ':';
    write_scalar(out, *e, value, -1);
  }
}

void write_message(std::string& out, const Message& m) {
  const Reflection* r = m.GetReflection();
  const auto* d = m.GetDescriptor();
  out += '{';
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->has_presence() && !f->is_repeated() && !r->HasField(m, f)) continue;
    if (f->is_map() && f->name() == "counters") {  // inlined into this object
      write_map_entries(out, m, f, first);
      continue;
    }
    if (!first) out += ',';
    first = false;
    write_string(out, f->name());
    out += ':';
    if (f->is_map()) {
      out += '{';
      bool first_entry = true;
      write_map_entries(out, m, f, first_entry);
      out += '}';
    } else if (f->is_repeated()) {
      out += '[';
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        if (k) out += ',';
        write_scalar(out, m, f, k);
      }
      out += ']';
    } else {
      write_scalar(out, m, f, -1);
    }
  }
  out += '}';
}

}  // namespace

std::string json_quote(const std::string& s) {
  std::string out;
  write_string(out, s);
  return out;
}

std::string message_json(const Message& m) {
  std::string out;
  write_message(out, m);
  return out;
}

uint64_t counter(const google::protobuf::Map<std::string, uint64_t>& counters, const std::string& name) {
  const auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

std::string stats_table(const v1::GetStatsResponse& s) {
  std::string out = fmt::format("policy generation {}, up {:.1f} s\n", s.generation(), s.uptime_seconds());
  out += fmt::format("{:<12} {:>14} {:>16} {:>14} {:>16}  {}\n", "PORT", "RX PACKETS", "RX BYTES", "TX PACKETS",
                     "TX BYTES", "STATE");
  for (const auto& p : s.ports())
    out += fmt::format("{:<12} {:>14} {:>16} {:>14} {:>16}  {}\n", p.name(), counter(p.counters(), "rx_packets"),
                       counter(p.counters(), "rx_bytes"), counter(p.counters(), "tx_packets"),
                       counter(p.counters(), "tx_bytes"), p.state());
  const auto& c = s.counters();
  out += fmt::format("forwarded {}  echo replies {}  icmp errors sent {} (suppressed {}, relayed {})  punted {}\n",
                     counter(c, "forwarded"), counter(c, "icmp_echo_replies"), counter(c, "icmp_errors_sent"),
                     counter(c, "icmp_errors_suppressed"), counter(c, "icmp_errors_relayed"), counter(c, "punted"));
  std::string drops;
  std::vector<std::pair<std::string, uint64_t>> sorted(s.drops().begin(), s.drops().end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, n] : sorted)
    if (n) drops += fmt::format("\n  {:<24} {:>12}", name, n);
  out += "drops:" + (drops.empty() ? std::string(" none") : drops) + "\n";
  for (const auto& w : s.workers())
    out += fmt::format("worker {} (lcore {}): {} packets, {:.0f} cycles/packet busy, {} flows\n", w.id(), w.lcore(),
                       counter(w.counters(), "rx_packets"), w.cycles_per_packet(), counter(w.counters(), "flows"));
  for (const auto& svc : s.services())
    out += fmt::format("service {} ({}){}: {} new flows, {} active, {} packets\n", svc.name(), svc.vip(),
                       svc.in_policy() ? "" : " removed, draining", counter(svc.counters(), "new_flows"),
                       counter(svc.counters(), "active_flows"), counter(svc.counters(), "packets"));
  return out;
}

namespace {

// Per second between two readings of one counter map; 0 when the counter restarted (a new daemon).
double per_second(const google::protobuf::Map<std::string, uint64_t>& now,
                  const google::protobuf::Map<std::string, uint64_t>& before, const std::string& name,
                  double seconds) {
  const uint64_t a = counter(now, name), b = counter(before, name);
  return a >= b && seconds > 0 ? static_cast<double>(a - b) / seconds : 0;
}

template <typename List, typename Item>
const Item* same_named(const List& list, const Item& item) {
  for (const auto& x : list)
    if (x.name() == item.name()) return &x;
  return nullptr;
}

}  // namespace

std::string rates_table(const v1::GetStatsResponse& now, const v1::GetStatsResponse& before) {
  const double dt = now.uptime_seconds() - before.uptime_seconds();
  std::string out = fmt::format("rates over the last {:.1f} s\n", dt);
  out += fmt::format("{:<12} {:>12} {:>14} {:>12} {:>14}\n", "PORT", "RX PPS", "RX BIT/S", "TX PPS", "TX BIT/S");
  for (const auto& p : now.ports()) {
    const v1::PortStats* b = same_named(before.ports(), p);
    if (!b) continue;
    out += fmt::format("{:<12} {:>12.0f} {:>14.0f} {:>12.0f} {:>14.0f}\n", p.name(),
                       per_second(p.counters(), b->counters(), "rx_packets", dt),
                       8 * per_second(p.counters(), b->counters(), "rx_bytes", dt),
                       per_second(p.counters(), b->counters(), "tx_packets", dt),
                       8 * per_second(p.counters(), b->counters(), "tx_bytes", dt));
  }
  out += fmt::format("forwarded {:.0f}/s\n", per_second(now.counters(), before.counters(), "forwarded", dt));
  std::string drops;
  std::vector<std::string> reasons;
  for (const auto& [name, n] : now.drops()) reasons.push_back(name);
  std::sort(reasons.begin(), reasons.end());
  for (const auto& name : reasons)
    if (const double r = per_second(now.drops(), before.drops(), name, dt); r > 0)
      drops += fmt::format("\n  {:<24} {:>12.1f}/s", name, r);
  out += "drops:" + (drops.empty() ? std::string(" none") : drops) + "\n";
  for (int i = 0; i < now.workers_size() && i < before.workers_size(); ++i) {
    const auto &w = now.workers(i), &b = before.workers(i);
    const double pps = per_second(w.counters(), b.counters(), "rx_packets", dt);
    const double cycles = per_second(w.counters(), b.counters(), "busy_cycles", dt);
    out += fmt::format("worker {}: {:.0f} packets/s, {:.0f} cycles/packet busy\n", w.id(), pps,
                       pps > 0 ? cycles / pps : 0.0);
  }
  for (const auto& svc : now.services())
    if (const v1::ServiceStats* b = same_named(before.services(), svc))
      out += fmt::format("service {}: {:.1f} new connections/s, {:.0f} packets/s\n", svc.name(),
                         per_second(svc.counters(), b->counters(), "new_flows", dt),
                         per_second(svc.counters(), b->counters(), "packets", dt));
  return out;
}

std::string services_table(const v1::GetStatsResponse& s) {
  std::string out = fmt::format("{:<20} {:<15} {:<13} {:>9} {:>12} {:>12} {:>14}\n", "NAME", "VIP", "MODE",
                                "ENDPOINTS", "NEW FLOWS", "ACTIVE", "PACKETS");
  for (const auto& svc : s.services())
    out += fmt::format("{:<20} {:<15} {:<13} {:>9} {:>12} {:>12} {:>14}\n", svc.name(), svc.vip(), svc.mode(),
                       svc.endpoints_size(), counter(svc.counters(), "new_flows"),
                       counter(svc.counters(), "active_flows"), counter(svc.counters(), "packets"));
  return out;
}

namespace {

// "3/4", "4/4 full", "3" (counted, no cap on open connections).
std::string breaker_text(const v1::BreakerStats& b) {
  if (!b.max_connections()) return std::to_string(b.active());
  return fmt::format("{}/{}{}", b.active(), b.max_connections(), b.full() ? " full" : "");
}

}  // namespace

std::string endpoints_table(const v1::GetStatsResponse& s, const std::string& service) {
  std::string out = fmt::format("{:<20} {:<21} {:<8} {:<14} {:>6} {:>10} {:>8} {:>12}  {:<9} {}\n", "SERVICE",
                                "ENDPOINT", "SUBSET", "STATE", "WEIGHT", "NEW", "ACTIVE", "PACKETS", "HEALTH",
                                "BREAKER");
  for (const auto& svc : s.services()) {
    if (!service.empty() && svc.name() != service) continue;
    for (const auto& e : svc.endpoints()) {
      const std::string address = e.address() + (e.port() ? fmt::format(":{}", e.port()) : "");
      const std::string state =
          e.has_drain_seconds_left() ? fmt::format("{} {}s", e.state(), e.drain_seconds_left()) : e.state();
      out += fmt::format("{:<20} {:<21} {:<8} {:<14} {:>6} {:>10} {:>8} {:>12}  {:<9} {}\n", svc.name(), address,
                         e.subset().empty() ? "-" : e.subset(), state, e.weight(), counter(e.counters(), "new_flows"),
                         counter(e.counters(), "active_flows"), counter(e.counters(), "packets"),
                         e.health().empty() ? "-" : e.health(), e.has_breaker() ? breaker_text(e.breaker()) : "-");
    }
  }
  return out;
}

std::string sas_table(const v1::GetStatsResponse& s) {
  std::string out = fmt::format("{:<14} {:<4} {:<11} {:<12} {:>4} {:<4} {:>9} {:>14} {:>12} {:>14} {:>8} {:>8}\n",
                                "PEER", "DIR", "SPI", "ALGORITHM", "ESN", "ENC", "AGE", "SEQUENCE", "PACKETS",
                                "BYTES", "REPLAY", "AUTH");
  for (const auto& sa : s.sas()) {
    const auto& c = sa.counters();
    out += fmt::format("{:<14} {:<4} {:<11} {:<12} {:>4} {:<4} {:>8.0f}s {:>14} {:>12} {:>14} {:>8} {:>8}\n",
                       sa.peer(), sa.direction() == "inbound" ? "in" : "out", sa.spi(), sa.algorithm(),
                       sa.esn() ? "yes" : "no", sa.encapsulation(), sa.age_seconds(), sa.sequence(),
                       counter(c, "packets"), counter(c, "bytes"),
                       counter(c, "replayed") + counter(c, "outside_window"), counter(c, "auth_failed"));
  }
  return out;
}

std::string ike_table(const v1::GetStatsResponse& s) {
  std::string out = fmt::format("{:<14} {:<27} {:<9} {:>8} {:>10} {:>10}  {:<40} {}\n", "PEER", "STATE", "ROLE", "UP",
                                "REKEYED", "NEXT", "IDENTITY", "CHILD SAS (IN/OUT)");
  for (const auto& p : s.ike()) {
    if (p.state() != "established") {
      out += fmt::format("{:<14} {:<27} {:<9} {:>8} {:>10} {:>10}  {:<40} {}\n", p.peer(), p.state(), "-", "-", "-", "-",
                         p.last_failure().empty() ? "-" : p.last_failure(), "-");
      continue;
    }
    out += fmt::format("{:<14} {:<27} {:<9} {:>7.0f}s {:>8.0f}s ago {:>9.0f}s  {:<40} {}\n", p.peer(),
                       p.udp() ? "established (udp 4500)" : "established", p.initiator() ? "initiator" : "responder",
                       p.established_seconds(), p.last_rekey_seconds(), p.next_rekey_seconds(), p.identity(),
                       fmt::join(p.child_sas(), " "));
  }
  return out;
}

std::string access_table(const v1::GetStatsResponse& s) {
  size_t width = 4;
  for (const auto& r : s.access_rules()) width = std::max(width, r.name().size());
  std::string out =
      fmt::format("{:<5} {:<{}} {:<6} {:<7} {:>14}  {}\n", "#", "RULE", width, "LINE", "ACTION", "HITS", "MATCH");
  int n = 0;
  for (const auto& r : s.access_rules())
    out += fmt::format("{:<5} {:<{}} {:<6} {:<7} {:>14}  {}{}\n", ++n, r.name(), width, r.line(), r.action(), r.hits(),
                       r.match(), r.log() ? " (log)" : "");
  out += fmt::format("default: {} (what no rule matches)\n", s.access_default().empty() ? "allow" : s.access_default());
  bool destinations = false;
  for (const auto& a : s.authorizations()) {
    if (a.service().empty()) {
      destinations = true;
      out += fmt::format("\nauthorization of destination {} ({}): default {}\n", a.name(),
                         fmt::join(a.destinations(), ", "), a.default_action());
    } else {
      out += fmt::format("\nauthorization of service {}: default {}; {} denied, {} audited, {} cut\n", a.service(),
                         a.default_action(), a.denied(), a.audited(), a.cut());
    }
    for (const auto& r : a.rules()) out += "  " + r + "\n";
  }
  if (destinations) {
    auto count = [&](const char* name) {
      const auto it = s.counters().find(name);
      return it == s.counters().end() ? uint64_t{0} : it->second;
    };
    out += fmt::format("\nrouted connections to destinations, all together: {} tracked, {} audited, {} cut "
                       "(denials are in the drop counter authz_denied)\n",
                       count("routed_flows"), count("routed_authz_audited"), count("routed_authz_cut"));
  }
  return out;
}

std::string patterns_table(const v1::GetStatsResponse& s) {
  if (s.pattern_sets().empty()) return "no pattern sets\n";
  std::string out;
  for (const auto& set : s.pattern_sets()) {
    const auto& c = set.counters();
    out += fmt::format("pattern set {}: first {} bytes, {} direction(s), out of order: {}, on failure: {}; used by {}\n",
                       set.name(), set.inspect_bytes(), set.directions(), set.out_of_order(), set.on_failure(),
                       set.used_by().empty() ? "nothing" : fmt::format("{}", fmt::join(set.used_by(), ", ")));
    out += fmt::format("  {} connections ({} now), {} bytes scanned, {} blocked, {} gaps, {} failed closed, {} without "
                       "state, {} switched; database {} bytes, {} bytes of stream state per direction\n",
                       counter(c, "connections"), counter(c, "active"), counter(c, "bytes"), counter(c, "blocked"),
                       counter(c, "gaps"), counter(c, "failed_closed"), counter(c, "no_state"), counter(c, "switched"),
                       set.database_bytes(), set.stream_bytes());
    size_t width = 7;
    for (const auto& p : set.patterns()) width = std::max(width, p.name().size());
    out += fmt::format("  {:<{}} {:<6} {:>12}  {}\n", "PATTERN", width, "ACTION", "MATCHES", "EXPRESSION");
    for (const auto& p : set.patterns()) {
      std::string expression = (p.literal() ? "literal " : "regex ") + p.expression();
      if (!p.flags().empty()) expression += fmt::format(" ({})", fmt::join(p.flags(), ", "));
      if (p.action() == "tag") expression += " -> tag " + p.tag();
      out += fmt::format("  {:<{}} {:<6} {:>12}  {}\n", p.name(), width, p.action(), p.matches(), expression);
    }
  }
  out += fmt::format("each worker inspects up to {} connections at once, {} bytes each\n",
                     s.inspect_capacity_per_worker(), s.inspect_record_bytes());
  return out;
}

}  // namespace meshplane::ctrl
