#include "ctrl/apply/policy_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "config/address.h"
#include "config/parser.h"
#include "config/validate.h"

namespace meshplane::ctrl {

namespace {

// What changed among the parts fixed while running, or empty.
std::string fixed_part_changed(const config::Policy& a, const config::Policy& b) {
  if (a.ports.size() != b.ports.size()) return "the number of ports changed";
  for (size_t i = 0; i < a.ports.size(); ++i) {
    const auto &x = a.ports[i], &y = b.ports[i];
    if (x.name != y.name || x.device != y.device || x.mac != y.mac || x.mtu != y.mtu)
      return fmt::format("port '{}' changed its name, device, mac or mtu", x.name);
  }
  const auto &p = a.dataplane, &q = b.dataplane;
  if (p.mbufs != q.mbufs || p.rx_descriptors != q.rx_descriptors || p.tx_descriptors != q.tx_descriptors ||
      p.punt_ring_size != q.punt_ring_size)
    return "the dataplane section changed";
  if (a.neighbour_table.capacity != b.neighbour_table.capacity) return "neighbour_table.capacity changed";
  if (a.api.socket != b.api.socket) return "api.socket changed";
  if (a.api.metrics_address != b.api.metrics_address || a.api.metrics_port != b.api.metrics_port)
    return "api.metrics changed";
  if (a.flow_logs != b.flow_logs) return "the flow_logs section changed";
  if (a.inspection.flows_per_worker != b.inspection.flows_per_worker) return "inspection.flows_per_worker changed";
  if (a.exception_path != b.exception_path) return "the exception_path section changed";
  if (a.ike != b.ike) return "the ike section changed";
  if (a.ipsec.max_sas != b.ipsec.max_sas || a.ipsec.sequence_file != b.ipsec.sequence_file)
    return "the ipsec section changed";
  const auto &l = a.load_balancer, &m = b.load_balancer;
  const auto &t = l.timeouts, &u = m.timeouts;
  if (l.flow_capacity != m.flow_capacity || l.nat_port_min != m.nat_port_min || l.nat_port_max != m.nat_port_max ||
      l.max_services != m.max_services || l.max_endpoints != m.max_endpoints ||
      l.rate_limit_sources != m.rate_limit_sources || t.tcp_syn != u.tcp_syn ||
      t.tcp_established != u.tcp_established || t.tcp_closing != u.tcp_closing || t.tcp_reset != u.tcp_reset ||
      t.udp != u.udp)
    return "the load_balancer section changed";
  return {};
}

}  // namespace

config::Status restart_only_change(const config::Policy& a, const config::Policy& b) {
  if (auto what = fixed_part_changed(a, b); !what.empty())
    return config::Status::failure(Outcome::Code::kNeedsRestart, what + "; that needs a restart");
  return {};
}

namespace {

LbRegistry::Clock::duration longest_timeout(const config::Policy& p) {
  const auto& t = p.load_balancer.timeouts;
  return std::chrono::seconds(std::max({t.tcp_syn, t.tcp_established, t.tcp_closing, t.tcp_reset, t.udp}) + 1);
}

Outcome failure(config::Status status, uint64_t generation) {
  Outcome o;
  o.status() = std::move(status);
  o.generation = generation;
  return o;
}

Outcome failure(Outcome::Code code, std::string message, uint64_t generation) {
  return failure(config::Status::failure(code, std::move(message)), generation);
}

}  // namespace

PolicyManager::PolicyManager(config::Policy initial, std::vector<PortBinding> ports, Hooks hooks,
                             Clock::time_point now)
    : policy_(std::move(initial)), ports_(std::move(ports)), hooks_(std::move(hooks)) {
  const auto& lb = policy_.load_balancer;
  registry_ = std::make_unique<LbRegistry>(lb.max_services, lb.max_endpoints, longest_timeout(policy_));
  if (auto s = registry_->update(policy_.services, now); !s.ok()) throw std::runtime_error(s.message);
  sas_ = std::make_unique<SaRegistry>(policy_.ipsec.max_sas);
  if (auto s = sas_->update(policy_.peers); !s.ok()) throw std::runtime_error(s.message);
  auto compiled = compile_snapshot(policy_, ports_, 1, registry_.get(), {}, sas_.get(), &patterns_);
  if (!compiled.ok()) throw std::runtime_error(compiled.message);
  if (hooks_.prepare_sas)
    if (auto s = hooks_.prepare_sas(policy_, *sas_); !s.ok()) throw std::runtime_error(s.message);
  if (hooks_.fresh_slots) hooks_.fresh_slots(*registry_);
  running_ = compiled.snapshot.get();
  compiled_policy_ = policy_;
  hooks_.publish(std::move(compiled.snapshot));
  generation_ = 1;
  if (hooks_.published) hooks_.published(policy_, *running_);
}

Outcome PolicyManager::refuse(config::ParseResult loaded, const std::string& source, bool dry_run) {
  const uint64_t generation = this->generation();
  Outcome o = failure(std::move(loaded.status()), generation);
  o.message = fmt::format("{} error(s) in {}:\n{}", o.errors.size(), source, o.message);
  if (!dry_run) events_.add("policy_rejected", generation, fmt::format("{}: {} error(s)", source, o.errors.size()));
  return o;
}

Outcome PolicyManager::apply(config::ParseResult loaded, const std::string& source, bool dry_run,
                             Clock::time_point now) {
  if (!loaded.ok()) return refuse(std::move(loaded), source, dry_run);
  return commit(std::move(loaded.policy), dry_run, now, source);
}

Outcome PolicyManager::update_endpoints(const std::string& service, const std::vector<EndpointChange>& changes,
                                        bool dry_run, Clock::time_point now) {
  config::Policy next = policy_;
  auto svc = std::find_if(next.services.begin(), next.services.end(), [&](auto& s) { return s.name == service; });
  if (svc == next.services.end())
    return failure(Outcome::Code::kNotFound, fmt::format("no service named '{}'", service), generation_);
  for (const auto& c : changes) {
    const std::string name = fmt::format("{}{}", config::ipv4_to_string(c.address), c.port ? fmt::format(":{}", c.port) : "");
    auto ep = std::find_if(svc->endpoints.begin(), svc->endpoints.end(),
                           [&](auto& e) { return e.address == c.address && e.port == c.port; });
    if (c.op == EndpointChange::Op::kAdd) {
      if (ep != svc->endpoints.end())
        return failure(Outcome::Code::kAlreadyExists, fmt::format("service '{}' already has endpoint {}", service, name),
                       generation_);
      config::Endpoint e;
      e.address = c.address;
      e.port = c.port;
      e.weight = c.weight;
      e.subset = c.subset;
      svc->endpoints.push_back(e);
      continue;
    }
    if (ep == svc->endpoints.end())
      return failure(Outcome::Code::kNotFound, fmt::format("service '{}' has no endpoint {}", service, name),
                     generation_);
    if (c.op == EndpointChange::Op::kRemove) svc->endpoints.erase(ep);
    else ep->weight = c.op == EndpointChange::Op::kDrain ? 0 : c.weight;
  }
  return validate_and_commit(std::move(next), dry_run, now, fmt::format("endpoint update of '{}'", service));
}

// The same checks as a document gets; positions refer to nothing here.
Outcome PolicyManager::validate_and_commit(config::Policy next, bool dry_run, Clock::time_point now,
                                           const std::string& what) {
  config::Diagnostics d(what);
  config::validate(next, d);
  if (!d.ok()) return failure(config::Status::invalid(d.take()), generation_);
  return commit(std::move(next), dry_run, now, what);
}

Outcome PolicyManager::update_sas(const std::string& peer, const std::vector<SaChange>& changes, bool dry_run,
                                  Clock::time_point now) {
  config::Policy next = policy_;
  auto p = std::find_if(next.peers.begin(), next.peers.end(), [&](auto& x) { return x.name == peer; });
  if (p == next.peers.end()) return failure(Outcome::Code::kNotFound, fmt::format("no peer named '{}'", peer), generation_);
  for (const auto& c : changes) {
    const char* direction = c.sa.direction == config::SaDirection::kInbound ? "inbound" : "outbound";
    auto sa = std::find_if(p->sas.begin(), p->sas.end(),
                           [&](auto& x) { return x.direction == c.sa.direction && x.spi == c.sa.spi; });
    if (c.op == SaChange::Op::kAdd) {
      if (sa != p->sas.end())
        return failure(Outcome::Code::kAlreadyExists,
                       fmt::format("peer '{}' already has {} SPI 0x{:x}", peer, direction, c.sa.spi), generation_);
      p->sas.push_back(c.sa);
    } else if (sa == p->sas.end()) {
      return failure(Outcome::Code::kNotFound, fmt::format("peer '{}' has no {} SPI 0x{:x}", peer, direction, c.sa.spi),
                     generation_);
    } else {
      p->sas.erase(sa);
    }
  }
  return validate_and_commit(std::move(next), dry_run, now, fmt::format("SA update of peer '{}'", peer));
}

Outcome PolicyManager::commit(config::Policy next, bool dry_run, Clock::time_point now, const std::string& what) {
  auto reject = [&](config::Status status) {
    if (!dry_run) events_.add("policy_rejected", generation_, fmt::format("{}: {}", what, status.message));
    return failure(std::move(status), generation_);
  };
  if (auto s = restart_only_change(policy_, next); !s.ok()) return reject(std::move(s));
  const auto started = std::chrono::steady_clock::now();
  LbRegistry registry = *registry_;
  if (auto s = registry.update(next.services, now); !s.ok()) return reject(std::move(s));
  config::Policy effective = with_health(with_negotiated(next));
  SaRegistry sas = *sas_;
  if (auto s = sas.update(effective.peers); !s.ok()) return reject(std::move(s));
  auto compiled =
      compile_snapshot(effective, ports_, generation_ + 1, &registry, {running_, &compiled_policy_}, &sas, &patterns_);
  if (!compiled.ok()) return reject(std::move(compiled.status()));
  Outcome o;
  o.generation = generation_;
  if (dry_run) return o;
  // Fresh SA slots are named by no running snapshot: set them up before this one is.
  if (hooks_.prepare_sas)
    if (auto s = hooks_.prepare_sas(effective, sas); !s.ok()) return reject(std::move(s));

  std::vector<std::string> draining;  // those still draining: drain_seconds 0 ends at once
  for (const auto& id : registry.started_draining())
    if (registry.endpoints().count(id)) draining.push_back(LbRegistry::endpoint_name(id));
  *registry_ = std::move(registry);
  *sas_ = std::move(sas);
  if (hooks_.fresh_slots) hooks_.fresh_slots(*registry_);
  running_ = compiled.snapshot.get();  // current, so alive, until the next publish
  compiled_policy_ = std::move(effective);
  hooks_.publish(std::move(compiled.snapshot));
  apply_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  policy_ = std::move(next);
  std::erase_if(negotiated_, [&](const auto& entry) {  // peers no longer keyed by IKE keep nothing
    return std::none_of(policy_.peers.begin(), policy_.peers.end(),
                        [&](const config::Peer& p) { return p.name == entry.first && p.ike; });
  });
  // Health and ejections are kept for endpoints that stay; one that returns starts healthy, as its checks do.
  std::erase_if(out_, [&](const auto& entry) {
    const auto& [service, address, port] = entry.first;
    return std::none_of(policy_.services.begin(), policy_.services.end(), [&](const config::Service& svc) {
      return svc.name == service && (svc.health_check || svc.outlier_detection) &&
             std::any_of(svc.endpoints.begin(), svc.endpoints.end(),
                         [&](const config::Endpoint& e) { return e.address == address && e.port == port; });
    });
  });
  o.generation = ++generation_;
  o.applied = true;
  if (hooks_.published) hooks_.published(policy_, *running_);
  events_.add("policy_applied", generation_, what);
  for (auto& name : draining) events_.add("endpoint_draining", generation_, name);
  return o;
}

void PolicyManager::end_drains(Clock::time_point now) {
  LbRegistry registry = *registry_;
  const auto finished = registry.expire(now);
  if (finished.empty()) return;
  auto compiled = compile_snapshot(compiled_policy_, ports_, generation_ + 1, &registry, {running_, &compiled_policy_},
                                   sas_.get(), &patterns_);
  if (!compiled.ok()) {
    events_.add("policy_rejected", generation_, "the end of a drain cannot be published: " + compiled.message);
    return;  // retried on the next tick
  }
  *registry_ = std::move(registry);
  running_ = compiled.snapshot.get();
  hooks_.publish(std::move(compiled.snapshot));
  ++generation_;
  for (const auto& name : finished) events_.add("endpoint_drained", generation_, name);
}

Outcome PolicyManager::set_negotiated(const std::string& peer, NegotiatedSas sas, Clock::time_point now) {
  const auto p = std::find_if(policy_.peers.begin(), policy_.peers.end(), [&](auto& x) { return x.name == peer; });
  if (p == policy_.peers.end() || !p->ike)
    return failure(Outcome::Code::kNotFound, fmt::format("no peer named '{}' keyed by IKE", peer), generation_);
  for (auto& sa : sas.sas) sa.negotiated = true;
  NegotiatedSas before = negotiated_[peer];
  negotiated_[peer] = std::move(sas);
  Outcome o = commit(policy_, false, now, fmt::format("IKE keyed peer '{}'", peer));
  if (!o.applied) negotiated_[peer] = std::move(before);
  return o;
}

config::Policy PolicyManager::with_negotiated(const config::Policy& p) const {
  if (negotiated_.empty()) return p;
  config::Policy out = p;
  for (auto& peer : out.peers) {
    const auto it = negotiated_.find(peer.name);
    if (!peer.ike || it == negotiated_.end()) continue;
    peer.sas = it->second.sas;
    if (it->second.udp) {
      peer.encapsulation = config::Encapsulation::kUdp;
      peer.udp_port = it->second.udp_port;
    }
  }
  return out;
}

config::Policy PolicyManager::with_health(const config::Policy& p) const {
  config::Policy out = p;
  for (auto& svc : out.services) {
    if (!svc.health_check && !svc.outlier_detection) continue;
    size_t serving = 0, in = 0;
    for (const auto& e : svc.endpoints)
      if (e.weight) ++serving, in += !out_of(svc.name, e.address, e.port);
    if (in * 100 < serving * svc.panic_threshold) continue;  // panic: balance over all of them
    for (auto& e : svc.endpoints)
      if (out_of(svc.name, e.address, e.port)) e.weight = 0, e.reset = svc.reset_unhealthy;
  }
  return out;
}

void PolicyManager::mark(const std::string& service, uint32_t address, uint16_t port, uint8_t why_out, bool out,
                         const std::string& why, Clock::time_point now) {
  const auto key = std::tuple{service, address, port};
  const uint8_t before = out_of(service, address, port);
  const uint8_t after = out ? before | why_out : before & ~why_out;
  if (after == before) return;
  if (after)
    out_[key] = after;
  else
    out_.erase(key);
  const std::string name = LbRegistry::endpoint_name({service, address, port});
  const char* kind = why_out == kUnhealthy ? (out ? "endpoint_unhealthy" : "endpoint_healthy")
                                           : (out ? "endpoint_ejected" : "endpoint_returned");
  const std::string what = fmt::format("{}: {}", name, why);
  if (with_health(policy_).services != compiled_policy_.services)  // else a panicking service balances over all the same
    commit(policy_, false, now, fmt::format("{}: {}", kind, what));
  events_.add(kind, generation_, what);
}

}  // namespace meshplane::ctrl
