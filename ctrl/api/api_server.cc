#include "ctrl/api/api_server.h"

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <thread>

#include "ctrl/api/explain.h"
#include "config/address.h"
#include "config/emitter.h"
#include "config/parser.h"
#include "meshplane.grpc.pb.h"

namespace meshplane::ctrl {
namespace {

namespace v1 = ::meshplane::v1;

grpc::StatusCode code_of(Outcome::Code c) {
  switch (c) {
    case Outcome::Code::kOk: return grpc::StatusCode::OK;
    case Outcome::Code::kInvalid: return grpc::StatusCode::INVALID_ARGUMENT;
    case Outcome::Code::kNeedsRestart: return grpc::StatusCode::FAILED_PRECONDITION;
    case Outcome::Code::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case Outcome::Code::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case Outcome::Code::kExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  return grpc::StatusCode::INTERNAL;
}

const grpc::Status kStopping(grpc::StatusCode::UNAVAILABLE, "meshplane is stopping");
const grpc::Status kAbandoned(grpc::StatusCode::CANCELLED, "the caller gave up; nothing was changed");

// A unix socket someone accepts connections on.
bool socket_is_live(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

void copy_diagnostic(const config::Diagnostic& from, v1::Diagnostic& to) {
  to.set_file(from.file);
  to.set_line(from.mark.line);
  to.set_column(from.mark.column);
  to.set_message(from.message);
}

}  // namespace

class ApiServer::Service final : public v1::Meshplane::Service {
 public:
  explicit Service(ApiContext ctx) : ctx_(std::move(ctx)) {}
  std::atomic<bool> stopping{false};

  // The document is read here, on gRPC's thread, and its pattern sets
  // compiled: neither needs daemon state, and the control thread (ARP,
  // status, stats, drains) must not wait on a large or hostile document.
  // Work whose caller gave up stops.
  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRequest* req, v1::ApplyResponse* resp) override {
    const auto abandoned = [context] {
      return context->IsCancelled() || std::chrono::system_clock::now() > context->deadline();
    };
    const std::string source = req->source().empty() ? "api" : req->source();
    auto loaded = config::load_policy_text(req->yaml(), source, abandoned);
    if (abandoned()) return kAbandoned;
    for (const auto& w : loaded.warnings) copy_diagnostic(w, *resp->add_warnings());
    Outcome o;
    if (!loaded.ok()) {
      o = ctx_.manager->refuse(std::move(loaded), source, req->dry_run());
    } else {
      // Hyperscan's compile is the slow part of a document with pattern sets: done here too.
      ctx_.manager->pattern_cache().prepare(loaded.policy);
      if (abandoned()) return kAbandoned;
      bool ran = false;
      const bool called = ctx_.queue->call(
          [&] {
            if (abandoned()) return;  // its deadline passed as it was taken from the queue
            ran = true;
            o = ctx_.manager->apply(std::move(loaded), source, req->dry_run(), Clock::now());
          },
          abandoned);  // nobody wants it any more: it leaves the queue
      if (!called && !abandoned()) return kStopping;
      if (!ran) return kAbandoned;
    }
    resp->set_generation(o.generation);
    resp->set_applied(o.applied);
    if (o.ok()) return grpc::Status::OK;
    for (const auto& e : o.errors) copy_diagnostic(e, *resp->add_errors());
    return grpc::Status(code_of(o.code), o.message, resp->SerializeAsString());
  }

  grpc::Status GetPolicy(grpc::ServerContext*, const v1::GetPolicyRequest*, v1::GetPolicyResponse* resp) override {
    if (!ctx_.queue->call([&] {
          resp->set_yaml(config::to_yaml(ctx_.manager->policy()));
          resp->set_generation(ctx_.manager->generation());
        }))
      return kStopping;
    return grpc::Status::OK;
  }

  grpc::Status UpdateEndpoints(grpc::ServerContext*, const v1::UpdateEndpointsRequest* req,
                               v1::UpdateEndpointsResponse* resp) override {
    std::vector<EndpointChange> changes;
    for (const auto& c : req->changes()) {
      EndpointChange e;
      auto address = config::parse_ipv4(c.address());
      if (!address)
        return {grpc::StatusCode::INVALID_ARGUMENT, fmt::format("'{}' is not an IPv4 address", c.address())};
      if (c.port() > 65535) return {grpc::StatusCode::INVALID_ARGUMENT, fmt::format("port {} is out of range", c.port())};
      e.address = *address;
      e.port = static_cast<uint16_t>(c.port());
      e.weight = c.weight();
      e.subset = c.subset();
      switch (c.op()) {
        case v1::EndpointChange::ADD: e.op = EndpointChange::Op::kAdd; e.weight = c.weight() ? c.weight() : 1; break;
        case v1::EndpointChange::REMOVE: e.op = EndpointChange::Op::kRemove; break;
        case v1::EndpointChange::SET_WEIGHT: e.op = EndpointChange::Op::kSetWeight; break;
        case v1::EndpointChange::DRAIN: e.op = EndpointChange::Op::kDrain; break;
        default: return {grpc::StatusCode::INVALID_ARGUMENT, "each change needs an op: ADD, REMOVE, SET_WEIGHT or DRAIN"};
      }
      changes.push_back(e);
    }
    if (changes.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "no changes given"};
    Outcome o;
    if (!ctx_.queue->call([&] {
          o = ctx_.manager->update_endpoints(req->service(), changes, req->dry_run(), Clock::now());
        }))
      return kStopping;
    resp->set_generation(o.generation);
    resp->set_applied(o.applied);
    return o.ok() ? grpc::Status::OK : grpc::Status(code_of(o.code), o.message);
  }

  grpc::Status UpdateSas(grpc::ServerContext*, const v1::UpdateSasRequest* req, v1::UpdateSasResponse* resp) override {
    std::vector<SaChange> changes;
    for (const auto& c : req->changes()) {
      SaChange change;
      config::SecurityAssociation& sa = change.sa;
      if (c.direction() != "inbound" && c.direction() != "outbound")
        return {grpc::StatusCode::INVALID_ARGUMENT, "each change needs a direction: inbound or outbound"};
      sa.direction = c.direction() == "inbound" ? config::SaDirection::kInbound : config::SaDirection::kOutbound;
      sa.spi = c.spi();
      switch (c.op()) {
        case v1::SaChange::ADD: change.op = SaChange::Op::kAdd; break;
        case v1::SaChange::DELETE: change.op = SaChange::Op::kDelete; break;
        default: return {grpc::StatusCode::INVALID_ARGUMENT, "each change needs an op: ADD or DELETE"};
      }
      if (change.op == SaChange::Op::kAdd) {
        if (!c.algorithm().empty() && c.algorithm() != "aes-gcm-128" && c.algorithm() != "aes-gcm-256")
          return {grpc::StatusCode::INVALID_ARGUMENT, "algorithm must be aes-gcm-128 or aes-gcm-256"};
        sa.algorithm = c.algorithm() == "aes-gcm-256" ? config::EspAlgorithm::kAesGcm256
                                                       : config::EspAlgorithm::kAesGcm128;
        sa.key = config::Secret(std::vector<uint8_t>(c.key().begin(), c.key().end()));
        sa.esn = c.esn();
        if (c.replay_window() > 4096)
          return {grpc::StatusCode::INVALID_ARGUMENT, "replay_window must be between 0 and 4096"};
        if (c.replay_window()) sa.replay_window = c.replay_window();
        sa.soft = {c.soft_lifetime().seconds(), c.soft_lifetime().bytes(), c.soft_lifetime().packets()};
        sa.hard = {c.hard_lifetime().seconds(), c.hard_lifetime().bytes(), c.hard_lifetime().packets()};
      }
      changes.push_back(std::move(change));
    }
    if (changes.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "no changes given"};
    Outcome o;
    if (!ctx_.queue->call([&] { o = ctx_.manager->update_sas(req->peer(), changes, req->dry_run(), Clock::now()); }))
      return kStopping;
    resp->set_generation(o.generation);
    resp->set_applied(o.applied);
    return o.ok() ? grpc::Status::OK : grpc::Status(code_of(o.code), o.message);
  }

  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*, v1::GetStatsResponse* resp) override {
    if (!ctx_.queue->call([&] { *resp = ctx_.stats(); })) return kStopping;
    return grpc::Status::OK;
  }

  grpc::Status Explain(grpc::ServerContext*, const v1::ExplainRequest* req, v1::ExplainResponse* resp) override {
    if (req->source_port() > 65535 || req->destination_port() > 65535 || req->icmp_type() > 255)
      return {grpc::StatusCode::INVALID_ARGUMENT, "ports are 0-65535, ICMP types 0-255"};
    ExplainQuery q{req->source(), req->destination(), req->protocol().empty() ? "tcp" : req->protocol(),
                   static_cast<uint16_t>(req->source_port()), static_cast<uint16_t>(req->destination_port()),
                   static_cast<uint8_t>(req->has_icmp_type() ? req->icmp_type() : 8), req->ingress(),
                   req->identity()};
    Explanation e;
    if (!ctx_.queue->call([&] {
          e = explain(q, ctx_.manager->policy(), *ctx_.manager->running());
          resp->set_generation(ctx_.manager->generation());
        }))
      return kStopping;
    if (!e.ok()) return {grpc::StatusCode::INVALID_ARGUMENT, e.message};
    resp->set_verdict(e.verdict);
    for (auto& line : e.steps) resp->add_steps(std::move(line));
    return grpc::Status::OK;
  }

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::GetStatusResponse* resp) override {
    StatusInfo info;
    if (!ctx_.queue->call([&] { info = ctx_.status(); })) return kStopping;
    resp->set_version(MESHPLANE_VERSION);
    resp->set_node(info.node);
    resp->set_generation(info.generation);
    resp->set_uptime_seconds(info.uptime_seconds);
    for (const auto& p : info.ports) {
      auto* port = resp->add_ports();
      port->set_name(p.name);
      port->set_device(p.device);
      port->set_mac(p.mac);
      port->set_link_up(p.link_up);
      port->set_state(p.state);
    }
    for (const auto& w : info.workers) {
      auto* worker = resp->add_workers();
      worker->set_id(w.id);
      worker->set_lcore(w.lcore);
      worker->set_flows(w.flows);
    }
    resp->set_services(info.services);
    resp->set_metrics(info.metrics);
    resp->set_socket(socket);
    return grpc::Status::OK;
  }

  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* req,
                           grpc::ServerWriter<v1::Event>* writer) override {
    const uint64_t last = ctx_.events->last();
    const uint64_t replay = std::min<uint64_t>(req->replay(), EventLog::kKept);
    uint64_t seen = last > replay ? last - replay : 0;
    while (!context->IsCancelled() && !stopping.load()) {
      for (const auto& e : ctx_.events->after(seen, std::chrono::milliseconds(200))) {
        v1::Event out;
        out.set_sequence(e.sequence);
        out.set_time_unix_ms(e.time_unix_ms);
        out.set_kind(e.kind);
        out.set_generation(e.generation);
        out.set_message(e.message);
        if (!writer->Write(out)) return grpc::Status::OK;
        seen = e.sequence;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Trace(grpc::ServerContext* context, const v1::TraceRequest* req,
                     grpc::ServerWriter<v1::TracedPacket>* writer) override {
    if (!ctx_.trace_start) return {grpc::StatusCode::UNIMPLEMENTED, "packets cannot be traced here"};
    const TraceQuery q{req->count(), req->source(), req->destination(), req->protocol(),
                       static_cast<uint16_t>(req->port()), req->ingress()};
    if (req->port() > 65535) return {grpc::StatusCode::INVALID_ARGUMENT, "--port must be 0 to 65535"};
    config::Status started;
    if (!ctx_.queue->call([&] { started = ctx_.trace_start(q); })) return kStopping;
    if (!started.ok()) return {grpc::StatusCode::INVALID_ARGUMENT, started.message};
    const double timeout = req->timeout_seconds() > 0 ? req->timeout_seconds() : 10;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    uint32_t sent = 0;
    bool open = true;
    auto send = [&](const std::vector<TracedPacket>& packets) {
      for (const auto& p : packets) {
        v1::TracedPacket out;
        out.set_id(p.id);
        out.set_worker(p.worker);
        for (const auto& step : p.steps) out.add_steps(step);
        out.set_verdict(p.verdict);
        open = open && writer->Write(out);
        ++sent;
      }
    };
    while (open && sent < q.count && !context->IsCancelled() && !stopping.load() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::vector<TracedPacket> done;
      if (!ctx_.queue->call([&] { done = ctx_.trace_take(false); })) return kStopping;
      send(done);
    }
    std::vector<TracedPacket> rest;  // always ends the trace
    if (!ctx_.queue->call([&] { rest = ctx_.trace_take(true); })) return kStopping;
    send(rest);
    return grpc::Status::OK;
  }

  grpc::Status DetachPort(grpc::ServerContext*, const v1::PortRequest* req, v1::PortResponse* resp) override {
    return set_port(*req, false, resp);
  }
  grpc::Status AttachPort(grpc::ServerContext*, const v1::PortRequest* req, v1::PortResponse* resp) override {
    return set_port(*req, true, resp);
  }

  std::string socket;

 private:
  grpc::Status set_port(const v1::PortRequest& req, bool attach, v1::PortResponse* resp) {
    if (!ctx_.set_port) return {grpc::StatusCode::UNIMPLEMENTED, "ports cannot be detached here"};
    Outcome o;
    std::string state;
    if (!ctx_.queue->call([&] { o = ctx_.set_port(req.name(), attach, state); })) return kStopping;
    resp->set_state(state);
    resp->set_changed(o.applied);
    return o.ok() ? grpc::Status::OK : grpc::Status(code_of(o.code), o.message);
  }

  using Clock = PolicyManager::Clock;
  ApiContext ctx_;
};

ApiServer::ApiServer(const std::string& socket_path, ApiContext ctx) : path_(socket_path) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    if (socket_is_live(path_))
      throw std::runtime_error(fmt::format("another meshplane is serving the API on {} (stop it, or give this one "
                                           "--socket)", path_));
    ::unlink(path_.c_str());  // left behind by an instance that died
  }
  service_ = std::make_unique<Service>(std::move(ctx));
  service_->socket = path_;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path_, grpc::InsecureServerCredentials());
  // A policy up to the document limit fits in one message (gRPC's default is 4 MiB).
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxApiMessageBytes));
  builder.RegisterService(service_.get());
  const mode_t old_mask = ::umask(0117);  // the socket is born 0660: root and its group only
  server_ = builder.BuildAndStart();
  ::umask(old_mask);
  if (!server_) throw std::runtime_error(fmt::format("cannot serve the API on {}", path_));
  ::chmod(path_.c_str(), 0660);
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::stop() {
  if (!server_) return;
  service_->stopping = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  ::unlink(path_.c_str());
}

}  // namespace meshplane::ctrl
