// meshplane [EAL options] -- [meshplane options]
// Options after "--" are meshplane's own; without "--", all are. --check,
// --help and --version work without EAL (no root, no hugepages).
#include <rte_eal.h>
#include <rte_errno.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <cstdio>
#include <string>
#include <vector>

#include "config/parser.h"
#include "ctrl/runtime/daemon.h"
#include "ctrl/ike/gateway_identity.h"
#include "ctrl/telemetry/metrics.h"
#include "ctrl/runtime/log.h"

namespace {

constexpr int kExitInvalidPolicy = 1;
constexpr int kExitUsage = 2;
constexpr int kExitStartup = 3;

int check_policy(const std::string& path, bool quiet) {
  auto r = meshplane::config::load_policy_file(path);
  if (r.ok() && r.policy.ike)  // the files behind `ike`: they load, and the certificate is what it says
    if (std::string problem; !meshplane::ctrl::ike::load_gateway_identity(*r.policy.ike, problem))
      r.status() = meshplane::config::Status::invalid({{path, r.policy.ike->certificate_mark, "ike: " + problem}});
  if (!r.ok()) {
    std::fputs(meshplane::config::format(r.errors).c_str(), stderr);
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), r.errors.size());
    return kExitInvalidPolicy;
  }
  if (!quiet) {
    std::fputs(meshplane::config::format(r.warnings).c_str(), stderr);
    std::printf("%s: ok (%zu ports, %zu routes, %zu static neighbours, %zu services, %zu peers, %zu access rules)%s\n",
                path.c_str(), r.policy.ports.size(), r.policy.routes.size(), r.policy.neighbours.size(),
                r.policy.services.size(), r.policy.peers.size(), r.policy.access.rules.size(),
                r.warnings.empty() ? "" : fmt::format(", {} warning(s)", r.warnings.size()).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> eal_args{argv[0]};
  std::vector<char*> app_args{argv[0]};
  int sep = -1;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") {
      sep = i;
      break;
    }
  for (int i = 1; i < argc; ++i) {
    if (i == sep) continue;
    (sep > 0 && i < sep ? eal_args : app_args).push_back(argv[i]);
  }

  CLI::App app{"meshplane: kernel-bypass service-mesh data plane.\n"
               "Usage: meshplane [EAL options] -- --config FILE [options]\n"
               "       meshplane --check FILE"};
  meshplane::ctrl::DaemonOptions options;
  std::string check_path, level = "info";
  bool metrics_reference = false;
  app.add_option("-c,--config", options.config_path, "policy file (YAML) to run with")->check(CLI::ExistingFile);
  app.add_option("--check", check_path, "validate a policy file, print every error as file:line:column, and exit");
  app.add_option("--stats-file", options.stats_file, "rewrite counters as JSON to this file every --stats-interval");
  app.add_option("--stats-interval", options.stats_interval, "seconds between stats file updates")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  app.add_option("--run-dir", options.run_dir, "directory for per-port lock files and the API socket")
      ->capture_default_str();
  app.add_option("--socket", options.socket_path, "API socket (default: RUN_DIR/meshplane.sock), mode 0660");
  app.add_option("--log-level", level, "error, warn, info or debug")->capture_default_str();
  app.add_flag("--metrics-reference", metrics_reference,
               "print every Prometheus metric (name, type, labels, meaning) as a Markdown table, and exit");
  app.set_version_flag("--version", std::string("meshplane ") + MESHPLANE_VERSION);
  try {
    app.parse(static_cast<int>(app_args.size()), app_args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  meshplane::log::Level lvl;
  if (!meshplane::log::parse_level(level, lvl)) {
    std::fprintf(stderr, "meshplane: --log-level must be error, warn, info or debug, not '%s'\n", level.c_str());
    return kExitUsage;
  }
  meshplane::log::set_level(lvl);

  if (metrics_reference) {
    std::fputs(meshplane::ctrl::metrics_reference().c_str(), stdout);
    return 0;
  }
  if (!check_path.empty()) return check_policy(check_path, false);
  if (options.config_path.empty()) {
    std::fprintf(stderr, "meshplane: --config FILE is required (or --check FILE to validate one); see --help\n");
    return kExitUsage;
  }
  // Fail on a bad policy before EAL touches hugepages and devices.
  if (int rc = check_policy(options.config_path, true); rc != 0) return rc;

  if (rte_eal_init(static_cast<int>(eal_args.size()), eal_args.data()) < 0) {
    std::fprintf(stderr, "meshplane: EAL initialisation failed: %s (see the EAL messages above)\n",
                 rte_strerror(rte_errno));
    return kExitStartup;
  }
  const int rc = meshplane::ctrl::run_daemon(options);
  rte_eal_cleanup();
  return rc;
}
