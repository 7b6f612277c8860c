// Control-plane cost of a policy change, for policies of N services (4
// endpoints each): PolicyManager::apply of the whole document, and
// update_endpoints of one endpoint, each ending with the RCU grace period of
// a live worker thread (a reader spinning on the snapshot, as a worker does).
// When either returns, every worker is already on the new snapshot.
//   build/bench/apply_bench [N ...]      (default 10 1000 10000)
#include <rte_eal.h>
#include <rte_lcore.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "ctrl/apply/policy_manager.h"
#include "dataplane/tables/snapshot_slot.h"

using namespace meshplane;
using Clock = std::chrono::steady_clock;

namespace {

std::string policy_text(int services, int table_size) {
  std::string t = R"(ports:
  - {name: a, device: a, addresses: [10.0.1.1/24]}
  - {name: b, device: b, addresses: [10.0.0.1/16]}
load_balancer: {flow_capacity: 1024, max_services: 16384, max_endpoints: 65536}
services:
)";
  for (int i = 0; i < services; ++i) {
    t += "  - {name: s" + std::to_string(i) + ", vip: 10.30." + std::to_string(i / 250) + "." +
         std::to_string(i % 250 + 1) + ", table_size: " + std::to_string(table_size) +
         ", ports: [{port: 80}], endpoints: [";
    for (int e = 0; e < 4; ++e)
      t += std::string(e ? ", " : "") + "{address: 10.0." + std::to_string(1 + (i * 4 + e) / 250) + "." +
           std::to_string((i * 4 + e) % 250 + 2) + "}";
    t += "]}\n";
  }
  return t;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Bytes a snapshot holds, by part. The route table and Maglev tables are
// shared with the previous snapshot while their inputs are unchanged.
struct SnapshotBytes {
  double routes = 0, maglev = 0, rest = 0;
};
SnapshotBytes snapshot_bytes(const ctrl::CompiledSnapshot& s) {
  SnapshotBytes b;
  b.routes = (1u << 24) * 4.0 + 256 * 256 * 4.0;  // rte_lpm tbl24 + 256 tbl8 groups
  for (size_t i = 0; i < s.lb.subsets.size(); ++i)
    b.maglev += s.subset_tables[i]->slots.size() * 4.0 + s.subset_keys[i].size() + sizeof(dataplane::LbSubset);
  b.rest += s.lb.services.size() * sizeof(dataplane::LbService) + s.lb.endpoints.size() * sizeof(dataplane::LbEndpoint);
  b.rest += s.lb.listeners.size() * (sizeof(dataplane::LbListener) + 2 * 12.0) + s.lb.services.size() * 2 * 12.0 +
            s.lb.endpoint_live.size() + s.next_hops.size() * sizeof(dataplane::NextHop);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "-l", "0", "--log-level",
                       "lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {10, 1000, 10000};
  constexpr int kTableSize = 1021;  // about 250 x 4 endpoints; 65537 x 10k services would be 2.6 GB

  std::printf("policy change cost, services of 4 endpoints, Maglev table %d, one live reader thread\n", kTableSize);
  for (int n : sizes) {
    dataplane::SnapshotSlot slot(1);
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      // EAL pinned the main thread to CPU 0 and threads inherit that: a worker has a core of its own.
      cpu_set_t all;
      CPU_ZERO(&all);
      for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
      pthread_setaffinity_np(pthread_self(), sizeof all, &all);
      slot.worker_online(0);
      uint64_t sum = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (const auto* s = slot.current()) sum += s->generation;
        slot.quiescent(0);
      }
      slot.worker_offline(0);
      std::printf("%s", sum == 42 ? " " : "");  // keep the reads
    });
    const std::string text = policy_text(n, kTableSize);
    auto first = config::load_policy_text(policy_text(0, kTableSize), "bench");
    ctrl::PolicyManager::Hooks hooks;
    hooks.publish = [&](std::unique_ptr<dataplane::Snapshot> s) { slot.publish(std::move(s)); };
    ctrl::PolicyManager pm(first.policy, {{0, {}}, {1, {}}}, hooks, Clock::now());

    auto t0 = Clock::now();
    auto o = pm.apply(text, "bench", false, Clock::now());
    const double full = ms(Clock::now() - t0);
    if (!o.ok()) {
      std::fprintf(stderr, "%s\n", o.message.c_str());
      return 1;
    }
    // Apply again (every service unchanged), then an endpoint update, best of 5 each.
    double again = 1e9, update = 1e9;
    for (int i = 0; i < 5; ++i) {
      t0 = Clock::now();
      pm.apply(text, "bench", false, Clock::now());
      again = std::min(again, ms(Clock::now() - t0));
      ctrl::EndpointChange c;
      c.op = ctrl::EndpointChange::Op::kSetWeight;
      c.address = 0x0a000102;  // s0's first endpoint, 10.0.1.2
      c.weight = 2 + i;
      t0 = Clock::now();
      o = pm.update_endpoints("s0", {c}, false, Clock::now());
      update = std::min(update, ms(Clock::now() - t0));
      if (!o.ok()) {
        std::fprintf(stderr, "%s\n", o.message.c_str());
        return 1;
      }
    }
    // Every snapshot the manager publishes is a compiled one.
    const SnapshotBytes bytes = snapshot_bytes(static_cast<const ctrl::CompiledSnapshot&>(*slot.current()));
    stop = true;
    reader.join();
    std::printf("  %6d services: apply new %8.1f ms, apply unchanged %8.1f ms, one endpoint update %8.1f ms, "
                "generation %lu\n",
                n, full, again, update, pm.generation());
    std::printf("  %6s snapshot: route table %.1f MiB, Maglev tables %.1f MiB, the rest %.2f MiB\n", "",
                bytes.routes / 1048576, bytes.maglev / 1048576, bytes.rest / 1048576);
  }
  return 0;
}
