// Health probes against real sockets and programs on this host: a TCP
// connect to a listener and to a closed port, an HTTP GET answered in
// pieces with a status in and out of the expected range, a command's exit
// status, output and environment, and a probe abandoned mid-check.
#include "ctrl/runtime/health_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace meshplane::ctrl {
namespace {

constexpr uint32_t kLoopback = 0x7f000001;

// A listening socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  uint16_t port = 0;
  Listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(kLoopback);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(listen(fd, 8), 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

// Drives `p` with poll until it has a verdict (a bound for a broken probe, not a speed check).
const HealthProbe::Verdict& run(HealthProbe& p) {
  for (int i = 0; i < 10'000 && !p.verdict(); ++i) {
    pollfd f{p.fd(), p.events(), 0};
    if (poll(&f, 1, 10) > 0) p.advance();
  }
  EXPECT_TRUE(p.verdict().has_value()) << "no verdict";
  static const HealthProbe::Verdict kNone{false, "none"};
  return p.verdict() ? *p.verdict() : kNone;
}

config::HealthCheck check_of(config::HealthCheck::Type type) {
  config::HealthCheck c;
  c.type = type;
  return c;
}

TEST(HealthProbe, TcpConnectsOrIsRefused) {
  Listener l;
  HealthProbe up({"web", kLoopback, l.port}, check_of(config::HealthCheck::Type::kTcp), nullptr);
  EXPECT_TRUE(run(up).healthy);
  const uint16_t closed = l.port;
  close(l.fd);
  l.fd = -1;
  HealthProbe down({"web", kLoopback, closed}, check_of(config::HealthCheck::Type::kTcp), nullptr);
  const auto& v = run(down);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.why, "Connection refused");
}

// A server that reads the request and answers `answer` in two pieces.
void answer_once(int listener, std::string answer, std::string* request) {
  const int c = accept(listener, nullptr, nullptr);
  char buf[512];
  const ssize_t n = recv(c, buf, sizeof buf, 0);
  if (n > 0) request->assign(buf, static_cast<size_t>(n));
  send(c, answer.data(), 5, MSG_NOSIGNAL);
  usleep(20'000);  // lets the probe see the first piece alone (the test holds either way)
  send(c, answer.data() + 5, answer.size() - 5, MSG_NOSIGNAL);
  close(c);
}

TEST(HealthProbe, HttpComparesTheStatusWithTheExpectedRange) {
  for (const auto& [answer, healthy, why] :
       {std::tuple{"HTTP/1.1 204 No Content\r\n\r\n", true, ""},
        std::tuple{"HTTP/1.0 503 Service Unavailable\r\n\r\n", false, "HTTP status 503"},
        std::tuple{"SSH-2.0-OpenSSH_9.2\r\n", false, "no HTTP status line"}}) {
    Listener l;
    std::string request;
    std::thread server(answer_once, l.fd, answer, &request);
    auto check = check_of(config::HealthCheck::Type::kHttp);
    check.path = "/healthz";
    HealthProbe p({"web", kLoopback, l.port}, check, nullptr);
    const auto v = run(p);
    server.join();
    EXPECT_EQ(v.healthy, healthy) << answer;
    EXPECT_EQ(v.why, why);
    EXPECT_EQ(request.rfind("GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n", 0), 0u) << request;
  }
}

TEST(HealthProbe, ACommandIsHealthyWhenItExitsZeroAndSaysWhyOtherwise) {
  auto check = check_of(config::HealthCheck::Type::kCommand);
  check.command = {"/bin/sh", "-c",
                   "test \"$MESHPLANE_SERVICE $MESHPLANE_ENDPOINT_ADDRESS $MESHPLANE_ENDPOINT_PORT\" = "
                   "\"web 127.0.0.1 8080\""};
  HealthProbe ok({"web", kLoopback, 8080}, check, nullptr);
  EXPECT_TRUE(run(ok).healthy) << run(ok).why;
  check.command = {"/bin/sh", "-c", "echo database unreachable; echo second line; exit 3"};
  HealthProbe failed({"web", kLoopback, 8080}, check, nullptr);
  EXPECT_EQ(run(failed).why, "exit status 3: database unreachable");
  check.command = {"/bin/sh", "-c", "printf '\\377\\033[31m red'; exit 1"};
  HealthProbe binary({"web", kLoopback, 8080}, check, nullptr);
  EXPECT_EQ(run(binary).why, "exit status 1: ??[31m red") << "what a program says reaches events as printable ASCII";
  check.command = {"/nonexistent/check"};
  HealthProbe missing({"web", kLoopback, 8080}, check, nullptr);
  EXPECT_FALSE(run(missing).healthy);
  EXPECT_EQ(run(missing).why, "cannot run /nonexistent/check: No such file or directory");
}

TEST(HealthProbe, AnAbandonedCommandIsKilled) {
  auto check = check_of(config::HealthCheck::Type::kCommand);
  check.command = {"/bin/sleep", "600"};
  pid_t child = -1;
  {
    HealthProbe p({"web", kLoopback, 8080}, check, nullptr);
    ASSERT_FALSE(p.verdict());
    pollfd f{p.fd(), p.events(), 0};
    EXPECT_EQ(poll(&f, 1, 0), 0) << "still running";
    // Which process it is: the pidfd's owner, from /proc.
    char link[64];
    const std::string fdinfo = "/proc/self/fdinfo/" + std::to_string(p.fd());
    FILE* in = fopen(fdinfo.c_str(), "r");
    ASSERT_NE(in, nullptr);
    while (fgets(link, sizeof link, in))
      if (std::string(link).rfind("Pid:", 0) == 0) child = std::stoi(std::string(link).substr(4));
    fclose(in);
    ASSERT_GT(child, 0);
  }
  EXPECT_NE(kill(child, 0), 0) << "the program was killed and reaped with its probe";
}

}  // namespace
}  // namespace meshplane::ctrl
