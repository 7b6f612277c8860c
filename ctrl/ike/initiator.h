// The initiator's side of IKE_SA_INIT and IKE_AUTH (RFC 7296 section 1.2):
// offer our proposal and a key share, follow a COOKIE or INVALID_KE_PAYLOAD
// answer by sending the request again, derive the IKE SA's keys from the
// answer, authenticate with IDi, CERT and AUTH while asking for a Child SA,
// and check the responder's identity, AUTH and choice. Transport-free:
// messages in, messages out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctrl/ike/ike_auth.h"

namespace meshplane::ctrl::ike {

class Initiator {
 public:
  Initiator(IkePolicy policy, const AuthConfig& auth, const Endpoint& local, const Endpoint& remote);

  // The first IKE_SA_INIT request.
  std::vector<uint8_t> start();

  struct Step {
    std::vector<uint8_t> send;      // the next request, if any
    std::string failed;             // set: the attempt is over, this is why
    std::optional<ChildSa> child;   // set: established
    std::string peer_identity;
  };
  // A response (its datagram `raw`, without a non-ESP marker).
  Step on_response(const Message& m, std::span<const uint8_t> raw);

  const std::optional<HalfOpen>& sa() const { return sa_; }
  // A NAT between us (or a peer that pretends one to force UDP encapsulation):
  // IKE_AUTH and ESP go to port 4500 (RFC 3948).
  bool float_to_4500() const { return sa_ && (sa_->peer_behind_nat || sa_->us_behind_nat); }

 private:
  std::vector<uint8_t> sa_init_request();
  Step on_sa_init(const Message& m, std::span<const uint8_t> raw);
  Step on_auth(const Message& m, std::span<const uint8_t> raw);

  IkePolicy policy_;
  const AuthConfig& auth_;
  Endpoint local_, remote_;
  uint64_t spi_i_;
  std::vector<uint8_t> ni_;
  uint16_t group_;
  std::optional<KeyShare> share_;
  std::vector<uint8_t> cookie_;
  std::vector<uint8_t> request_;  // the IKE_SA_INIT request as last sent (AUTH signs it)
  std::optional<HalfOpen> sa_;
  std::vector<uint8_t> esp_spi_;
  int attempts_ = 0;
};

}  // namespace meshplane::ctrl::ike
