#include "ctrl/runtime/exception_path.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

constexpr unsigned kBudget = 256;  // frames read from the TAPs per control loop

std::runtime_error failure(const std::string& what) {
  return std::runtime_error(fmt::format("exception path: {}: {}", what, std::strerror(errno)));
}

// /run/netns/NAME, as `ip netns add` makes it: a bind mount of a new network
// namespace, created on a thread of its own (unshare changes the caller's).
void create_netns(const std::string& path) {
  mkdir("/run/netns", 0755);
  const int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL, 0444);
  if (fd < 0) throw failure("cannot create " + path);
  close(fd);
  int error = 0;
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0 || mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
      error = errno;
  }).join();
  if (error) {
    unlink(path.c_str());
    errno = error;
    throw failure("cannot create network namespace " + path);
  }
}

void ioctl_or_throw(int sock, unsigned long request, void* arg, const std::string& what) {
  if (ioctl(sock, request, arg) != 0) throw failure(what);
}

void write_file(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  f << value;
  if (!f.flush()) throw std::runtime_error("exception path: cannot write " + path);
}

sockaddr_in inet(uint32_t address) {  // host order
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(address);
  return a;
}

// On a thread inside the namespace: the TAP of one port, up and addressed. Returns its fd.
int make_tap(const config::Port& port, const std::string& name, const rte_ether_addr& mac, int sock) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw failure("cannot open /dev/net/tun");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  ioctl_or_throw(fd, TUNSETIFF, &ifr, "cannot create TAP " + name);
  write_file(fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", name), "1");
  ifr.ifr_hwaddr.sa_family = 1;  // ARPHRD_ETHER
  std::memcpy(ifr.ifr_hwaddr.sa_data, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  ioctl_or_throw(sock, SIOCSIFHWADDR, &ifr, "cannot set the MAC of " + name);
  ifr.ifr_mtu = port.mtu;
  ioctl_or_throw(sock, SIOCSIFMTU, &ifr, "cannot set the MTU of " + name);
  for (size_t i = 0; i < port.addresses.size(); ++i) {
    ifreq a{};
    // Further addresses as aliases (name:1, ...), the one way ioctl adds them.
    const std::string label = i == 0 ? name : fmt::format("{}:{}", name, i);
    std::strncpy(a.ifr_name, label.c_str(), IFNAMSIZ - 1);
    sockaddr_in sa = inet(port.addresses[i].address);
    std::memcpy(&a.ifr_addr, &sa, sizeof sa);
    ioctl_or_throw(sock, SIOCSIFADDR, &a, "cannot address " + label);
    sa = inet(config::prefix_mask(port.addresses[i].length));
    std::memcpy(&a.ifr_netmask, &sa, sizeof sa);
    ioctl_or_throw(sock, SIOCSIFNETMASK, &a, "cannot set the netmask of " + label);
  }
  ioctl_or_throw(sock, SIOCGIFFLAGS, &ifr, "cannot read the flags of " + name);
  ifr.ifr_flags |= IFF_UP;
  ioctl_or_throw(sock, SIOCSIFFLAGS, &ifr, "cannot bring up " + name);
  return fd;
}

void add_route(const config::Route& r, int sock) {
  rtentry rt{};
  sockaddr_in dst = inet(r.prefix.address), mask = inet(config::prefix_mask(r.prefix.length)), via = inet(r.via);
  std::memcpy(&rt.rt_dst, &dst, sizeof dst);
  std::memcpy(&rt.rt_genmask, &mask, sizeof mask);
  std::memcpy(&rt.rt_gateway, &via, sizeof via);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  if (ioctl(sock, SIOCADDRT, &rt) != 0 && errno != EEXIST)
    throw failure("cannot add the route to " + config::prefix_to_string(r.prefix));
}

}  // namespace

ExceptionPath::ExceptionPath(const config::Policy& policy, const std::vector<rte_ether_addr>& macs, rte_mempool* pool,
                             Transmit transmit, dataplane::WorkerCounters& counters)
    : netns_(policy.exception_path->netns), pool_(pool), transmit_(std::move(transmit)), counters_(counters) {
  const std::string path = "/run/netns/" + netns_;
  if (access(path.c_str(), F_OK) != 0) create_netns(path);
  const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) throw failure("cannot open " + path);
  for (const auto& p : policy.ports) taps_.push_back({std::string("mp-" + p.name).substr(0, IFNAMSIZ - 1), -1});
  std::string error;
  std::thread([&] {  // TAPs are made in the namespace the creating thread is in
    try {
      if (setns(ns, CLONE_NEWNET) != 0) throw failure("cannot enter namespace " + netns_);
      const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (sock < 0) throw failure("cannot open a socket");
      for (size_t i = 0; i < taps_.size(); ++i) taps_[i].fd = make_tap(policy.ports[i], taps_[i].name, macs[i], sock);
      for (const auto& r : policy.routes) add_route(r, sock);
      const auto& e = *policy.exception_path;
      write_file("/proc/sys/net/ipv4/ip_local_port_range", fmt::format("{} {}", e.local_port_min, e.local_port_max));
      close(sock);
    } catch (const std::exception& ex) {
      error = ex.what();
    }
  }).join();
  close(ns);
  if (!error.empty()) {
    for (auto& t : taps_)
      if (t.fd >= 0) close(t.fd);
    throw std::runtime_error(error);
  }
}

ExceptionPath::~ExceptionPath() {
  for (auto& t : taps_)
    if (t.fd >= 0) close(t.fd);  // the TAP goes with its last fd
}

void ExceptionPath::to_host(uint16_t port, const rte_mbuf* m) {
  uint8_t frame[RTE_ETHER_MAX_JUMBO_FRAME_LEN];
  const uint32_t len = std::min<uint32_t>(m->pkt_len, sizeof frame);
  const void* data = rte_pktmbuf_read(m, 0, len, frame);
  if (port >= taps_.size() || !data || write(taps_[port].fd, data, len) != static_cast<ssize_t>(len))
    counters_.drop(dataplane::DropReason::kExceptionQueueFull);  // the kernel's queue is full: lost, as a NIC would
  else
    counters_.exception_to_host.add();
}

void ExceptionPath::from_host() {
  for (uint16_t port = 0; port < taps_.size(); ++port) {
    for (unsigned i = 0; i < kBudget; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (!m) return;
      const uint16_t room = rte_pktmbuf_tailroom(m);
      const ssize_t n = read(taps_[port].fd, rte_pktmbuf_mtod(m, void*), room);
      if (n < static_cast<ssize_t>(sizeof(rte_ether_hdr))) {  // nothing more (EAGAIN), or a runt
        rte_pktmbuf_free(m);
        break;
      }
      m->data_len = m->pkt_len = static_cast<uint32_t>(n);
      counters_.exception_from_host.add();
      transmit_(port, m);
    }
  }
}

}  // namespace meshplane::ctrl
