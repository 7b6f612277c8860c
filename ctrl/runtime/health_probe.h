// One active health check in flight (ctrl/runtime/health_checker.h drives
// many at once with one poll): a TCP connect; an HTTP/1.0 GET, over TLS for
// https (OpenSSL, non-blocking), whose status line is compared with the
// expected range; or a program run with the endpoint in its environment,
// healthy when it exits 0. Every step is non-blocking: the probe says which
// descriptor and events it waits for, and advance() moves it on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "config/model.h"

struct ssl_ctx_st;
struct ssl_st;

namespace meshplane::ctrl {

class HealthProbe {
 public:
  struct Verdict {
    bool healthy;
    std::string why;  // what failed: "connection refused", "HTTP status 503", "exit status 1: db down"
  };
  struct Endpoint {
    std::string service;
    uint32_t address;  // host order
    uint16_t port;     // where a connecting check connects
  };

  // Starts a check of `check` against `e`; `tls` is the checker's client
  // context (https only).
  HealthProbe(const Endpoint& e, const config::HealthCheck& check, ssl_ctx_st* tls);
  ~HealthProbe();  // a check still under way is abandoned: socket closed, program killed
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Set once the check has its answer (at once when it could not start).
  const std::optional<Verdict>& verdict() const { return verdict_; }
  int fd() const { return fd_; }
  short events() const { return events_; }
  // The descriptor is ready (or failed): take the next steps.
  void advance();

 private:
  enum class Phase : uint8_t { kConnecting, kHandshake, kSending, kReading, kRunning };
  void start_connect(const Endpoint& e);
  void start_command(const Endpoint& e, const config::HealthCheck& check);
  void connected();
  void handshake();
  void send_request();
  void read_status();
  void reap();
  // A TLS call's result: true when it completed; false while it waits (events set) or failed (verdict set).
  bool tls_step(int result, const char* what);
  void finish(bool healthy, std::string why);

  const config::HealthCheck check_;
  std::string host_;       // Host header
  Phase phase_ = Phase::kConnecting;
  int fd_ = -1;            // the socket, or the program's pidfd
  short events_ = 0;
  ssl_st* ssl_ = nullptr;
  ssl_ctx_st* tls_ = nullptr;
  pid_t pid_ = -1;
  int output_ = -1;        // the program's stdout and stderr
  std::string request_;
  size_t sent_ = 0;
  std::string answer_;
  std::optional<Verdict> verdict_;
};

}  // namespace meshplane::ctrl
