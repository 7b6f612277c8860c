#include "dataplane/stages/authorize.h"

#include <rte_byteorder.h>

#include "dataplane/stages/access.h"
#include "dataplane/worker/lb_counters.h"

namespace meshplane::dataplane {
namespace {

void report_audit(WorkerCtx& w, const Snapshot& s, LogKind kind, uint32_t table, int32_t rule, const FlowKey& key,
                  bool allowed) {
  AccessLogRecord r{table, static_cast<uint32_t>(rule),
                    AccessKey{key.proto, {}, key.src_addr, key.dst_addr, key.src_port, key.dst_port, 0},
                    allowed ? AccessVerdict::kAllow : AccessVerdict::kDeny, kind, {}};
  send_log(w, s, r);
}

AuthzDecision decide(const Snapshot& s, uint32_t policy, const FlowKey& key) {
  const uint32_t source = rte_be_to_cpu_32(key.src_addr);
  return s.authz.decide(policy, s.authz.client(source, s.tunnel_of(source)), key.proto,
                        rte_be_to_cpu_16(key.dst_port));
}

// The policy that decides flow `f` in snapshot `s`; 0: none.
uint32_t policy_of(const Snapshot& s, const Flow& f) {
  return f.routed() ? s.authz.destination_policy(rte_be_to_cpu_32(f.key[0].dst_addr)) : s.authz.policy_of(f.service);
}

}  // namespace

bool authorize(WorkerCtx& w, const Snapshot& s, uint32_t policy, uint32_t slot, const FlowKey& key,
               uint32_t* inspect) {
  const AuthzDecision d = decide(s, policy, key);
  if (const uint32_t set = d.allowed && inspect ? s.authz.inspect_of(policy, d) : 0) *inspect = set;
  if (d.audit_rule >= 0) {
    w.lb.services[slot].authz_audited.add();
    report_audit(w, s, LogKind::kAuthzAudit, slot, d.audit_rule, key, d.allowed);
  }
  return d.allowed;
}

bool authorize_routed(WorkerCtx& w, const Snapshot& s, uint32_t policy, const FlowKey& key, uint32_t* inspect) {
  const AuthzDecision d = decide(s, policy, key);
  if (const uint32_t set = d.allowed && inspect ? s.authz.inspect_of(policy, d) : 0) *inspect = set;
  if (d.audit_rule >= 0) {
    w.counters->routed_authz_audited.add();
    report_audit(w, s, LogKind::kRoutedAudit, policy, d.audit_rule, key, d.allowed);
  }
  return d.allowed;
}

bool reauthorize(WorkerCtx& w, const Snapshot& s, Flow& f) {
  if (const uint32_t policy = policy_of(s, f);
      policy && !s.authz.policies[policy - 1].keep_existing && !decide(s, policy, f.key[0]).allowed) {
    if (is_open(f.state)) {  // one already closing is not cut
      if (f.routed())
        w.counters->routed_authz_cut.add();
      else
        w.lb.services[f.service].authz_cut.add();
    }
    return false;
  }
  f.authz_epoch = s.authz.epoch;
  return true;
}

}  // namespace meshplane::dataplane
