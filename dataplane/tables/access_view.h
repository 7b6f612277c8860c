// Access rules as workers read them (dataplane/stages/access.cc): an rte_acl
// classifier built on the control thread (ctrl/compile/access_compiler.cc)
// and what each rule does. Shared, unchanged, by every snapshot with the
// same rules.
#pragma once

#include <cstdint>

#include "dataplane/worker/counters.h"

struct rte_acl_ctx;

namespace meshplane::dataplane {

enum class AccessVerdict : uint8_t { kAllow, kDeny, kReject };  // config::AccessAction's order

struct AccessRuleView {
  AccessVerdict verdict = AccessVerdict::kAllow;
  bool log = false;
};

// The classifier's input for one IPv4 packet, as rte_acl reads it: a first
// byte, then 4-byte words, every field big-endian (network order). ICMP
// puts its type and code where TCP and UDP have ports; a packet without
// ports (other protocols, non-first fragments) has zeros there.
struct AccessKey {
  uint8_t protocol;
  uint8_t unused[3];
  uint32_t source;
  uint32_t destination;
  uint16_t source_port;
  uint16_t destination_port;
  uint32_t port;  // ingress: the policy's port index
};
static_assert(sizeof(AccessKey) == 20);

struct AccessView {
  const rte_acl_ctx* classifier = nullptr;  // null: no rules; every packet gets the default
  const AccessRuleView* rules = nullptr;    // by rule index; the classifier answers index + 1, 0 for no match
  Counter* hits = nullptr;                  // [worker * hit_stride + rule]
  uint32_t hit_stride = 0;
  uint32_t rule_count = 0;
  uint32_t log_per_second = 100;  // per worker
  uint32_t table = 0;             // names the rules in log records (ctrl::AccessTable::id)
  AccessVerdict default_verdict = AccessVerdict::kAllow;

  // False when the stage has nothing to decide.
  bool active() const { return classifier || default_verdict != AccessVerdict::kAllow; }
};

}  // namespace meshplane::dataplane
