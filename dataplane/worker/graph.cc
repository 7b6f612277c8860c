#include "dataplane/worker/graph.h"

#include <cstring>
#include <utility>

#include "dataplane/stages/access.h"
#include "dataplane/stages/esp_decrypt.h"
#include "dataplane/stages/esp_encrypt.h"
#include "dataplane/stages/forward.h"
#include "dataplane/stages/inspect.h"
#include "dataplane/stages/lb.h"
#include "dataplane/stages/local.h"
#include "dataplane/stages/parse.h"
#include "dataplane/stages/routed_authz.h"
#include "dataplane/worker/tx.h"
#include "dataplane/worker/worker_ctx.h"

namespace meshplane::dataplane {
namespace {

uint16_t parse_stage(WorkerCtx& w, const Snapshot& s, uint16_t in_port, Burst& in) {
  return parse_process(w, s, in_port, in.pkts, in.n);
}

}  // namespace

Graph::Graph() {
  const auto slot = [this](Stage st, StageFn fn, Stage next) {
    stage_[static_cast<size_t>(st)] = fn;
    next_[static_cast<size_t>(st)] = next;
  };
  slot(Stage::kParse, parse_stage, Stage::kDecrypt);
  slot(Stage::kDecrypt, esp_decrypt_process, Stage::kAccess);
  slot(Stage::kAccess, access_process, Stage::kLb);
  slot(Stage::kLb, lb_process, Stage::kRoutedAuthz);
  slot(Stage::kRoutedAuthz, routed_authz_process, Stage::kLocal);
  slot(Stage::kInspect, inspect_process, Stage::kRoute);
  slot(Stage::kLocal, local_process, Stage::kRoute);
  slot(Stage::kRoute, route_process, Stage::kEgress);
  slot(Stage::kRouteOriginated, route_originated_process, Stage::kEgress);
  slot(Stage::kEncrypt, esp_encrypt_process, Stage::kRouteEncrypted);
  slot(Stage::kRouteEncrypted, route_encrypted_process, Stage::kEgress);
  slot(Stage::kEgress, egress_process, Stage::kCount);  // keeps nothing
  for (size_t i = 0; i < kStageCount; ++i) input_[i] = static_cast<uint8_t>(i);
}

// A traced run (a marked packet in it: dataplane/worker/trace.h) records
// where marked packets go; a plain one pays nothing for that.
void Graph::run(WorkerCtx& w, const Snapshot& s, uint16_t in_port) {
  if (w.traced.n) [[unlikely]]
    run_stages<true>(w, s, in_port);
  else
    run_stages<false>(w, s, in_port);
}

template <bool kTraced>
void Graph::run_stages(WorkerCtx& w, const Snapshot& s, uint16_t in_port) {
  for (size_t i = 0; i < kStageCount; ++i) {
    Burst& in = storage_[input_[i]];
    if (in.n == 0) continue;
    if constexpr (kTraced) trace_stage(w, static_cast<Stage>(i), in);
    const uint16_t kept = stage_[i](w, s, in_port, in);
    in.n = 0;
    if (kept == 0) continue;
    const auto next = static_cast<size_t>(next_[i]);
    Burst& out = storage_[input_[next]];
    if (out.n == 0) {
      std::swap(input_[i], input_[next]);  // hand the burst over
      in.n = kept;  // `in` is now the next stage's input
    } else {
      std::memcpy(out.pkts + out.n, in.pkts, kept * sizeof(rte_mbuf*));
      out.n = static_cast<uint16_t>(out.n + kept);
    }
  }
}

uint16_t egress_process(WorkerCtx& w, const Snapshot&, uint16_t, Burst& in) {
  for (uint16_t i = 0; i < in.n; ++i) tx_enqueue(w, in.pkts[i]->port, in.pkts[i]);
  return 0;
}

}  // namespace meshplane::dataplane
