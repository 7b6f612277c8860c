#include "ctrl/telemetry/flow_log_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <rte_byteorder.h>

#include "config/access_parser.h"
#include "config/address.h"

namespace meshplane::ctrl {
namespace {

constexpr size_t kMaxBacklog = 1 << 20;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string endpoint(uint32_t address_be, uint16_t port_be) {
  return fmt::format("{}:{}", config::ipv4_to_string(rte_be_to_cpu_32(address_be)), rte_be_to_cpu_16(port_be));
}

std::string iso_time(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  return fmt::format("{}.{:03}Z", when, unix_ms % 1000);
}

const char* reason_name(dataplane::FlowEnd e) {
  using dataplane::FlowEnd;
  switch (e) {
    case FlowEnd::kNone: return "";
    case FlowEnd::kClosed: return "closed";
    case FlowEnd::kReset: return "reset";
    case FlowEnd::kIdle: return "idle_timeout";
    case FlowEnd::kCut: return "authorization_cut";
    case FlowEnd::kReplaced: return "replaced";
    case FlowEnd::kEndpointGone: return "endpoint_gone";
  }
  return "?";
}

}  // namespace

std::string flow_log_json(const dataplane::FlowLogRecord& r, uint16_t worker, const std::string& service,
                          int64_t unix_ms_offset) {
  const bool end = r.event == dataplane::FlowLogEvent::kEnd;
  const auto& o = r.original;
  std::string out = fmt::format(R"({{"event":"{}","time":"{}","worker":{},"protocol":"{}","client":"{}","destination":"{}")",
                                end ? "end" : "start",
                                iso_time(static_cast<int64_t>(end ? r.end_ms : r.start_ms) + unix_ms_offset), worker,
                                config::protocol_name(o.proto), endpoint(o.src_addr, o.src_port),
                                endpoint(o.dst_addr, o.dst_port));
  if (r.endpoint == dataplane::kRoutedFlow) {
    out += R"(,"routed":true)";
  } else {
    out += fmt::format(R"(,"service":"{}")", service);
    if (r.keys == 2) {  // NAT: the reply key runs endpoint -> NAT address
      out += fmt::format(R"(,"nat_source":"{}","endpoint":"{}")", endpoint(r.reply.dst_addr, r.reply.dst_port),
                         endpoint(r.reply.src_addr, r.reply.src_port));
    } else {  // direct return: the reply key's storage holds the tunnel
      const auto tunnel = std::bit_cast<dataplane::TunnelPath>(r.reply);
      out += fmt::format(R"(,"endpoint":"{}","direct_return":true)", config::ipv4_to_string(rte_be_to_cpu_32(tunnel.endpoint)));
    }
  }
  if (end)
    out += fmt::format(R"(,"packets":{},"bytes":{},"duration_seconds":{:.3f},"reason":"{}")", r.packets, r.bytes,
                       static_cast<double>(r.end_ms - r.start_ms) / 1000.0, reason_name(r.reason));
  return out + "}";
}

FlowLogWriter::FlowLogWriter(const config::FlowLogSettings& s) : socket_path_(s.socket) {
  if (s.path.empty()) return;
  const int fd = ::open(s.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open flow log {}: {}", s.path, std::strerror(errno)));
  file_ = ::fdopen(fd, "a");
}

FlowLogWriter::~FlowLogWriter() {
  flush();
  if (file_) std::fclose(file_);
  if (fd_ >= 0) ::close(fd_);
}

void FlowLogWriter::connect() {
  if (fd_ >= 0 || now_ms() < next_connect_ms_) return;
  next_connect_ms_ = now_ms() + 1000;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

void FlowLogWriter::write(const std::string& line) {
  if (file_) {
    std::fputs(line.c_str(), file_);
    std::fputc('\n', file_);
    return;
  }
  if (backlog_.size() + line.size() + 1 > kMaxBacklog) {
    ++lost_;
    return;
  }
  backlog_ += line;
  backlog_ += '\n';
}

void FlowLogWriter::flush() {
  if (file_) {
    std::fflush(file_);
    return;
  }
  if (backlog_.empty()) return;
  connect();
  if (fd_ < 0) return;
  const ssize_t n = ::send(fd_, backlog_.data(), backlog_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n > 0) {
    backlog_.erase(0, static_cast<size_t>(n));
  } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    ::close(fd_);  // the collector went away: reconnect later, keeping what was not sent
    fd_ = -1;
  }
}

}  // namespace meshplane::ctrl
