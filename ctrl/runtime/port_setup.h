// Bringing DPDK ports up and down for the daemon. Start-up errors are thrown
// as std::runtime_error carrying one line an operator can act on.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.h"

struct rte_mempool;

namespace meshplane::ctrl {

struct RunningPort {
  std::string name;
  std::string device;
  uint16_t dpdk_port = 0;
  rte_ether_addr mac{};
  int lock_fd = -1;
  bool started = false;
};

// Takes an exclusive lock per device under `run_dir` (a second meshplane on the
// same port fails here), probes the device, configures `queues` rx/tx queue
// pairs (one per worker), sets MTU and MAC, starts it.
std::vector<RunningPort> open_ports(const config::Policy& policy, uint16_t queues, rte_mempool* pool,
                                    const std::string& run_dir);
void close_ports(std::vector<RunningPort>& ports);
bool link_up(uint16_t dpdk_port);

// The name a lock file uses for a device: the kernel interface of an
// af_packet/af_xdp vdev, otherwise the device name (PCI address, vdev name).
std::string device_lock_key(const std::string& device);

}  // namespace meshplane::ctrl
