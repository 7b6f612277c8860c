// IKE in the daemon (docs/config.md "ike"): the gateway's certificate, key
// and CA bundle loaded at start, ctrl/ike's Keying fed with the IKE datagrams
// the workers punt (UDP 500, and 4500 with the non-ESP marker, RFC 3948) and
// ticked by the control loop; its datagrams leave as IPv4/UDP packets the
// workers route (the inject path), and each change to a peer's Child SAs is
// published as that peer's SAs (PolicyManager::set_negotiated), newest
// outbound first and old inbound kept until deleted: make before break.
// Control thread only.
#pragma once

#include <rte_mbuf.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/apply/policy_manager.h"
#include "ctrl/ike/gateway_identity.h"
#include "ctrl/ike/keying.h"
#include "meshplane.pb.h"

struct rte_mempool;

namespace meshplane::ctrl {

class IkeRuntime {
 public:
  using Clock = std::chrono::steady_clock;
  // Hands a routed packet (IPv4 after room for an Ethernet header) to the workers.
  using Inject = std::function<void(rte_mbuf*)>;

  // Throws std::runtime_error when the credentials do not load.
  IkeRuntime(const config::IkeSettings& settings, rte_mempool* pool, Inject inject, PolicyManager& manager);
  ~IkeRuntime();

  // The policy's IKE-keyed peers (after every publish); changes take effect at the next tick.
  void configure(const config::Policy& policy);
  // A punted IKE packet (Ethernet, IPv4, UDP); always consumed.
  void on_packet(rte_mbuf* m, Clock::time_point now);
  // `tunnel_down_drops`: the workers' esp_tunnel_down count so far; when it
  // grows, traffic waits for a tunnel, and peers backing off try now.
  void tick(Clock::time_point now, uint64_t tunnel_down_drops);
  // Deletes every IKE SA (the peers hear it) before the daemon stops.
  void shutdown(Clock::time_point now);

  // Every IKE-keyed peer as `meshctl get ike` shows it.
  void add_stats(v1::GetStatsResponse& out, Clock::time_point now) const;

 private:
  uint64_t ms(Clock::time_point t) const {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t - started_).count());
  }
  void flush(ike::Keying::Output& out, Clock::time_point now);
  void send(const ike::Datagram& d);

  std::optional<ike::GatewayIdentity> identity_;
  std::unique_ptr<ike::Keying> keying_;
  rte_mempool* pool_;
  Inject inject_;
  PolicyManager& manager_;
  Clock::time_point started_ = Clock::now();
  std::optional<std::vector<ike::PeerSetup>> reconfigure_;  // taken at the next tick
  ike::Keying::Output pending_;
  uint64_t tunnel_down_drops_ = 0;
};

}  // namespace meshplane::ctrl
