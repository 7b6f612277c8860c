// The running policy and every way it changes: a whole document (SIGHUP, the
// API's Apply), endpoint updates (the API's UpdateEndpoints), and drains that
// end. Each change is all or nothing: validate, assign slots, compile, then
// publish one snapshot (generation + 1); a failure at any step changes
// nothing. Runs on the control thread only, but for refuse() and generation().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/parser.h"
#include "config/status.h"
#include "ctrl/telemetry/duration_histogram.h"
#include "ctrl/apply/event_log.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/compile/snapshot_compiler.h"

namespace meshplane::ctrl {

// What a change to the running state did: its status, and the generation running afterwards.
struct Outcome : config::Status {
  uint64_t generation = 0;
  bool applied = false;
};

struct EndpointChange {
  enum class Op { kAdd, kRemove, kSetWeight, kDrain };
  Op op = Op::kAdd;
  uint32_t address = 0;  // host order
  uint16_t port = 0;
  uint32_t weight = 1;
  std::string subset;
};

// The SAs IKE negotiated for a peer keyed by IKE (every Child SA's inbound
// SA, the newest one's outbound SA), whether ESP goes in UDP (a NAT), and to
// which of the peer's ports.
struct NegotiatedSas {
  std::vector<config::SecurityAssociation> sas;
  bool udp = false;
  uint16_t udp_port = 4500;  // the peer's port for ESP in UDP (its NAT's mapping, behind one)
};

struct SaChange {
  enum class Op { kAdd, kDelete };
  Op op = Op::kAdd;
  config::SecurityAssociation sa;  // kDelete: direction and spi
};

class PolicyManager {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    // Publishes and returns once the old snapshot is retired (SnapshotSlot::publish).
    std::function<void(std::unique_ptr<dataplane::Snapshot>)> publish;
    // Before publishing: slots handed out for the first time (counters to zero).
    std::function<void(const LbRegistry&)> fresh_slots;
    // Before publishing (not for a dry run): set up the SA slots handed out
    // for the first time (SaTable::prepare); a failure rejects the change.
    std::function<config::Status(const config::Policy&, const SaRegistry&)> prepare_sas;
    // After publishing: the new policy is running (neighbour settings, announcements).
    std::function<void(const config::Policy&, const dataplane::Snapshot&)> published;
  };

  // Compiles and publishes generation 1; throws std::runtime_error on failure.
  PolicyManager(config::Policy initial, std::vector<PortBinding> ports, Hooks hooks, Clock::time_point now);

  // A whole document, already read (config::load_policy_text: reading needs
  // no daemon state, so the API reads on its own thread, not this one).
  Outcome apply(config::ParseResult loaded, const std::string& source, bool dry_run, Clock::time_point now);
  Outcome apply(const std::string& yaml, const std::string& source, bool dry_run, Clock::time_point now) {
    return apply(config::load_policy_text(yaml, source), source, dry_run, now);
  }
  Outcome update_endpoints(const std::string& service, const std::vector<EndpointChange>& changes, bool dry_run,
                           Clock::time_point now);
  // Adds and deletes one peer's SAs, all or nothing (validated as a document is).
  Outcome update_sas(const std::string& peer, const std::vector<SaChange>& changes, bool dry_run,
                     Clock::time_point now);
  // The outcome of a document that could not be read (`loaded` has errors):
  // an event unless a dry run. Any thread: it touches no policy state, so a
  // bad document is answered without waiting for the control thread.
  Outcome refuse(config::ParseResult loaded, const std::string& source, bool dry_run);
  // Ends the drains that are over, publishing when any did.
  void end_drains(Clock::time_point now);
  // The SAs of an IKE-keyed peer, as IKE negotiated them: compiled into the
  // peer (never part of policy(), so no document replaces them), kept until
  // replaced or the peer stops being keyed by IKE. Published at once.
  Outcome set_negotiated(const std::string& peer, NegotiatedSas sas, Clock::time_point now);
  // An endpoint's health from active checks (`why` says what the checks saw):
  // an unhealthy endpoint gets no new connections (weight 0 in the published
  // snapshot, the policy unchanged) unless too few of its service's endpoints
  // are healthy (panic_threshold: then all are balanced over). Published as
  // an endpoint change; kept across policy changes while the endpoint stays.
  void set_health(const std::string& service, uint32_t address, uint16_t port, bool healthy, const std::string& why,
                  Clock::time_point now) {
    mark(service, address, port, kUnhealthy, !healthy, why, now);
  }
  // An endpoint ejected by outlier detection (or returned): the same effect as being unhealthy.
  void set_ejected(const std::string& service, uint32_t address, uint16_t port, bool ejected, const std::string& why,
                   Clock::time_point now) {
    mark(service, address, port, kEjected, ejected, why, now);
  }
  bool healthy(const std::string& service, uint32_t address, uint16_t port) const {
    return !(out_of(service, address, port) & kUnhealthy);
  }
  bool ejected(const std::string& service, uint32_t address, uint16_t port) const {
    return out_of(service, address, port) & kEjected;
  }

  const config::Policy& policy() const { return policy_; }
  // What the running snapshot was compiled from: policy() with negotiated SAs and health applied.
  const config::Policy& compiled_policy() const { return compiled_policy_; }
  const LbRegistry& registry() const { return *registry_; }
  const SaRegistry& sa_registry() const { return *sas_; }
  const CompiledSnapshot* running() const { return running_; }  // the last one published
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }  // any thread
  EventLog& events() { return events_; }
  // Any thread: compiled pattern sets the next compile takes instead of compiling them.
  PatternCache& pattern_cache() { return patterns_; }
  // Seconds from a validated change to its snapshot running (compile and publish), per applied change.
  const DurationHistogram& apply_seconds() const { return apply_seconds_; }

 private:
  Outcome commit(config::Policy next, bool dry_run, Clock::time_point now, const std::string& what);
  Outcome validate_and_commit(config::Policy next, bool dry_run, Clock::time_point now, const std::string& what);
  // `p` as compiled: unhealthy and ejected endpoints at weight 0, unless their service panics.
  config::Policy with_health(const config::Policy& p) const;
  // `p` with the SAs IKE negotiated in its IKE-keyed peers.
  config::Policy with_negotiated(const config::Policy& p) const;
  static constexpr uint8_t kUnhealthy = 1, kEjected = 2;  // why an endpoint is out
  uint8_t out_of(const std::string& service, uint32_t address, uint16_t port) const {
    const auto it = out_.find({service, address, port});
    return it == out_.end() ? 0 : it->second;
  }
  void mark(const std::string& service, uint32_t address, uint16_t port, uint8_t why_out, bool out,
            const std::string& why, Clock::time_point now);

  config::Policy policy_;
  config::Policy compiled_policy_;  // what running_ was compiled from: policy_ with_health
  std::map<std::tuple<std::string, uint32_t, uint16_t>, uint8_t> out_;  // (service, address, port): kUnhealthy | kEjected
  std::map<std::string, NegotiatedSas> negotiated_;  // by peer name
  std::vector<PortBinding> ports_;
  Hooks hooks_;
  std::unique_ptr<LbRegistry> registry_;
  std::unique_ptr<SaRegistry> sas_;
  std::atomic<uint64_t> generation_{0};  // written by the control thread only
  const CompiledSnapshot* running_ = nullptr;  // the last one published (only we publish)
  EventLog events_;
  PatternCache patterns_;  // filled by the API thread before it queues a document
  DurationHistogram apply_seconds_;
};

// Ports, pool sizes and the load_balancer section are fixed while running:
// kNeedsRestart with what changed among them, else ok.
config::Status restart_only_change(const config::Policy& running, const config::Policy& next);

}  // namespace meshplane::ctrl
