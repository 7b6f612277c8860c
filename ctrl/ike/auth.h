// What each side of IKE_AUTH proves (RFC 7296 section 2.15): the octets it
// signs (its own IKE_SA_INIT message, the other side's nonce, and a MAC of
// its identity under SK_pi or SK_pr), and the AUTH value of a pre-shared key.
// Signature authentication (RFC 7427) signs the same octets.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "config/model.h"

namespace meshplane::ctrl::ike {

// <InitiatorSignedOctets> or <ResponderSignedOctets>: `first_message` the
// signer's own IKE_SA_INIT message, `peer_nonce` the other side's nonce,
// `sk_p` the signer's SK_pi/SK_pr, `id_body` its ID payload's body.
std::vector<uint8_t> signed_octets(uint16_t prf_id, std::span<const uint8_t> first_message,
                                   std::span<const uint8_t> peer_nonce, const config::Secret& sk_p,
                                   std::span<const uint8_t> id_body);

// AUTH = prf(prf(secret, "Key Pad for IKEv2"), octets).
std::vector<uint8_t> psk_auth(uint16_t prf_id, const config::Secret& psk, std::span<const uint8_t> octets);

}  // namespace meshplane::ctrl::ike
