#include "ctrl/runtime/health_checker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/ssl.h>
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

}  // namespace

HealthChecker::HealthChecker(const std::string& netns) {
  const int fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("health checks: cannot open namespace {}: {}", netns,
                                                   std::strerror(errno)));
  tls_ = SSL_CTX_new(TLS_client_method());
  if (!tls_) {
    close(fd);
    throw std::runtime_error("health checks: no TLS client context");
  }
  SSL_CTX_set_verify(tls_, SSL_VERIFY_NONE, nullptr);
  thread_ = std::thread([this, fd] { run(fd); });
}

HealthChecker::~HealthChecker() {
  stop_ = true;
  thread_.join();
  states_.clear();  // probes still under way end here
  SSL_CTX_free(tls_);
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

void HealthChecker::finish_check(State& s, bool ok, std::string why, uint64_t now) {
  s.probe.reset();
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
          State s = old != states_.end() ? std::move(old->second) : State{};
          s.target = std::move(t);
          next.emplace(s.target.key(), std::move(s));
        }
        states_ = std::move(next);  // endpoints no longer checked: their probes end
        have_pending_ = false;
      }
    }
    uint64_t now = now_ms();
    fds.clear();
    polled.clear();
    for (auto& [key, s] : states_) {
      if (!s.probe && now >= s.due_ms) {
        s.probe = std::make_unique<HealthProbe>(
            HealthProbe::Endpoint{s.target.service, s.target.address, s.target.check_port}, s.target.check, tls_);
        s.deadline_ms = now + s.target.check.timeout_ms;
      }
      if (!s.probe) continue;
      if (const auto& v = s.probe->verdict()) {
        finish_check(s, v->healthy, v->why, now);
      } else if (now >= s.deadline_ms) {
        finish_check(s, false, "timed out", now);
      } else {
        fds.push_back({s.probe->fd(), s.probe->events(), 0});
        polled.push_back(&s);
      }
    }
    poll(fds.data(), fds.size(), 10);
    now = now_ms();
    for (size_t i = 0; i < fds.size(); ++i) {
      State& s = *polled[i];
      if (!fds[i].revents) continue;
      s.probe->advance();
      if (const auto& v = s.probe->verdict()) finish_check(s, v->healthy, v->why, now);
    }
  }
}

}  // namespace meshplane::ctrl
