#include "dataplane/pipeline.h"

#include "dataplane/forward.h"
#include "dataplane/lb.h"
#include "dataplane/local.h"
#include "dataplane/parse.h"

namespace meshplane::dataplane {

void pipeline_process(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  n = parse_process(w, s, in_port, pkts, n);
  pipeline_after_parse(w, s, in_port, pkts, n);
}

void pipeline_after_parse(WorkerCtx& w, const Snapshot& s, uint16_t in_port, rte_mbuf** pkts, uint16_t n) {
  n = lb_process(w, s, in_port, pkts, n);
  n = local_process(w, s, in_port, pkts, n);
  forward_process(w, s, in_port, pkts, n);
}

}  // namespace meshplane::dataplane
