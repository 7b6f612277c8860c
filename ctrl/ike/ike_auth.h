// The responder's IKE_AUTH (RFC 7296 section 1.2, 2.15, 2.17): open the
// request's SK payload with SK_ei, authenticate the initiator (a pre-shared
// key, or a certificate chain to our CA whose names include the peer's
// configured identity and an RFC 7427 signature over its octets), choose an
// ESP proposal, narrow its traffic selectors to the peer's configured ones,
// derive the Child SA's keys from SK_d, and answer with IDr, AUTH (and our
// certificate), SA and TS sealed with SK_er; or AUTHENTICATION_FAILED, or
// the CHILD_SA error that applies. Transport-free, like sa_init.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctrl/ike/identity.h"
#include "ctrl/ike/sa_init.h"

namespace meshplane::ctrl::ike {

// How this gateway proves itself, and what it expects of the peer.
struct AuthConfig {
  std::string local_id;                       // sent as an FQDN ID (e.g. gw-b.example)
  const Credentials* credentials = nullptr;  // certificates; null: a pre-shared key
  const TrustStore* trust = nullptr;
  std::string peer_identity;                 // certificates: a name the peer's certificate must carry
  std::optional<config::Secret> psk;         // a pre-shared key (tests and labs)
  std::vector<uint16_t> esp_key_bits = {128, 256};   // AES-GCM-16 for the Child SA
  std::vector<TrafficSelector> local_ts, remote_ts;  // what the Child SA may cover: ours, the peer's
};

struct ChildSa {
  std::vector<uint8_t> spi_in, spi_out;  // 4 bytes each: ours (inbound), the peer's (outbound)
  uint16_t key_bits = 0;
  bool esn = false;
  config::Secret key_in, key_out;  // key and salt
  std::vector<TrafficSelector> ts_local, ts_remote;
  // Whether our traffic out may use it. A Child SA made by answering the
  // peer's rekey waits until the peer deletes the old one: the peer installs
  // its inbound half only when our answer arrives (as strongSwan does).
  bool outbound_ready = true;
};

struct AuthOutcome {
  std::vector<uint8_t> reply;      // sealed; empty: drop (the request did not open)
  std::string peer_identity;       // authenticated: what the peer proved to be
  std::optional<ChildSa> child;
  std::string refused;             // why not (authentication, proposals, selectors)
};

// The payloads of an IKE_AUTH message (after its SK payload is opened) that
// authentication and the Child SA need; `id` is IDi or IDr, by `id_type`.
struct AuthPayloads {
  const Payload *id = nullptr, *auth = nullptr, *sa = nullptr, *tsi = nullptr, *tsr = nullptr;
  std::vector<Certificate> certs;  // X.509 CERT payloads that parse, the end entity first
};
AuthPayloads collect_auth_payloads(const std::vector<Payload>& inner, PayloadType id_type);

// Who the peer proved to be with `p` (its ID, AUTH and certificates) over
// `octets`, under `config`: the configured identity (certificates) or its ID
// (pre-shared key); nullopt with `why`.
std::optional<std::string> authenticate_peer(const AuthConfig& config, uint16_t prf, const AuthPayloads& p,
                                             std::span<const uint8_t> octets, std::string& why);

// `sa` came from respond_sa_init; `raw` is the request as received (without a non-ESP marker).
AuthOutcome respond_ike_auth(const HalfOpen& sa, const Message& m, std::span<const uint8_t> raw,
                             const AuthConfig& config, uint64_t iv);

// The first ESP proposal of `offered` we can take (AES-GCM-16 of `key_bits`,
// no integrity transform), answered with one transform of each type and a
// fresh SPI of ours; its key size and ESN choice in `bits` and `esn`.
std::optional<Proposal> choose_esp(const std::vector<Proposal>& offered, const std::vector<uint16_t>& key_bits,
                                   uint16_t& bits, bool& esn);

// Our ESP offer under `spi`: AES-GCM-16 of each of `key_bits`, no ESN, and
// with `group` (a CREATE_CHILD_SA with PFS) that DH group.
Proposal esp_offer(std::span<const uint8_t> spi, const std::vector<uint16_t>& key_bits, uint16_t group = 0);

// The part of `offered` within `allowed`, per selector (the narrowing of RFC 7296 section 2.9);
// empty when nothing of it is allowed.
std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& allowed);

}  // namespace meshplane::ctrl::ike
