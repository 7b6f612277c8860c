#include "ctrl/ike/sa_init.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

namespace meshplane::ctrl::ike {
namespace {

// The best of `offered` transforms of `type` by `ours` (our preference order); nullopt when none.
template <typename Accept>
std::optional<uint16_t> pick(const Proposal& p, TransformType type, const std::vector<uint16_t>& ours, Accept accept) {
  for (uint16_t want : ours)
    for (const auto& t : p.transforms)
      if (t.type == type && !t.unknown_attribute && accept(t, want)) return want;
  return std::nullopt;
}

bool has(const Proposal& p, TransformType type) {
  return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) { return t.type == type; });
}

// A response that carries only notify `type` (an IKE_SA_INIT refusal or a cookie request), with SPIr zero.
std::vector<uint8_t> notify_only(const Header& request, uint16_t type, std::span<const uint8_t> data) {
  Header h;
  h.spi_i = request.spi_i;
  h.exchange = Exchange::kIkeSaInit;
  h.flags = kFlagResponse;
  MessageWriter w(h);
  write_notify(w, type, data);
  return w.finish();
}

}  // namespace

Proposal Chosen::as_proposal() const {
  Proposal p;
  p.number = number;
  p.protocol = Protocol::kIke;
  p.transforms = {{TransformType::kEncr, kEncrAesGcm16, encr_key_bits},
                  {TransformType::kPrf, prf},
                  {TransformType::kDh, group}};
  return p;
}

std::optional<Chosen> choose_ike_proposal(const std::vector<Proposal>& offered, const IkePolicy& policy) {
  for (const auto& p : offered) {
    if (p.protocol != Protocol::kIke || !p.spi.empty()) continue;
    // AES-GCM carries its own integrity: an INTEG transform other than NONE makes the proposal one we cannot take.
    if (std::any_of(p.transforms.begin(), p.transforms.end(),
                    [](const Transform& t) { return t.type == TransformType::kInteg && t.id != 0; }))
      continue;
    const auto encr = pick(p, TransformType::kEncr, policy.encr_key_bits,
                           [](const Transform& t, uint16_t bits) { return t.id == kEncrAesGcm16 && t.key_bits == bits; });
    const auto prf = pick(p, TransformType::kPrf, policy.prfs, [](const Transform& t, uint16_t id) { return t.id == id; });
    const auto group = pick(p, TransformType::kDh, policy.groups, [](const Transform& t, uint16_t id) { return t.id == id; });
    if (encr && prf && group && has(p, TransformType::kEncr)) return Chosen{p.number, *encr, *prf, *group};
  }
  return std::nullopt;
}

std::vector<uint8_t> nat_detection_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
  std::vector<uint8_t> input;
  for (uint64_t spi : {spi_i, spi_r})
    for (int i = 0; i < 8; ++i) input.push_back(static_cast<uint8_t>(spi >> (56 - 8 * i)));
  input.insert(input.end(), e.bytes().begin(), e.bytes().end());
  input.push_back(static_cast<uint8_t>(e.port >> 8));
  input.push_back(static_cast<uint8_t>(e.port));
  std::vector<uint8_t> out(SHA_DIGEST_LENGTH);
  SHA1(input.data(), input.size(), out.data());
  return out;
}

CookieJar::CookieJar() : secret_(random_bytes(32)), previous_(random_bytes(32)) {}

void CookieJar::rotate() {
  previous_ = secret_;
  secret_ = config::Secret(random_bytes(32));
  ++version_;
}

std::vector<uint8_t> CookieJar::cookie_with(const config::Secret& secret, uint8_t version, std::span<const uint8_t> ni,
                                            const Endpoint& from, uint64_t spi_i) const {
  std::vector<uint8_t> input(ni.begin(), ni.end());
  input.insert(input.end(), from.bytes().begin(), from.bytes().end());
  for (int i = 0; i < 8; ++i) input.push_back(static_cast<uint8_t>(spi_i >> (56 - 8 * i)));
  auto mac = prf(kPrfHmacSha256, secret.bytes(), input);
  mac.resize(16);
  mac.insert(mac.begin(), version);
  return mac;
}

std::vector<uint8_t> CookieJar::cookie(std::span<const uint8_t> ni, const Endpoint& from, uint64_t spi_i) const {
  return cookie_with(secret_, version_, ni, from, spi_i);
}

bool CookieJar::valid(std::span<const uint8_t> c, std::span<const uint8_t> ni, const Endpoint& from,
                      uint64_t spi_i) const {
  if (c.size() != 17) return false;
  const auto expected = c[0] == version_ ? cookie_with(secret_, version_, ni, from, spi_i)
                        : c[0] == static_cast<uint8_t>(version_ - 1)
                            ? cookie_with(previous_, c[0], ni, from, spi_i)
                            : std::vector<uint8_t>{};
  return expected.size() == c.size() && CRYPTO_memcmp(expected.data(), c.data(), c.size()) == 0;
}

SaInitOutcome respond_sa_init(const Message& m, std::span<const uint8_t> raw, const Endpoint& from,
                              const Endpoint& to, const IkePolicy& policy, const CookieJar& cookies,
                              bool demand_cookie) {
  SaInitOutcome out;
  const Header& h = m.header;
  if (h.exchange != Exchange::kIkeSaInit || h.response() || h.spi_r != 0 || h.message_id != 0) {
    out.why = "not an IKE_SA_INIT request";
    return out;
  }
  const Payload* sa = m.find(PayloadType::kSa);
  const Payload* ke = m.find(PayloadType::kKe);
  const Payload* nonce = m.find(PayloadType::kNonce);
  if (!sa || !ke || !nonce || nonce->body.size() < 16 || nonce->body.size() > 256) {
    out.why = "IKE_SA_INIT without SA, KE or a 16-256 byte nonce";
    return out;
  }
  std::string error;
  const auto cookie = find_notify(m.payloads, NotifyType::kCookie);
  const auto natd_source = find_notify(m.payloads, NotifyType::kNatDetectionSourceIp);
  const auto natd_destination = find_notify(m.payloads, NotifyType::kNatDetectionDestinationIp);
  if (demand_cookie && !(cookie && cookies.valid(cookie->data, nonce->body, from, h.spi_i))) {
    out.reply = notify_only(h, static_cast<uint16_t>(NotifyType::kCookie), cookies.cookie(nonce->body, from, h.spi_i));
    out.why = "cookie required";
    return out;
  }
  std::vector<Proposal> offered;
  if (!read_sa(sa->body, offered, error)) {
    out.why = "malformed SA payload: " + error;
    return out;
  }
  const auto chosen = choose_ike_proposal(offered, policy);
  if (!chosen) {
    out.reply = notify_only(h, static_cast<uint16_t>(NotifyType::kNoProposalChosen), {});
    out.why = "no proposal chosen";
    return out;
  }
  const auto key_exchange = read_ke(ke->body, error);
  if (!key_exchange) {
    out.why = error;
    return out;
  }
  if (key_exchange->group != chosen->group) {
    out.reply = notify_only(h, static_cast<uint16_t>(NotifyType::kInvalidKePayload), be_bytes(chosen->group, 2));
    out.why = "key exchange in another group than the one chosen";
    return out;
  }
  auto share = KeyShare::generate(chosen->group);
  const auto shared = share ? share->shared_secret(key_exchange->data) : std::nullopt;
  if (!shared) {
    out.why = "the initiator's key exchange value is not a point of its group";
    return out;
  }
  HalfOpen s;
  s.spi_i = h.spi_i;
  s.spi_r = random_ike_spi();
  s.chosen = *chosen;
  s.ni.assign(nonce->body.begin(), nonce->body.end());
  s.nr = random_bytes(32);
  s.keys = derive_ike_keys(chosen->prf, chosen->encr_key_bits / 8, s.ni, s.nr, *shared, s.spi_i, s.spi_r);
  if (natd_source) s.peer_behind_nat = !std::ranges::equal(natd_source->data, nat_detection_hash(h.spi_i, 0, from));
  if (natd_destination)
    s.us_behind_nat = !std::ranges::equal(natd_destination->data, nat_detection_hash(h.spi_i, 0, to));

  Header rh;
  rh.spi_i = s.spi_i;
  rh.spi_r = s.spi_r;
  rh.exchange = Exchange::kIkeSaInit;
  rh.flags = kFlagResponse;
  MessageWriter w(rh);
  write_sa(w, {chosen->as_proposal()});
  write_ke(w, chosen->group, share->public_value());
  write_nonce(w, s.nr);
  write_notify(w, static_cast<uint16_t>(NotifyType::kNatDetectionSourceIp), nat_detection_hash(s.spi_i, s.spi_r, to));
  write_notify(w, static_cast<uint16_t>(NotifyType::kNatDetectionDestinationIp),
               nat_detection_hash(s.spi_i, s.spi_r, from));
  // RFC 7427: signatures with SHA2-256, -384, -512, and "Identity" (Ed25519 signs the octets themselves).
  write_notify(w, static_cast<uint16_t>(NotifyType::kSignatureHashAlgorithms),
               std::vector<uint8_t>{0, 2, 0, 3, 0, 4, 0, 5});
  out.reply = w.finish();
  s.request.assign(raw.begin(), raw.end());
  s.response = out.reply;
  out.sa = std::move(s);
  return out;
}

}  // namespace meshplane::ctrl::ike
