// The control thread's side of a packet trace (`meshctl trace`): the
// question turned into the workers' filter, the workers' records gathered
// per packet, and each packet rendered as the steps it took, named from the
// running policy (ports, access rules, services, peers, routes).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/compile/compiled_snapshot.h"
#include "dataplane/worker/trace.h"

namespace meshplane::ctrl {

struct TraceQuery {
  uint32_t count = 10;
  std::string source, destination;  // prefixes ("10.1.0.0/24") or addresses; empty: any
  std::string protocol;             // tcp, udp, icmp, a number; empty: any
  uint16_t port = 0;                // either L4 port; 0: any
  std::string ingress;              // a port's name; empty: any
};

// The filter the workers match; an error names the field that is wrong.
config::Status trace_filter(const TraceQuery& q, const config::Policy& policy, dataplane::TraceFilter& out);

struct TracedPacket {
  uint32_t id = 0;
  uint32_t worker = 0;
  std::vector<std::string> steps;
  std::string verdict;  // sent, dropped (reason), handed off, punted; "incomplete" when records were lost
};

class TraceSession {
 public:
  explicit TraceSession(uint32_t count) : count_(count) {}
  void add(const dataplane::TraceRecord& r) { packets_[r.packet].push_back(r); }
  // Packets whose last record arrived, rendered and forgotten; with `all`, the rest too (the trace ends).
  std::vector<TracedPacket> take(const config::Policy& policy, const CompiledSnapshot& s, bool all);
  uint32_t count() const { return count_; }

 private:
  uint32_t count_;
  std::map<uint32_t, std::vector<dataplane::TraceRecord>> packets_;
};

// One packet's records as steps (exposed for tests).
TracedPacket render(const std::vector<dataplane::TraceRecord>& records, const config::Policy& policy,
                    const CompiledSnapshot& s);

}  // namespace meshplane::ctrl
