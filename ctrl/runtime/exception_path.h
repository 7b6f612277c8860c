// The host exception path (VPP's linux-cp, DPVS's KNI): for each port a
// kernel TAP interface with the port's MAC, MTU and addresses, in a network
// namespace the policy names (created if absent) rather than the host's
// own, so the host's routing never learns the gateway's networks and
// nothing meant for them leaks out of its other interfaces if meshplane
// stops. Packets for the gateway's addresses that the data plane does not
// serve itself (TCP and UDP, ICMP other than echo requests) reach the
// kernel through them; what the kernel sends out of a TAP leaves through
// its port. ARP replies to the gateway are copied to the kernel too, so
// its own neighbour resolution works. Owned by the control thread: workers
// punt (rate limited per worker), the control thread writes and reads the
// TAPs without blocking, a bounded budget per loop.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/model.h"
#include "dataplane/worker/counters.h"

namespace meshplane::ctrl {

class ExceptionPath {
 public:
  using Transmit = std::function<void(uint16_t port, rte_mbuf* m)>;

  // Opens the namespace and a TAP per port (named mp-<port>), configured
  // from `policy` (addresses, MTU, routes via next hops) with `macs` by port.
  // Throws with the reason when the kernel refuses.
  ExceptionPath(const config::Policy& policy, const std::vector<rte_ether_addr>& macs, rte_mempool* pool,
                Transmit transmit, dataplane::WorkerCounters& counters);
  ~ExceptionPath();
  ExceptionPath(const ExceptionPath&) = delete;
  ExceptionPath& operator=(const ExceptionPath&) = delete;

  // A frame received on `port` for the host: written to its TAP (copied; `m` stays the caller's).
  void to_host(uint16_t port, const rte_mbuf* m);
  // Frames the host sent out of the TAPs since the last call, up to a budget, transmitted on their ports.
  void from_host();

  const std::string& netns() const { return netns_; }

 private:
  struct Tap {
    std::string name;
    int fd = -1;
  };
  std::string netns_;
  std::vector<Tap> taps_;
  rte_mempool* pool_;
  Transmit transmit_;
  dataplane::WorkerCounters& counters_;
};

}  // namespace meshplane::ctrl
