#include "dataplane/stages/authorize.h"

#include <rte_byteorder.h>

#include "dataplane/stages/access.h"
#include "dataplane/worker/lb_counters.h"

namespace meshplane::dataplane {
namespace {

void report_audit(WorkerCtx& w, const Snapshot& s, uint32_t slot, int32_t rule, const FlowKey& key, bool allowed) {
  w.lb.services[slot].authz_audited.add();
  AccessLogRecord r{slot, static_cast<uint32_t>(rule),
                    AccessKey{key.proto, {}, key.src_addr, key.dst_addr, key.src_port, key.dst_port, 0},
                    allowed ? AccessVerdict::kAllow : AccessVerdict::kDeny, LogKind::kAuthzAudit, {}};
  send_log(w, s, r);
}

AuthzDecision decide(const Snapshot& s, uint32_t policy, const FlowKey& key) {
  const uint32_t source = rte_be_to_cpu_32(key.src_addr);
  return s.authz.decide(policy, s.authz.client(source, s.tunnel_of(source)), key.proto,
                        rte_be_to_cpu_16(key.dst_port));
}

}  // namespace

bool authorize(WorkerCtx& w, const Snapshot& s, uint32_t policy, uint32_t slot, const FlowKey& key) {
  const AuthzDecision d = decide(s, policy, key);
  if (d.audit_rule >= 0) report_audit(w, s, slot, d.audit_rule, key, d.allowed);
  return d.allowed;
}

bool reauthorize(WorkerCtx& w, const Snapshot& s, Flow& f) {
  if (const uint32_t policy = s.authz.policy_of(f.service);
      policy && !s.authz.policies[policy - 1].keep_existing && !decide(s, policy, f.key[0]).allowed) {
    if (is_open(f.state)) w.lb.services[f.service].authz_cut.add();  // one already closing is not cut
    return false;
  }
  f.authz_epoch = s.authz.epoch;
  return true;
}

}  // namespace meshplane::dataplane
