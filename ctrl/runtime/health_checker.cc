#include "ctrl/runtime/health_checker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// "HTTP/1.1 503 ..." -> 503; 0 when it is not a status line (yet).
int status_of(const char* buf, ssize_t n) {
  if (n < 12 || std::strncmp(buf, "HTTP/1.", 7) != 0) return 0;
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (buf[i] < '0' || buf[i] > '9') return 0;
    code = code * 10 + (buf[i] - '0');
  }
  return code;
}

}  // namespace

HealthChecker::HealthChecker(const std::string& netns) {
  const int fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("health checks: cannot open namespace {}: {}", netns,
                                                   std::strerror(errno)));
  thread_ = std::thread([this, fd] { run(fd); });
}

HealthChecker::~HealthChecker() {
  stop_ = true;
  thread_.join();
  for (auto& [key, s] : states_)
    if (s.fd >= 0) close(s.fd);
}

void HealthChecker::set_targets(std::vector<Target> targets) {
  std::lock_guard lock(mutex_);
  pending_ = std::move(targets);
  have_pending_ = true;
}

std::vector<HealthChecker::Change> HealthChecker::take_changes() {
  std::lock_guard lock(mutex_);
  return std::exchange(changes_, {});
}

std::vector<HealthChecker::Target> HealthChecker::targets_of(const config::Policy& policy) {
  std::vector<Target> out;
  for (const auto& svc : policy.services) {
    if (!svc.health_check || svc.ports.empty()) continue;
    const uint16_t service_port = svc.ports[0].target_port ? svc.ports[0].target_port : svc.ports[0].port;
    for (const auto& e : svc.endpoints) {
      const uint16_t port = svc.health_check->port ? svc.health_check->port : e.port ? e.port : service_port;
      out.push_back({svc.name, e.address, e.port, port, *svc.health_check});
    }
  }
  return out;
}

void HealthChecker::start_check(State& s, uint64_t now) {
  s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  s.sent = false;
  s.deadline_ms = now + s.target.check.timeout_ms;
  if (s.fd < 0) {
    finish_check(s, false, std::string("no socket: ") + std::strerror(errno), now);
    return;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(s.target.check_port);
  to.sin_addr.s_addr = htonl(s.target.address);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
    finish_check(s, false, std::strerror(errno), now);
}

void HealthChecker::finish_check(State& s, bool ok, const std::string& why, uint64_t now) {
  if (s.fd >= 0) close(s.fd);
  s.fd = -1;
  static thread_local std::mt19937 rng(std::random_device{}());
  const auto& c = s.target.check;
  s.due_ms = now + c.interval_ms + (c.jitter_ms ? rng() % (c.jitter_ms + 1) : 0);
  ok ? (++s.successes, s.failures = 0) : (++s.failures, s.successes = 0);
  const bool flips = s.healthy ? s.failures == c.unhealthy_threshold : s.successes == c.healthy_threshold;
  if (!flips) return;
  s.healthy = !s.healthy;
  std::lock_guard lock(mutex_);
  changes_.push_back({s.target.service, s.target.address, s.target.port, s.healthy,
                      s.healthy ? fmt::format("{} checks passed", c.healthy_threshold)
                                : fmt::format("{} checks failed: {}", c.unhealthy_threshold, why)});
}

void HealthChecker::run(int netns_fd) {
  const bool entered = setns(netns_fd, CLONE_NEWNET) == 0;
  close(netns_fd);
  if (!entered) return;  // the daemon checked the namespace; nothing to do without it
  std::vector<pollfd> fds;
  std::vector<State*> polled;
  while (!stop_) {
    {
      std::lock_guard lock(mutex_);
      if (have_pending_) {
        std::map<std::tuple<std::string, uint32_t, uint16_t>, State> next;
        for (auto& t : pending_) {
          auto old = states_.find(t.key());
          State s = old != states_.end() ? old->second : State{};
          if (old != states_.end()) old->second.fd = -1;  // moved
          s.target = std::move(t);
          next.emplace(s.target.key(), std::move(s));
        }
        for (auto& [key, s] : states_)
          if (s.fd >= 0) close(s.fd);  // endpoints no longer checked
        states_ = std::move(next);
        have_pending_ = false;
      }
    }
    uint64_t now = now_ms();
    fds.clear();
    polled.clear();
    for (auto& [key, s] : states_) {
      if (s.fd < 0 && now >= s.due_ms) start_check(s, now);
      if (s.fd < 0) continue;
      if (now >= s.deadline_ms) {
        finish_check(s, false, "timed out", now);
        continue;
      }
      fds.push_back({s.fd, static_cast<short>(s.sent ? POLLIN : POLLOUT), 0});
      polled.push_back(&s);
    }
    poll(fds.data(), fds.size(), 10);
    now = now_ms();
    for (size_t i = 0; i < fds.size(); ++i) {
      State& s = *polled[i];
      if (!fds[i].revents) continue;
      int error = 0;
      socklen_t len = sizeof error;
      if (!s.sent) {
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error) {
          finish_check(s, false, std::strerror(error), now);
        } else if (!s.target.check.http) {
          finish_check(s, true, "", now);
        } else {
          const std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: meshplane-health\r\n\r\n",
                                                  s.target.check.path, config::ipv4_to_string(s.target.address));
          s.sent = send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size());
          if (!s.sent) finish_check(s, false, "could not send the request", now);
        }
        continue;
      }
      char buf[64];
      const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
      const int status = status_of(buf, n);
      const auto& c = s.target.check;
      if (status >= c.status_min && status <= c.status_max)
        finish_check(s, true, "", now);
      else
        finish_check(s, false, status ? fmt::format("HTTP status {}", status) : "no HTTP status line", now);
    }
  }
}

}  // namespace meshplane::ctrl
