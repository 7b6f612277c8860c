// Writes the workers' flow-log records (dataplane/worker/flow_log.h) as
// JSON lines, to a file (appended, created mode 0640) or to a unix stream
// socket a collector listens on (connected when it can be, every second
// otherwise; a collector too slow to read loses lines, counted, beyond a
// 1 MiB backlog). Control thread only; never blocks it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "config/model.h"
#include "dataplane/worker/flow_log.h"

namespace meshplane::ctrl {

// One record as a JSON line (no newline). `service`: its name (empty for a
// routed flow); `unix_ms_offset`: add to a worker's millisecond clock for Unix time.
std::string flow_log_json(const dataplane::FlowLogRecord& r, uint16_t worker, const std::string& service,
                          int64_t unix_ms_offset);

class FlowLogWriter {
 public:
  // Opens the file (throws std::runtime_error saying why), or remembers the socket.
  explicit FlowLogWriter(const config::FlowLogSettings& settings);
  ~FlowLogWriter();
  FlowLogWriter(const FlowLogWriter&) = delete;
  FlowLogWriter& operator=(const FlowLogWriter&) = delete;

  void write(const std::string& line);
  // Sends what is buffered (call once per batch).
  void flush();
  uint64_t lost() const { return lost_; }  // lines a socket could not take

 private:
  void connect();
  std::string socket_path_;
  std::FILE* file_ = nullptr;
  int fd_ = -1;
  std::string backlog_;
  uint64_t lost_ = 0;
  int64_t next_connect_ms_ = 0;
};

}  // namespace meshplane::ctrl
