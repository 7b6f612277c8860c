// The gateway's IKE daemon, transport-free: one responder for every peer,
// an initiator per peer that we start, the established IKE SA of each peer
// (and, after an IKE SA rekey, the old one until it is deleted), and the
// timers of their lives: Child SAs and IKE SAs rekeyed before their
// lifetime (jittered, so two gateways rarely start together), liveness
// checks, retransmissions, and a dead or refused peer tried again with
// back-off. Datagrams in (from the punt path), datagrams out (to the inject
// path), and per peer the Child SAs to install, which the daemon turns into
// the peer's SAs (ctrl/runtime/ike_runtime.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ctrl/ike/ike_sa.h"
#include "ctrl/ike/initiator.h"
#include "ctrl/ike/responder.h"

namespace meshplane::ctrl::ike {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNattPort = 4500;

struct PeerSetup {
  std::string name;
  Endpoint local, remote;  // our address and the peer's, port 500
  bool initiate = true;
  AuthConfig auth;         // the peer's identity, and the selectors: ours, the peer's prefixes
};

struct KeyingSettings {
  IkePolicy policy;
  ResponderLimits limits;
  ExchangeTiming timing;
  uint64_t child_rekey_ms = 3'600'000;
  uint64_t ike_rekey_ms = 14'400'000;
  uint64_t liveness_ms = 30'000;
  uint64_t retry_ms = 2'000;       // a failed attempt is tried again after this, doubling
  uint64_t retry_max_ms = 60'000;
};

// A datagram as IKE sees it: without the non-ESP marker (port 4500 adds it).
struct Datagram {
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

struct PeerStatus {
  std::string name, state, identity, why;  // why: the last failure
  uint64_t spi_i = 0, spi_r = 0;
  bool initiator = false, natt = false;
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> children;  // (inbound, outbound) SPIs
  uint64_t established_ms = 0, last_rekey_ms = 0, next_rekey_ms = 0;
  uint32_t retransmissions = 0;
};

class Keying {
 public:
  Keying(KeyingSettings settings, std::string local_id, const Credentials* credentials, const TrustStore* trust);

  struct Output {
    std::vector<Datagram> send;
    std::set<std::string> changed;  // peers whose Child SAs changed: read children()
    std::vector<std::pair<std::string, std::string>> events;  // (kind, message): never a key
  };

  // The peers keyed by IKE; ones that left are deleted, new ones start.
  void set_peers(std::vector<PeerSetup> peers, uint64_t now_ms, Output& out);
  void on_datagram(std::span<const uint8_t> bytes, const Endpoint& from, const Endpoint& to, uint64_t now_ms,
                   Output& out);
  void tick(uint64_t now_ms, Output& out);
  // Traffic waits for a tunnel that is down: peers we initiate to that are
  // backing off try again now rather than at the end of their back-off.
  void traffic_waiting(uint64_t now_ms);
  void shutdown(uint64_t now_ms, Output& out);  // every IKE SA deleted

  // The peer's Child SAs, the oldest first (the newest carries traffic out); empty when it is down.
  std::vector<ChildSa> children(const std::string& peer) const;
  bool natt(const std::string& peer) const;
  // Where the peer's IKE comes from now: after a move to 4500 behind a NAT, the NAT's mapping.
  Endpoint remote(const std::string& peer) const;
  std::vector<PeerStatus> status() const;
  const Responder& responder() const { return responder_; }

 private:
  struct Peer {
    PeerSetup setup;
    std::unique_ptr<Initiator> initiator;
    std::vector<uint8_t> last_request;  // the initiator's, for retransmission
    Endpoint sending_to;
    uint64_t request_next_ms = 0;
    uint32_t request_tries = 0;
    std::unique_ptr<IkeSa> sa;
    std::vector<std::unique_ptr<IkeSa>> retiring;  // rekeyed IKE SAs until their delete is answered
    bool natt = false;
    std::string identity, why;
    uint64_t established_ms = 0, last_rekey_ms = 0, next_child_rekey_ms = 0, next_ike_rekey_ms = 0,
             next_liveness_ms = 0, retry_at_ms = 0, retry_delay_ms = 0;
  };

  Peer* peer_at(const Endpoint& remote);
  void start(Peer& p, uint64_t now_ms, Output& out);
  void send(Peer& p, std::vector<uint8_t> bytes, Output& out);
  void established(Peer& p, std::unique_ptr<IkeSa> sa, ChildSa child, bool natt, const std::string& identity,
                   const Endpoint& remote, uint64_t now_ms, Output& out);
  void apply(Peer& p, IkeSa& sa, IkeSa::Out& o, uint64_t now_ms, Output& out);
  void lost(Peer& p, const std::string& why, uint64_t now_ms, Output& out);
  void schedule_rekeys(Peer& p, uint64_t now_ms);
  uint64_t jittered(uint64_t ms);     // 90-100% of `ms`, so two gateways seldom start together
  uint64_t random_ms(uint64_t n);     // [0, n)

  KeyingSettings settings_;
  std::string local_id_;
  const Credentials* credentials_;
  const TrustStore* trust_;
  std::map<std::string, Peer> peers_;
  Responder responder_;
};

}  // namespace meshplane::ctrl::ike
