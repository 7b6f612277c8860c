// The meshplane process after EAL start-up: ports, workers, and the control
// thread's loop on the main lcore.
#pragma once

#include <string>

namespace meshplane::ctrl {

struct DaemonOptions {
  std::string config_path;
  std::string stats_file;  // JSON counters rewritten every stats_interval seconds; empty: off
  double stats_interval = 1.0;
  std::string run_dir = "/run/meshplane";
  std::string socket_path;  // API socket; empty: run_dir/meshplane.sock
};

// Runs until SIGINT/SIGTERM. Returns the process exit code.
int run_daemon(const DaemonOptions& options);

}  // namespace meshplane::ctrl
