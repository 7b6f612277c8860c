// An established IKE SA and the exchanges after IKE_AUTH, in either role
// (RFC 7296 sections 1.3-1.4, 2.1-2.4, 2.8, 2.18): CREATE_CHILD_SA to
// rekey a Child SA (with PFS: a fresh DH share) or the IKE SA itself,
// INFORMATIONAL to delete Child SAs or the IKE SA and to check that the
// peer is alive. A window of one message each way: our requests wait for
// their response (retransmitted at 0.5 s, doubling, a bounded number of
// times, after which the peer counts as dead); the peer's last request is
// answered again from cache when it is retransmitted. Simultaneous rekeys
// of one Child SA are settled by nonces (section 2.8.1). Transport-free:
// messages and a clock in; datagrams and Child SA changes out.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctrl/ike/ike_auth.h"

namespace meshplane::ctrl::ike {

struct ExchangeTiming {
  uint64_t retransmit_ms = 500;  // the first retransmission; each next one waits twice as long
  uint32_t retransmits = 5;      // then the peer is dead
};

class IkeSa {
 public:
  // `sa`: IKE_SA_INIT's outcome (SPIs, transforms, nonces, keys), IKE_AUTH
  // done; `initiator`: we sent it. `rekeyed`: made by a CREATE_CHILD_SA
  // instead (section 2.18): message IDs start at 0 both ways.
  IkeSa(HalfOpen sa, bool initiator, const IkePolicy& policy, const AuthConfig& auth, ExchangeTiming timing,
        uint64_t now_ms, bool rekeyed = false);

  // What one call changed.
  struct Out {
    std::vector<std::vector<uint8_t>> send;   // datagrams to the peer, in order
    std::vector<ChildSa> up;                  // Child SAs to install (the newest carries traffic out)
    std::vector<std::vector<uint8_t>> down;   // our inbound SPIs of Child SAs to remove
    std::unique_ptr<IkeSa> successor;         // the IKE SA was rekeyed: this one takes over, children and all
    bool closed = false;                      // this IKE SA is over (deleted, or the peer is dead)
    bool ike_rekey_refused = false;           // our IKE SA rekey was refused (a collision): try again soon
    std::vector<std::string> events;          // what happened, for operators (never a key)
  };

  // A message for this SA (its SPIs): a request of the peer's, or the response to ours.
  void on_message(const Message& m, std::span<const uint8_t> raw, uint64_t now_ms, Out& out);
  // Retransmits what is due, and declares the peer dead when retransmissions are spent.
  void tick(uint64_t now_ms, Out& out);
  // Queues exchanges (sent one at a time, in order).
  void check_liveness(uint64_t now_ms, Out& out);
  void rekey_child(uint64_t now_ms, Out& out);  // the newest Child SA, with PFS
  void rekey_ike(uint64_t now_ms, Out& out);
  void close(uint64_t now_ms, Out& out);        // delete the IKE SA (and with it every Child SA)

  uint64_t spi_i() const { return sa_.spi_i; }
  uint64_t spi_r() const { return sa_.spi_r; }
  uint64_t our_spi() const { return initiator_ ? sa_.spi_i : sa_.spi_r; }
  bool initiator() const { return initiator_; }
  const Chosen& chosen() const { return sa_.chosen; }
  const std::vector<ChildSa>& children() const { return children_; }
  void adopt_children(std::vector<ChildSa> children) { children_ = std::move(children); }
  uint64_t last_heard_ms() const { return last_heard_ms_; }
  bool busy() const { return pending_.has_value() || !queued_.empty(); }
  uint32_t retransmissions() const { return retransmissions_; }

 private:
  enum class Intent : uint8_t { kLiveness, kRekeyChild, kRekeyIke, kDeleteChild, kDeleteIke };
  struct Queued {
    Intent intent;
    std::vector<uint8_t> spi;  // kDeleteChild: our inbound SPI
  };
  struct Pending {
    Intent intent;
    uint32_t id = 0;
    std::vector<uint8_t> bytes;
    uint64_t next_ms = 0;
    uint32_t tries = 0;
    std::optional<KeyShare> share;      // rekeys: our DH share
    std::vector<uint8_t> nonce;         // rekeys: Ni
    std::vector<uint8_t> spi;           // kRekeyChild: the new inbound SPI; kDeleteChild: the SPI deleted
    uint64_t new_ike_spi = 0;           // kRekeyIke
    std::vector<uint8_t> old_spi;       // kRekeyChild: the old child's inbound SPI
  };

  std::vector<uint8_t> seal(Exchange exchange, bool response, uint32_t id, MessageWriter& w);
  std::optional<std::vector<Payload>> open(const Message& m, std::span<const uint8_t> raw,
                                           std::vector<uint8_t>& plain);
  void send_next(uint64_t now_ms, Out& out);
  void on_request(const Message& m, const std::vector<Payload>& inner, uint64_t now_ms, Out& out);
  void on_response(const std::vector<Payload>& inner, uint64_t now_ms, Out& out);
  void answer_create_child(const std::vector<Payload>& inner, MessageWriter& w, Out& out);
  void answer_rekey_ike(const Proposal& offered, const std::vector<Payload>& inner, MessageWriter& w, Out& out);
  void answer_informational(const std::vector<Payload>& inner, MessageWriter& w, Out& out);
  void finish_rekey_child(const std::vector<Payload>& inner, Out& out);
  void finish_rekey_ike(const std::vector<Payload>& inner, uint64_t now_ms, Out& out);
  void drop_child(const std::vector<uint8_t>& spi_in, Out& out);
  void end(std::string why, Out& out);
  ChildSa* child_by_in(std::span<const uint8_t> spi);
  ChildSa* child_by_out(std::span<const uint8_t> spi);

  HalfOpen sa_;
  bool initiator_;
  const IkePolicy& policy_;
  const AuthConfig& auth_;
  ExchangeTiming timing_;
  std::vector<ChildSa> children_;       // the oldest first
  uint32_t next_id_, peer_id_;          // our next request's message ID; the peer's next one
  uint64_t iv_ = 2;                     // IKE_AUTH used 1 in both directions
  std::optional<Pending> pending_;
  std::deque<Queued> queued_;
  std::vector<uint8_t> last_request_, last_response_;  // the peer's last request and our answer
  uint64_t last_heard_ms_;
  uint32_t retransmissions_ = 0;
  // A rekey of the peer's answered while ours of the same Child SA was out
  // (section 2.8.1): its nonces, and the SA it made (our inbound SPI).
  std::vector<uint8_t> their_rekey_low_nonce_, their_rekey_spi_, their_rekey_old_spi_;
  bool closed_ = false;
};

}  // namespace meshplane::ctrl::ike
