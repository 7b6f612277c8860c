#include "ctrl/runtime/port_setup.h"

#include <fcntl.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

#include "config/address.h"
#include "ctrl/runtime/log.h"

namespace meshplane::ctrl {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

std::string device_name(const std::string& device) { return device.substr(0, device.find(',')); }

int lock_device(const config::Port& p, const std::string& run_dir) {
  if (mkdir(run_dir.c_str(), 0755) != 0 && errno != EEXIST)
    fail(fmt::format("cannot create run directory {}: {}", run_dir, std::strerror(errno)));
  const std::string path = fmt::format("{}/port-{}.lock", run_dir, device_lock_key(p.device));
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    fail(fmt::format("port '{}' ({}) is already in use by another meshplane (pid {}); stop it first or choose "
                     "another device",
                     p.name, p.device, n > 0 ? std::string(pid, strnlen(pid, sizeof pid)) : "unknown"));
  }
  const std::string mine = std::to_string(getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, mine.data(), mine.size(), 0) < 0)
    log::warn("cannot write pid to {}: {}", path, std::strerror(errno));
  return fd;
}

uint16_t probe(const config::Port& p) {
  const std::string name = device_name(p.device);
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) return id;  // already given to EAL as --vdev/-a
  if (int rc = rte_dev_probe(p.device.c_str()); rc != 0)
    fail(fmt::format("port '{}': cannot probe device '{}': {} (does the interface or PCI device exist, and is "
                     "its driver available?)",
                     p.name, p.device, rte_strerror(-rc)));
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0)
    fail(fmt::format("port '{}': device '{}' probed but no ethdev named '{}' appeared", p.name, p.device, name));
  return id;
}

void configure(const config::Port& p, const config::DataplaneSettings& dp, uint16_t id, uint16_t queues,
               rte_mempool* pool) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0)
    fail(fmt::format("port '{}': cannot read device info: {}", p.name, rte_strerror(-rc)));
  if (info.max_rx_queues < queues || info.max_tx_queues < queues)
    fail(fmt::format("port '{}': device supports {} rx / {} tx queues but {} workers need one each; give fewer "
                     "worker lcores or more queues (af_packet: add qpairs={} to the device string)",
                     p.name, info.max_rx_queues, info.max_tx_queues, queues, queues));
  rte_eth_conf conf{};
  if (queues > 1 && info.flow_type_rss_offloads) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
  }
  if (int rc = rte_eth_dev_configure(id, queues, queues, &conf); rc != 0)
    fail(fmt::format("port '{}': cannot configure {} queues: {}", p.name, queues, rte_strerror(-rc)));
  uint16_t rxd = dp.rx_descriptors, txd = dp.tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id, q, rxd, socket, nullptr, pool); rc != 0)
      fail(fmt::format("port '{}': rx queue {} setup failed: {}", p.name, q, rte_strerror(-rc)));
    if (int rc = rte_eth_tx_queue_setup(id, q, txd, socket, nullptr); rc != 0)
      fail(fmt::format("port '{}': tx queue {} setup failed: {}", p.name, q, rte_strerror(-rc)));
  }
  uint16_t mtu = 0;
  rte_eth_dev_get_mtu(id, &mtu);
  if (mtu != p.mtu) {
    if (int rc = rte_eth_dev_set_mtu(id, p.mtu); rc != 0)
      fail(fmt::format("port '{}': cannot set MTU {} (device has {}): {}", p.name, p.mtu, mtu, rte_strerror(-rc)));
  }
  if (p.mac) {
    rte_ether_addr mac;
    memcpy(mac.addr_bytes, p.mac->data(), 6);
    if (int rc = rte_eth_dev_default_mac_addr_set(id, &mac); rc != 0)
      fail(fmt::format("port '{}': cannot set MAC {}: {}", p.name, config::mac_to_string(*p.mac), rte_strerror(-rc)));
  }
  if (int rc = rte_eth_dev_start(id); rc != 0)
    fail(fmt::format("port '{}': cannot start: {}", p.name, rte_strerror(-rc)));
}

}  // namespace

std::string device_lock_key(const std::string& device) {
  std::string key;
  if (auto at = device.find("iface="); at != std::string::npos) {
    key = "iface-" + device.substr(at + 6, device.find(',', at) - at - 6);
  } else {
    key = device_name(device);
  }
  for (char& c : key)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return key;
}

std::vector<RunningPort> open_ports(const config::Policy& policy, uint16_t queues, rte_mempool* pool,
                                    const std::string& run_dir) {
  std::vector<RunningPort> ports;
  try {
    for (const auto& p : policy.ports) {
      RunningPort rp;
      rp.name = p.name;
      rp.device = p.device;
      rp.lock_fd = lock_device(p, run_dir);
      ports.push_back(rp);
      ports.back().dpdk_port = probe(p);
      configure(p, policy.dataplane, ports.back().dpdk_port, queues, pool);
      ports.back().started = true;
      rte_eth_macaddr_get(ports.back().dpdk_port, &ports.back().mac);
      char mac[RTE_ETHER_ADDR_FMT_SIZE];
      rte_ether_format_addr(mac, sizeof mac, &ports.back().mac);
      log::info("port '{}' up: {} (dpdk port {}), mac {}, mtu {}, {} queue pair(s), link {}", p.name, p.device,
                ports.back().dpdk_port, mac, p.mtu, queues, link_up(ports.back().dpdk_port) ? "up" : "down");
    }
  } catch (...) {
    close_ports(ports);
    throw;
  }
  return ports;
}

void close_ports(std::vector<RunningPort>& ports) {
  for (auto& p : ports) {
    if (p.started) {
      rte_eth_dev_stop(p.dpdk_port);
      rte_eth_dev_close(p.dpdk_port);
    }
    if (p.lock_fd >= 0) close(p.lock_fd);
    p.lock_fd = -1;
  }
  ports.clear();
}

bool link_up(uint16_t dpdk_port) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(dpdk_port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace meshplane::ctrl
