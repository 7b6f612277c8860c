#include "ctrl/ike/auth.h"

#include <string_view>

#include "ctrl/ike/crypto.h"

namespace meshplane::ctrl::ike {

std::vector<uint8_t> signed_octets(uint16_t prf_id, std::span<const uint8_t> first_message,
                                   std::span<const uint8_t> peer_nonce, const config::Secret& sk_p,
                                   std::span<const uint8_t> id_body) {
  std::vector<uint8_t> out(first_message.begin(), first_message.end());
  out.insert(out.end(), peer_nonce.begin(), peer_nonce.end());
  const auto maced_id = prf(prf_id, sk_p.bytes(), id_body);
  out.insert(out.end(), maced_id.begin(), maced_id.end());
  return out;
}

std::vector<uint8_t> psk_auth(uint16_t prf_id, const config::Secret& psk, std::span<const uint8_t> octets) {
  constexpr std::string_view kPad = "Key Pad for IKEv2";
  const config::Secret padded(prf(prf_id, psk.bytes(), std::span(reinterpret_cast<const uint8_t*>(kPad.data()), kPad.size())));
  return prf(prf_id, padded.bytes(), octets);
}

}  // namespace meshplane::ctrl::ike
