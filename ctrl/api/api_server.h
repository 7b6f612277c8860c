// The gRPC API (ctrl/proto/meshplane.proto) on a unix socket. Requests run
// on gRPC's threads only as far as decoding; everything that reads or
// changes daemon state is handed to the control thread (ControlQueue).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/yaml_tree.h"
#include "ctrl/api/control_queue.h"
#include "ctrl/telemetry/trace_session.h"
#include "ctrl/apply/event_log.h"
#include "ctrl/apply/policy_manager.h"
#include "meshplane.pb.h"

namespace grpc {
class Server;
}

namespace meshplane::ctrl {

// The largest message either side accepts: a policy document at its limit
// and the rest of the request.
inline constexpr size_t kMaxApiMessageBytes = config::kMaxPolicyBytes + (1u << 20);

struct StatusInfo {
  struct Port {
    std::string name, device, mac;
    bool link_up = false;
    std::string state;  // up, link-down, detached
  };
  struct Worker {
    uint32_t id = 0, lcore = 0;
    uint64_t flows = 0;
  };
  std::string node;
  uint64_t generation = 0;
  double uptime_seconds = 0;
  std::vector<Port> ports;
  std::vector<Worker> workers;
  uint32_t services = 0;
  std::string metrics;  // the Prometheus endpoint's URL; empty: off
};

struct ApiContext {
  ControlQueue* queue = nullptr;
  PolicyManager* manager = nullptr;                // control thread only, but for refuse() and generation()
  EventLog* events = nullptr;                      // thread-safe
  std::function<v1::GetStatsResponse()> stats;    // control thread
  std::function<StatusInfo()> status;              // control thread
  // Detaches (attach false) or attaches a port; the port's state afterwards. Control thread.
  std::function<Outcome(const std::string& port, bool attach, std::string& state)> set_port;
  // Packet trace (ctrl/telemetry/trace_session.h), control thread: start one
  // (an error if the filter is wrong or one runs), take the packets done so
  // far (all of them, and end it, with `last`).
  std::function<config::Status(const TraceQuery&)> trace_start;
  std::function<std::vector<TracedPacket>(bool last)> trace_take;
};

class ApiServer {
 public:
  // Serves on `socket_path`, created with mode 0660. A stale socket (nobody
  // listening) is replaced; a live one means another instance: throws.
  ApiServer(const std::string& socket_path, ApiContext ctx);
  ~ApiServer();
  void stop();
  const std::string& socket_path() const { return path_; }

 private:
  class Service;
  std::string path_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace meshplane::ctrl
