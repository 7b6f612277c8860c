#include "ctrl/runtime/health_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "config/address.h"
#include "ctrl/ike/openssl_error.h"

extern char** environ;

namespace meshplane::ctrl {
namespace {

// "HTTP/1.1 503 ..." -> 503; 0 when it is not a status line.
int status_of(const std::string& s) {
  if (s.size() < 12 || s.compare(0, 7, "HTTP/1.") != 0) return 0;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (s[i] < '0' || s[i] > '9') return 0;
    code = code * 10 + (s[i] - '0');
  }
  return code;
}

}  // namespace

HealthProbe::HealthProbe(const Endpoint& e, const config::HealthCheck& check, ssl_ctx_st* tls)
    : check_(check), host_(config::ipv4_to_string(e.address)), tls_(tls) {
  if (check.type == config::HealthCheck::Type::kCommand)
    start_command(e, check);
  else
    start_connect(e);
}

HealthProbe::~HealthProbe() {
  if (ssl_) SSL_free(ssl_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);  // at once after SIGKILL
  }
  if (fd_ >= 0) close(fd_);
  if (output_ >= 0) close(output_);
}

void HealthProbe::finish(bool healthy, std::string why) {
  verdict_ = Verdict{healthy, std::move(why)};
  events_ = 0;
}

void HealthProbe::start_connect(const Endpoint& e) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return finish(false, std::string("no socket: ") + std::strerror(errno));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(e.port);
  to.sin_addr.s_addr = htonl(e.address);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
    return finish(false, std::strerror(errno));
  phase_ = Phase::kConnecting;
  events_ = POLLOUT;
}

void HealthProbe::start_command(const Endpoint& e, const config::HealthCheck& check) {
  int out[2];
  if (pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) return finish(false, std::string("no pipe: ") + std::strerror(errno));
  output_ = out[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<std::string> env_text = {fmt::format("MESHPLANE_SERVICE={}", e.service),
                                       fmt::format("MESHPLANE_ENDPOINT_ADDRESS={}", host_),
                                       fmt::format("MESHPLANE_ENDPOINT_PORT={}", e.port)};
  std::vector<char*> env;
  for (char** v = environ; *v; ++v)
    if (std::strncmp(*v, "MESHPLANE_", 10) != 0) env.push_back(*v);
  for (auto& s : env_text) env.push_back(s.data());
  env.push_back(nullptr);
  std::vector<char*> argv;
  std::vector<std::string> args = check.command;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    pid_ = -1;
    return finish(false, fmt::format("cannot run {}: {}", check.command[0], std::strerror(rc)));
  }
  fd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));  // glibc 2.36's wrapper lacks C linkage for C++
  if (fd_ < 0) return finish(false, std::string("no pidfd: ") + std::strerror(errno));  // the destructor kills it
  phase_ = Phase::kRunning;
  events_ = POLLIN;
}

void HealthProbe::advance() {
  if (verdict_) return;
  switch (phase_) {
    case Phase::kConnecting: return connected();
    case Phase::kHandshake: return handshake();
    case Phase::kSending: return send_request();
    case Phase::kReading: return read_status();
    case Phase::kRunning: return reap();
  }
}

void HealthProbe::connected() {
  int error = 0;
  socklen_t len = sizeof error;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error) return finish(false, std::strerror(error));
  if (check_.type == config::HealthCheck::Type::kTcp) return finish(true, "");
  request_ = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: meshplane-health\r\n\r\n", check_.path,
                         check_.sni.empty() ? host_ : check_.sni);
  if (check_.type == config::HealthCheck::Type::kHttp) {
    phase_ = Phase::kSending;
    return send_request();
  }
  ssl_ = SSL_new(tls_);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return finish(false, openssl_error("TLS setup failed"));
  if (!check_.sni.empty()) SSL_set_tlsext_host_name(ssl_, check_.sni.c_str());
  SSL_set_connect_state(ssl_);
  phase_ = Phase::kHandshake;
  handshake();
}

bool HealthProbe::tls_step(int result, const char* what) {
  if (result > 0) return true;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ: events_ = POLLIN; return false;
    case SSL_ERROR_WANT_WRITE: events_ = POLLOUT; return false;
    case SSL_ERROR_ZERO_RETURN: finish(false, fmt::format("{}: the server closed the connection", what)); return false;
    case SSL_ERROR_SYSCALL:
      finish(false, fmt::format("{}: {}", what, errno ? std::strerror(errno) : "connection closed"));
      return false;
    default: finish(false, fmt::format("{}: {}", what, openssl_error("failed"))); return false;
  }
}

void HealthProbe::handshake() {
  if (!tls_step(SSL_do_handshake(ssl_), "TLS handshake")) return;
  phase_ = Phase::kSending;
  send_request();
}

void HealthProbe::send_request() {
  while (sent_ < request_.size()) {
    const char* at = request_.data() + sent_;
    const size_t left = request_.size() - sent_;
    if (ssl_) {
      size_t n = 0;
      if (!tls_step(SSL_write_ex(ssl_, at, left, &n), "TLS write")) return;
      sent_ += n;
    } else {
      const ssize_t n = send(fd_, at, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        events_ = POLLOUT;
        return;
      }
      if (n <= 0) return finish(false, std::string("could not send the request: ") + std::strerror(errno));
      sent_ += static_cast<size_t>(n);
    }
  }
  phase_ = Phase::kReading;
  events_ = POLLIN;
}

void HealthProbe::read_status() {
  char buf[64];
  for (;;) {
    size_t got = 0;
    if (ssl_) {
      const int r = SSL_read_ex(ssl_, buf, sizeof buf, &got);
      if (!r && SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN) got = 0;
      else if (!tls_step(r, "TLS read")) return;
    } else {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EAGAIN) return;  // events stay POLLIN
      if (n < 0) return finish(false, std::strerror(errno));
      got = static_cast<size_t>(n);
    }
    answer_.append(buf, got);
    if (got == 0 || answer_.size() >= 12) break;  // the end, or enough for the status line
  }
  const int status = status_of(answer_);
  if (status >= check_.status_min && status <= check_.status_max) return finish(true, "");
  finish(false, status ? fmt::format("HTTP status {}", status) : "no HTTP status line");
}

void HealthProbe::reap() {
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return;  // not yet
  pid_ = -1;
  char out[200];
  const ssize_t n = read(output_, out, sizeof out);
  std::string said = n > 0 ? std::string(out, static_cast<size_t>(n)) : "";
  said = said.substr(0, said.find('\n'));
  for (char& c : said)  // it reaches events (UTF-8 on the wire) and logs: printable ASCII only
    if (c < 0x20 || c > 0x7e) c = '?';
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return finish(true, "");
  std::string why = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                      : fmt::format("killed by signal {}", WTERMSIG(status));
  if (!said.empty()) why += ": " + said;
  finish(false, std::move(why));
}

}  // namespace meshplane::ctrl
