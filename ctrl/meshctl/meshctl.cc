// meshctl: drives a running meshplane through its API socket only.
//   meshctl [--socket PATH] [-o table|json] COMMAND ...
// Exit codes: 0 done; 1 the daemon refused (invalid policy, unknown service,
// needs a restart, ...); 2 usage; 3 the daemon cannot be reached.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "config/yaml_tree.h"
#include "common/key_file.h"
#include "common/numbers.h"
#include "ctrl/api/stats_text.h"
#include "meshplane.grpc.pb.h"

namespace v1 = meshplane::v1;
namespace mp = meshplane::ctrl;

namespace {

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

struct Options {
  std::string socket = "/run/meshplane/meshplane.sock";
  std::string output = "table";
  bool json() const { return output == "json"; }
};

// Prints the daemon's refusal and maps it to an exit code.
int report(const grpc::Status& status, const Options& o) {
  if (status.ok()) return 0;
  const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (o.json()) {
    std::printf("{\"error\":{\"code\":%d,\"message\":%s", static_cast<int>(status.error_code()),
                mp::json_quote(status.error_message()).c_str());
    v1::ApplyResponse details;
    if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
      std::printf(",\"errors\":[");
      for (int i = 0; i < details.errors_size(); ++i) {
        const auto& e = details.errors(i);
        std::printf("%s{\"file\":%s,\"line\":%d,\"column\":%d,\"message\":%s}", i ? "," : "",
                    mp::json_quote(e.file()).c_str(), e.line(), e.column(), mp::json_quote(e.message()).c_str());
      }
      std::printf("]");
    }
    std::printf("}}\n");
  } else if (unreachable) {
    std::fprintf(stderr, "meshctl: cannot reach meshplane on %s: %s\n", o.socket.c_str(),
                 status.error_message().c_str());
  } else {
    std::fprintf(stderr, "meshctl: %s\n", status.error_message().c_str());
  }
  return unreachable ? kExitUnreachable : kExitRefused;
}

std::unique_ptr<v1::Meshplane::Stub> connect(const Options& o) {
  grpc::ChannelArguments args;  // a policy at its size limit fits both ways (gRPC's default is 4 MiB)
  args.SetMaxSendMessageSize(static_cast<int>(meshplane::config::kMaxPolicyBytes + (1u << 20)));
  args.SetMaxReceiveMessageSize(static_cast<int>(meshplane::config::kMaxPolicyBytes + (1u << 20)));
  return v1::Meshplane::NewStub(
      grpc::CreateCustomChannel("unix:" + o.socket, grpc::InsecureChannelCredentials(), args));
}

std::unique_ptr<grpc::ClientContext> context(int seconds = 30) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return c;
}

int apply(const Options& o, const std::string& file, bool dry_run) {
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "meshctl: cannot read %s\n", file.c_str());
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > meshplane::config::kMaxPolicyBytes) {
    std::fprintf(stderr, "meshctl: %s is %zu bytes; a policy may be at most %zu bytes (docs/config.md, Limits)\n",
                 file.c_str(), text.str().size(), meshplane::config::kMaxPolicyBytes);
    return kExitRefused;
  }
  v1::ApplyRequest req;
  req.set_yaml(text.str());
  req.set_dry_run(dry_run);
  req.set_source(file);
  v1::ApplyResponse resp;
  const auto status = connect(o)->Apply(context().get(), req, &resp);
  if (!status.ok()) return report(status, o);
  for (const auto& w : resp.warnings())
    std::fprintf(stderr, "%s:%d:%d: warning: %s\n", w.file().c_str(), w.line(), w.column(), w.message().c_str());
  if (o.json())
    std::printf("{\"generation\":%lu,\"applied\":%s}\n", resp.generation(), resp.applied() ? "true" : "false");
  else if (dry_run)
    std::printf("%s: valid; dry run, generation %lu stays\n", file.c_str(), resp.generation());
  else
    std::printf("%s: applied, generation %lu\n", file.c_str(), resp.generation());
  return 0;
}

bool fetch_stats(const Options& o, v1::GetStatsResponse& stats, grpc::Status& status) {
  status = connect(o)->GetStats(context().get(), v1::GetStatsRequest{}, &stats);
  return status.ok();
}

// Messages as one JSON array.
template <typename Messages>
std::string json_list(const Messages& items) {
  std::string out = "[";
  for (const auto& m : items) out += (out.size() > 1 ? "," : "") + mp::message_json(m);
  return out + "]";
}
template <typename Messages>
void print_json_list(const Messages& items) {
  std::printf("%s\n", json_list(items).c_str());
}

int get(const Options& o, const std::string& what, const std::string& service) {
  if (what == "policy") {
    v1::GetPolicyResponse resp;
    const auto status = connect(o)->GetPolicy(context().get(), v1::GetPolicyRequest{}, &resp);
    if (!status.ok()) return report(status, o);
    if (o.json())
      std::printf("{\"generation\":%lu,\"yaml\":%s}\n", resp.generation(), mp::json_quote(resp.yaml()).c_str());
    else
      std::printf("# generation %lu\n%s", resp.generation(), resp.yaml().c_str());
    return 0;
  }
  v1::GetStatsResponse stats;
  grpc::Status status;
  if (!fetch_stats(o, stats, status)) return report(status, o);
  if (what == "policies") {
    if (o.json())
      std::printf("{\"access_rules\":%s,\"access_default\":%s,\"authorizations\":%s}\n",
                  json_list(stats.access_rules()).c_str(), mp::json_quote(stats.access_default()).c_str(),
                  json_list(stats.authorizations()).c_str());
    else
      std::fputs(mp::access_table(stats).c_str(), stdout);
    return 0;
  }
  if (what == "ike") {
    if (o.json())
      print_json_list(stats.ike());
    else
      std::fputs(mp::ike_table(stats).c_str(), stdout);
    return 0;
  }
  if (what == "patterns") {
    if (o.json())
      print_json_list(stats.pattern_sets());
    else
      std::fputs(mp::patterns_table(stats).c_str(), stdout);
    return 0;
  }
  if (what == "sas" || what == "services") {
    if (!o.json())
      std::fputs((what == "sas" ? mp::sas_table(stats) : mp::services_table(stats)).c_str(), stdout);
    else if (what == "sas")
      print_json_list(stats.sas());
    else
      print_json_list(stats.services());
    return 0;
  }
  // endpoints [SERVICE]
  const bool found = service.empty() || std::any_of(stats.services().begin(), stats.services().end(),
                                                    [&](const auto& s) { return s.name() == service; });
  if (!found) {
    std::fprintf(stderr, "meshctl: no service named '%s'\n", service.c_str());
    return kExitRefused;
  }
  if (!o.json()) {
    std::fputs(mp::endpoints_table(stats, service).c_str(), stdout);
    return 0;
  }
  std::string out = "[";
  for (const auto& svc : stats.services()) {
    if (!service.empty() && svc.name() != service) continue;
    for (const auto& e : svc.endpoints()) {
      // One row per endpoint, named as in the table: the service, ADDRESS[:PORT].
      const std::string fields = mp::message_json(e);
      out += fmt::format("{}{{\"service\":{},\"endpoint\":{},{}", out.size() > 1 ? "," : "", mp::json_quote(svc.name()),
                         mp::json_quote(e.address() + (e.port() ? fmt::format(":{}", e.port()) : "")),
                         fields.substr(1));
    }
  }
  std::printf("%s]\n", out.c_str());
  return 0;
}

int endpoints(const Options& o, const std::string& action, const std::string& service, const std::string& endpoint,
              uint32_t weight, const std::string& subset, bool dry_run) {
  v1::UpdateEndpointsRequest req;
  req.set_service(service);
  req.set_dry_run(dry_run);
  auto* c = req.add_changes();
  const auto colon = endpoint.find(':');
  c->set_address(endpoint.substr(0, colon));
  if (colon != std::string::npos) {
    const char* first = endpoint.data() + colon + 1;
    const char* last = endpoint.data() + endpoint.size();
    uint16_t port = 0;
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec != std::errc{} || end != last || first == last) {
      std::fprintf(stderr, "meshctl: '%s' is not ADDRESS[:PORT]\n", endpoint.c_str());
      return kExitUsage;
    }
    c->set_port(port);
  }
  c->set_weight(weight);
  c->set_subset(subset);
  c->set_op(action == "add"      ? v1::EndpointChange::ADD
            : action == "remove" ? v1::EndpointChange::REMOVE
            : action == "drain"  ? v1::EndpointChange::DRAIN
                                 : v1::EndpointChange::SET_WEIGHT);
  v1::UpdateEndpointsResponse resp;
  const auto status = connect(o)->UpdateEndpoints(context().get(), req, &resp);
  if (!status.ok()) return report(status, o);
  if (o.json())
    std::printf("{\"generation\":%lu,\"applied\":%s}\n", resp.generation(), resp.applied() ? "true" : "false");
  else
    std::printf("%s %s in %s: %s, generation %lu\n", action.c_str(), endpoint.c_str(), service.c_str(),
                resp.applied() ? "applied" : "valid (dry run)", resp.generation());
  return 0;
}

struct SaArgs {
  std::string action, peer, direction = "inbound", spi, key_file, algorithm = "aes-gcm-128", replace;
  bool esn = false;
  uint32_t replay_window = 0;
  uint64_t soft_seconds = 0, hard_seconds = 0;
};

int sas(const Options& o, const SaArgs& a, bool dry_run) {
  v1::UpdateSasRequest req;
  req.set_peer(a.peer);
  req.set_dry_run(dry_run);
  uint32_t spi = 0, replaced = 0;
  if (!meshplane::parse_number(a.spi, spi) || (!a.replace.empty() && !meshplane::parse_number(a.replace, replaced))) {
    std::fprintf(stderr, "meshctl: an SPI is a number, decimal or 0x hex\n");
    return kExitUsage;
  }
  if (!a.replace.empty()) {  // the old SA goes in the same change as the new one comes
    auto* old = req.add_changes();
    old->set_op(v1::SaChange::DELETE);
    old->set_direction(a.direction);
    old->set_spi(replaced);
  }
  auto* c = req.add_changes();
  c->set_op(a.action == "add" ? v1::SaChange::ADD : v1::SaChange::DELETE);
  c->set_direction(a.direction);
  c->set_spi(spi);
  if (a.action == "add") {
    if (a.key_file.empty()) {
      std::fprintf(stderr, "meshctl: sas add needs --key-file FILE (keys never go on a command line)\n");
      return kExitUsage;
    }
    std::vector<uint8_t> key;
    if (auto problem = meshplane::read_key_file(a.key_file, key); !problem.empty()) {
      std::fprintf(stderr, "meshctl: %s\n", problem.c_str());
      return kExitUsage;
    }
    c->set_key(std::string(key.begin(), key.end()));
    std::fill(key.begin(), key.end(), 0);
    c->set_algorithm(a.algorithm);
    c->set_esn(a.esn);
    c->set_replay_window(a.replay_window);
    c->mutable_soft_lifetime()->set_seconds(a.soft_seconds);
    c->mutable_hard_lifetime()->set_seconds(a.hard_seconds);
  }
  v1::UpdateSasResponse resp;
  const auto status = connect(o)->UpdateSas(context().get(), req, &resp);
  c->mutable_key()->assign(c->key().size(), '\0');
  if (!status.ok()) return report(status, o);
  if (o.json())
    std::printf("{\"generation\":%lu,\"applied\":%s}\n", resp.generation(), resp.applied() ? "true" : "false");
  else
    std::printf("%s %s SPI %s of %s: %s, generation %lu\n", a.action.c_str(), a.direction.c_str(), a.spi.c_str(),
                a.peer.c_str(), resp.applied() ? "applied" : "valid (dry run)", resp.generation());
  return 0;
}

// With --watch, tables of totals and, from the second reading on, of rates since the one before.
int stats(const Options& o, bool watch, double interval) {
  v1::GetStatsResponse before;
  for (bool first = true;; first = false) {
    v1::GetStatsResponse s;
    grpc::Status status;
    if (!fetch_stats(o, s, status)) return report(status, o);
    if (o.json())
      std::printf("%s\n", mp::message_json(s).c_str());
    else
      std::fputs((mp::stats_table(s) + (first ? "" : mp::rates_table(s, before))).c_str(), stdout);
    std::fflush(stdout);
    if (!watch) return 0;
    before = std::move(s);
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    if (!o.json()) std::printf("\n");
  }
}

int status(const Options& o) {
  v1::GetStatusResponse r;
  const auto st = connect(o)->GetStatus(context().get(), v1::GetStatusRequest{}, &r);
  if (!st.ok()) return report(st, o);
  if (o.json()) {
    std::printf("%s\n", mp::message_json(r).c_str());
    return 0;
  }
  std::printf("meshplane %s on %s, node %s\npolicy generation %lu, %u service(s), up %.1f s\n", r.version().c_str(),
              r.socket().c_str(), r.node().empty() ? "-" : r.node().c_str(), r.generation(), r.services(),
              r.uptime_seconds());
  for (const auto& p : r.ports())
    std::printf("port %-12s %-9s %s  %s\n", p.name().c_str(), p.state().c_str(), p.mac().c_str(),
                p.device().c_str());
  for (const auto& w : r.workers())
    std::printf("worker %u on lcore %u: %lu flows\n", w.id(), w.lcore(), w.flows());
  if (!r.metrics().empty()) std::printf("metrics %s\n", r.metrics().c_str());
  return 0;
}

int ports(const Options& o, const std::string& action, const std::string& name) {
  v1::PortRequest req;
  req.set_name(name);
  v1::PortResponse resp;
  auto stub = connect(o);
  const auto status = action == "detach" ? stub->DetachPort(context().get(), req, &resp)
                                         : stub->AttachPort(context().get(), req, &resp);
  if (!status.ok()) return report(status, o);
  if (o.json())
    std::printf("{\"port\":%s,\"state\":%s,\"changed\":%s}\n", mp::json_quote(name).c_str(),
                mp::json_quote(resp.state()).c_str(), resp.changed() ? "true" : "false");
  else
    std::printf("port %s: %s%s\n", name.c_str(), resp.state().c_str(), resp.changed() ? "" : " (unchanged)");
  return 0;
}

int events(const Options& o, uint32_t replay, int count) {
  grpc::ClientContext ctx;
  v1::WatchEventsRequest req;
  req.set_replay(replay);
  auto reader = connect(o)->WatchEvents(&ctx, req);
  v1::Event e;
  int seen = 0;
  while ((count <= 0 || seen < count) && reader->Read(&e)) {
    ++seen;
    if (o.json()) {
      std::printf("%s\n", mp::message_json(e).c_str());
    } else {
      const std::time_t t = static_cast<std::time_t>(e.time_unix_ms() / 1000);
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
      std::printf("%s.%03luZ %-18s generation %-6lu %s\n", when, e.time_unix_ms() % 1000, e.kind().c_str(),
                  e.generation(), e.message().c_str());
    }
    std::fflush(stdout);
  }
  if (count > 0 && seen >= count) {
    ctx.TryCancel();
    return 0;
  }
  return report(reader->Finish(), o);
}

int explain(const Options& o, const v1::ExplainRequest& req) {
  v1::ExplainResponse resp;
  const auto status = connect(o)->Explain(context().get(), req, &resp);
  if (!status.ok()) return report(status, o);
  if (o.json()) {
    std::printf("%s\n", mp::message_json(resp).c_str());
    return 0;
  }
  for (const auto& step : resp.steps()) std::printf("%s\n", step.c_str());
  std::printf("verdict: %s (generation %lu)\n", resp.verdict().c_str(), resp.generation());
  return 0;
}

// Streams each traced packet as it completes; exit 0 once the daemon ends the trace.
int trace(const Options& o, const v1::TraceRequest& req) {
  grpc::ClientContext ctx;
  auto reader = connect(o)->Trace(&ctx, req);
  v1::TracedPacket p;
  int seen = 0;
  while (reader->Read(&p)) {
    ++seen;
    if (o.json()) {
      std::printf("%s\n", mp::message_json(p).c_str());
    } else {
      std::printf("packet %u (worker %u)\n", p.id(), p.worker());
      for (const auto& step : p.steps()) std::printf("  %s\n", step.c_str());
      std::printf("  verdict: %s\n", p.verdict().c_str());
    }
    std::fflush(stdout);
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return report(status, o);
  if (!o.json() && seen < static_cast<int>(req.count()))
    std::printf("%d of %u packet(s) traced before the timeout\n", seen, req.count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"meshctl: drive a running meshplane through its API socket"};
  app.require_subcommand(1);
  // --socket and -o work before or after the subcommand (meshctl get endpoints web -o json).
  app.fallthrough();
  app.footer("Exit codes: 0 done; 1 the daemon refused the request (the reason is printed); 2 usage; "
             "3 the daemon cannot be reached.\nSee docs/operations.md.");
  Options o;
  app.add_option("--socket", o.socket, "the daemon's API socket")->envname("MESHPLANE_SOCKET")->capture_default_str();
  app.add_option("-o,--output", o.output, "table (for people) or json (for scripts)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  std::string file;
  bool dry_run = false;
  auto* apply_cmd = app.add_subcommand("apply", "replace the running policy with a YAML file (all or nothing)");
  apply_cmd->add_option("-f,--file", file, "policy file")->required();
  apply_cmd->add_flag("--dry-run", dry_run, "validate and compile only; change nothing");

  std::string what, service;
  auto* get_cmd = app.add_subcommand("get", "show the running policy, access rules, services, endpoints, SAs, IKE peers or pattern sets");
  get_cmd->add_option("what", what, "policy, policies (access rules with hits), services, endpoints, sas, ike or patterns")
      ->required()
      ->check(CLI::IsMember({"policy", "policies", "services", "endpoints", "sas", "ike", "patterns"}));
  get_cmd->add_option("service", service, "endpoints: only this service");

  std::string action, endpoint;
  uint32_t weight = 0;
  std::string subset;
  auto* ep_cmd = app.add_subcommand("endpoints", "change one service's endpoints");
  ep_cmd->add_option("action", action, "add, remove, drain or weight")
      ->required()
      ->check(CLI::IsMember({"add", "remove", "drain", "weight"}));
  ep_cmd->add_option("service", service, "service name")->required();
  ep_cmd->add_option("endpoint", endpoint, "ADDRESS[:PORT]")->required();
  ep_cmd->add_option("weight", weight, "weight: the new weight")->check(CLI::Range(0, 10000));
  ep_cmd->add_option("--weight", weight, "add: the endpoint's weight (default 1)")->check(CLI::Range(0, 10000));
  ep_cmd->add_option("--subset", subset, "add: the endpoint's subset");
  ep_cmd->add_flag("--dry-run", dry_run, "validate only");

  SaArgs sa;
  auto* sas_cmd = app.add_subcommand("sas", "add or delete a peer's SAs (manual keying; a rekey without loss)");
  sas_cmd->add_option("action", sa.action, "add or delete")->required()->check(CLI::IsMember({"add", "delete"}));
  sas_cmd->add_option("peer", sa.peer, "the peer's name in the policy")->required();
  sas_cmd->add_option("--direction", sa.direction, "inbound (default) or outbound")
      ->check(CLI::IsMember({"inbound", "outbound"}));
  sas_cmd->add_option("--spi", sa.spi, "the SA's SPI, decimal or 0x hex")->required();
  sas_cmd->add_option("--key-file", sa.key_file, "add: hex key and salt in a file only its owner may read");
  sas_cmd->add_option("--algorithm", sa.algorithm, "add: aes-gcm-128 (default) or aes-gcm-256")
      ->check(CLI::IsMember({"aes-gcm-128", "aes-gcm-256"}));
  sas_cmd->add_flag("--esn", sa.esn, "add: extended sequence numbers");
  sas_cmd->add_option("--replay-window", sa.replay_window, "add, inbound: packets (default 1024)")
      ->check(CLI::Range(0, 4096));
  sas_cmd->add_option("--soft-seconds", sa.soft_seconds, "add: an event after this long (time to rekey)");
  sas_cmd->add_option("--hard-seconds", sa.hard_seconds, "add: the SA stops after this long");
  sas_cmd->add_option("--replace", sa.replace, "add: delete this SPI (same direction) in the same change");
  sas_cmd->add_flag("--dry-run", dry_run, "validate only");

  bool watch = false;
  double interval = 1.0;
  auto* stats_cmd = app.add_subcommand("stats", "counters: ports, drops, workers, services");
  stats_cmd->add_flag("-w,--watch", watch, "repeat every --interval seconds until interrupted");
  stats_cmd->add_option("--interval", interval, "seconds between --watch updates")->check(CLI::Range(0.1, 3600.0));

  app.add_subcommand("status", "version, ports and links, workers, policy generation, uptime");

  std::string port_action, port_name;
  auto* ports_cmd = app.add_subcommand("ports", "detach a port before its peer leaves (memif), attach it after");
  ports_cmd->add_option("action", port_action, "detach or attach")
      ->required()
      ->check(CLI::IsMember({"detach", "attach"}));
  ports_cmd->add_option("port", port_name, "the port's name in the policy")->required();

  v1::ExplainRequest question;
  std::string from, to, explain_protocol = "tcp", ingress, identity;
  uint16_t sport = 0, dport = 0;
  uint8_t icmp_type = 8;
  auto* explain_cmd = app.add_subcommand("explain", "what the running policy does with a packet, stage by stage");
  explain_cmd->add_option("--from", from, "source address")->required();
  explain_cmd->add_option("--to", to, "destination address")->required();
  explain_cmd->add_option("--protocol", explain_protocol, "tcp (default), udp, icmp or a number");
  explain_cmd->add_option("--port", dport, "destination port (tcp, udp)");
  explain_cmd->add_option("--source-port", sport, "source port (tcp, udp)");
  explain_cmd->add_option("--icmp-type", icmp_type, "icmp: the type (default 8, echo request)");
  explain_cmd->add_option("--ingress", ingress, "the port it comes in on (default: where the source is routed)");
  explain_cmd->add_option("--identity", identity, "ask as a client with this identity (default: its source's)");

  uint32_t replay = 0;
  int count = 0;
  auto* events_cmd = app.add_subcommand("events", "stream policy and endpoint events as they happen");
  events_cmd->add_option("--replay", replay, "first print up to N recent events")->check(CLI::Range(0, 64));
  events_cmd->add_option("--count", count, "stop after N events");

  v1::TraceRequest trace_req;
  uint32_t trace_count = 10, trace_port = 0;
  double trace_timeout = 10;
  std::string trace_from, trace_to, trace_protocol, trace_ingress;
  auto* trace_cmd = app.add_subcommand("trace", "follow the next N matching packets through the stages, as they pass");
  trace_cmd->add_option("--count", trace_count, "packets to trace")->check(CLI::Range(1, 1000))->capture_default_str();
  trace_cmd->add_option("--from", trace_from, "source address or prefix");
  trace_cmd->add_option("--to", trace_to, "destination address or prefix");
  trace_cmd->add_option("--protocol", trace_protocol, "tcp, udp, icmp or a number");
  trace_cmd->add_option("--port", trace_port, "either L4 port")->check(CLI::Range(0, 65535));
  trace_cmd->add_option("--ingress", trace_ingress, "only packets arriving on this port");
  trace_cmd->add_option("--timeout", trace_timeout, "seconds to wait for them")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*trace_cmd) {
    trace_req.set_count(trace_count);
    trace_req.set_source(trace_from);
    trace_req.set_destination(trace_to);
    trace_req.set_protocol(trace_protocol);
    trace_req.set_port(trace_port);
    trace_req.set_ingress(trace_ingress);
    trace_req.set_timeout_seconds(trace_timeout);
    return trace(o, trace_req);
  }
  if (*apply_cmd) return apply(o, file, dry_run);
  if (*get_cmd) return get(o, what, service);
  if (*explain_cmd) {
    question.set_source(from);
    question.set_destination(to);
    question.set_protocol(explain_protocol);
    question.set_source_port(sport);
    question.set_destination_port(dport);
    question.set_icmp_type(icmp_type);
    question.set_ingress(ingress);
    question.set_identity(identity);
    return explain(o, question);
  }
  if (*ep_cmd) {
    if (action == "weight" && ep_cmd->count("weight") == 0) {
      std::fprintf(stderr, "meshctl: endpoints weight SERVICE ADDRESS[:PORT] WEIGHT\n");
      return kExitUsage;
    }
    return endpoints(o, action, service, endpoint, weight, subset, dry_run);
  }
  if (*stats_cmd) return stats(o, watch, interval);
  if (*sas_cmd) return sas(o, sa, dry_run);
  if (*ports_cmd) return ports(o, port_action, port_name);
  if (*events_cmd) return events(o, replay, count);
  return status(o);
}
