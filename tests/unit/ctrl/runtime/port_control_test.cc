// Ports in and out of the workers' poll set, on real (ring) DPDK ports with a
// polling thread registered like a worker: after a detach returns no poll of
// the port is in progress or begins; a port whose link goes down leaves the
// poll set and comes back when it is up.
#include "ctrl/runtime/port_control.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "config/parser.h"

namespace meshplane::ctrl {
namespace {

class PortControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mp-ports-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    static int serial = 0;  // a vdev stays probed once closed: new names each test
    const int id = 20 + 2 * serial++;
    auto parsed = config::load_policy_text(fmt::format(R"(ports:
  - {{name: a, device: net_ring{}, addresses: [10.0.1.1/24]}}
  - {{name: b, device: net_ring{}, addresses: [10.0.2.1/24]}}
)", id, id + 1), "ports.yaml");
    ASSERT_TRUE(parsed.ok()) << config::format(parsed.errors);
    pool_ = rte_pktmbuf_pool_create(fmt::format("portctl{}", id).c_str(), 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    ports_ = open_ports(parsed.policy, 1, pool_, dir_.string());
    control_ = std::make_unique<PortControl>(ports_, gate_, slot_, events_);
    worker_ = std::thread([this] { poll(); });
  }
  void TearDown() override {
    stop_ = true;
    worker_.join();
    close_ports(ports_);
    rte_mempool_free(pool_);
    std::filesystem::remove_all(dir_);
  }

  // What a worker does with the gate: read it once per loop, poll the open ports, report quiescence.
  void poll() {
    slot_.worker_online(0);
    rte_mbuf* pkts[32];
    while (!stop_) {
      const uint32_t open = gate_.open_ports();
      for (uint16_t p = 0; p < ports_.size(); ++p) {
        if (!(open >> p & 1)) continue;
        if (stopped_[p]) ++violations_;
        const uint16_t n = rte_eth_rx_burst(ports_[p].dpdk_port, 0, pkts, 32);
        rte_pktmbuf_free_bulk(pkts, n);
        polls_[p].fetch_add(1);
        if (stopped_[p]) ++violations_;
      }
      slot_.quiescent(0);
    }
    slot_.worker_offline(0);
  }
  void wait_polled(uint16_t p) {
    const uint64_t before = polls_[p].load();
    while (polls_[p].load() < before + 10) std::this_thread::yield();
  }
  std::string last_event() { return events_.after(0, std::chrono::milliseconds(0)).back().kind; }

  std::filesystem::path dir_;
  rte_mempool* pool_ = nullptr;
  std::vector<RunningPort> ports_;
  dataplane::PortGate gate_;
  dataplane::SnapshotSlot slot_{1};
  EventLog events_;
  std::unique_ptr<PortControl> control_;
  std::thread worker_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_[2] = {false, false};  // set once a detach has returned
  std::atomic<uint64_t> polls_[2] = {0, 0};
  std::atomic<uint64_t> violations_{0};
};

TEST_F(PortControlTest, NoPollOfADetachedPortIsInProgressOrBegins) {
  for (int cycle = 0; cycle < 200; ++cycle) {
    wait_polled(0);
    const Outcome o = control_->set("a", false, 1);
    ASSERT_TRUE(o.ok() && o.applied) << o.message;
    stopped_[0] = true;
    EXPECT_EQ(control_->state(0), "detached");
    wait_polled(1);  // the worker keeps going, on the other port only
    stopped_[0] = false;
    ASSERT_TRUE(control_->set("a", true, 1).ok());
    EXPECT_EQ(control_->state(0), "up");
  }
  EXPECT_EQ(violations_.load(), 0u);
  EXPECT_TRUE(ports_[0].started);
  const auto events = events_.after(0, std::chrono::milliseconds(0));
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 3].kind, "port_detached");
  EXPECT_EQ(events[events.size() - 2].kind, "port_attached");
  EXPECT_EQ(events.back().kind, "port_link_up") << "polled again: its link is up";
}

TEST_F(PortControlTest, RepeatsAndUnknownPortsChangeNothing) {
  EXPECT_EQ(control_->set("nope", false, 1).code, Outcome::Code::kNotFound);
  EXPECT_FALSE(control_->set("a", true, 1).applied) << "attached already";
  EXPECT_TRUE(control_->set("b", false, 1).applied);
  EXPECT_FALSE(control_->set("b", false, 1).applied);
  EXPECT_EQ(control_->state(1), "detached");
  control_->watch_links(1);
  EXPECT_EQ(control_->state(1), "detached") << "a detached port stays so whatever its link says";
}

TEST_F(PortControlTest, APortWhoseLinkGoesDownIsNotPolledUntilItIsUp) {
  ASSERT_EQ(rte_eth_dev_set_link_down(ports_[1].dpdk_port), 0);
  control_->watch_links(1);
  stopped_[1] = true;
  EXPECT_EQ(control_->state(1), "link-down");
  EXPECT_EQ(last_event(), "port_link_down");
  wait_polled(0);
  stopped_[1] = false;
  ASSERT_EQ(rte_eth_dev_set_link_up(ports_[1].dpdk_port), 0);
  control_->watch_links(1);
  EXPECT_EQ(control_->state(1), "up");
  EXPECT_EQ(last_event(), "port_link_up");
  wait_polled(1);
  EXPECT_EQ(violations_.load(), 0u);
}

}  // namespace
}  // namespace meshplane::ctrl
