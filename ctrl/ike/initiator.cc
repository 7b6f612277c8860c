#include "ctrl/ike/initiator.h"

#include <algorithm>

#include "ctrl/ike/auth.h"

namespace meshplane::ctrl::ike {
namespace {

constexpr int kMaxSaInitAttempts = 4;  // a cookie and a group change fit twice over

// The first error notify among `payloads`, as text.
std::optional<std::string> error_notify(const std::vector<Payload>& payloads) {
  if (auto type = find_error_notify(payloads)) return "the responder answered error notify " + std::to_string(*type);
  return std::nullopt;
}

}  // namespace

Initiator::Initiator(IkePolicy policy, const AuthConfig& auth, const Endpoint& local, const Endpoint& remote)
    : policy_(std::move(policy)), auth_(auth), local_(local), remote_(remote), spi_i_(random_ike_spi()),
      ni_(random_bytes(32)), group_(policy_.groups.front()) {}

std::vector<uint8_t> Initiator::start() { return sa_init_request(); }

std::vector<uint8_t> Initiator::sa_init_request() {
  ++attempts_;
  share_ = KeyShare::generate(group_);
  Header h;
  h.spi_i = spi_i_;
  h.exchange = Exchange::kIkeSaInit;
  h.flags = kFlagInitiator;
  MessageWriter w(h);
  if (!cookie_.empty()) write_notify(w, static_cast<uint16_t>(NotifyType::kCookie), cookie_);
  Proposal p;
  for (uint16_t bits : policy_.encr_key_bits) p.transforms.push_back({TransformType::kEncr, kEncrAesGcm16, bits});
  for (uint16_t prf : policy_.prfs) p.transforms.push_back({TransformType::kPrf, prf});
  // The group of our key share first: a responder that takes the first it knows then needs no second round.
  p.transforms.push_back({TransformType::kDh, group_});
  for (uint16_t g : policy_.groups)
    if (g != group_) p.transforms.push_back({TransformType::kDh, g});
  write_sa(w, {p});
  write_ke(w, group_, share_->public_value());
  write_nonce(w, ni_);
  write_notify(w, static_cast<uint16_t>(NotifyType::kNatDetectionSourceIp), nat_detection_hash(spi_i_, 0, local_));
  write_notify(w, static_cast<uint16_t>(NotifyType::kNatDetectionDestinationIp), nat_detection_hash(spi_i_, 0, remote_));
  write_notify(w, static_cast<uint16_t>(NotifyType::kSignatureHashAlgorithms), std::vector<uint8_t>{0, 2, 0, 3, 0, 4, 0, 5});
  request_ = w.finish();
  return request_;
}

Initiator::Step Initiator::on_response(const Message& m, std::span<const uint8_t> raw) {
  if (!m.header.response() || m.header.spi_i != spi_i_) return {};  // not ours: ignored
  if (m.header.exchange == Exchange::kIkeSaInit && !sa_) return on_sa_init(m, raw);
  if (m.header.exchange == Exchange::kIkeAuth && sa_ && m.header.message_id == 1) return on_auth(m, raw);
  return {};
}

Initiator::Step Initiator::on_sa_init(const Message& m, std::span<const uint8_t> raw) {
  Step step;
  if (auto cookie = find_notify(m.payloads, NotifyType::kCookie)) {
    if (attempts_ >= kMaxSaInitAttempts) return {{}, "too many IKE_SA_INIT rounds", {}, {}};
    cookie_.assign(cookie->data.begin(), cookie->data.end());
    step.send = sa_init_request();
    return step;
  }
  if (auto invalid = find_notify(m.payloads, NotifyType::kInvalidKePayload)) {
    const uint16_t wanted = invalid->data.size() == 2 ? static_cast<uint16_t>(invalid->data[0] << 8 | invalid->data[1]) : 0;
    if (attempts_ >= kMaxSaInitAttempts || std::find(policy_.groups.begin(), policy_.groups.end(), wanted) == policy_.groups.end())
      return {{}, "the responder wants a group we do not offer", {}, {}};
    group_ = wanted;
    step.send = sa_init_request();
    return step;
  }
  if (auto e = error_notify(m.payloads)) return {{}, *e, {}, {}};
  std::string error;
  std::vector<Proposal> chosen_list;
  const Payload* sa = m.find(PayloadType::kSa);
  const Payload* ke = m.find(PayloadType::kKe);
  const Payload* nonce = m.find(PayloadType::kNonce);
  if (!sa || !ke || !nonce || !read_sa(sa->body, chosen_list, error) || chosen_list.size() != 1)
    return {{}, "IKE_SA_INIT response without one SA, KE and nonce", {}, {}};
  const auto chosen = choose_ike_proposal(chosen_list, policy_);
  const auto key_exchange = read_ke(ke->body, error);
  if (!chosen || chosen_list[0].transforms.size() != 3 || !key_exchange || key_exchange->group != group_ ||
      chosen->group != group_)
    return {{}, "the responder chose something we did not offer", {}, {}};
  const auto shared = share_->shared_secret(key_exchange->data);
  if (!shared) return {{}, "the responder's key exchange value is not a point of its group", {}, {}};
  HalfOpen s;
  s.spi_i = spi_i_;
  s.spi_r = m.header.spi_r;
  s.chosen = *chosen;
  s.ni = ni_;
  s.nr.assign(nonce->body.begin(), nonce->body.end());
  s.keys = derive_ike_keys(chosen->prf, chosen->encr_key_bits / 8, s.ni, s.nr, *shared, s.spi_i, s.spi_r);
  s.request = request_;
  s.response.assign(raw.begin(), raw.end());
  // NAT detection (section 2.23): hashes over both SPIs that do not match the addresses we know.
  if (auto source = find_notify(m.payloads, NotifyType::kNatDetectionSourceIp))
    s.peer_behind_nat = !std::ranges::equal(source->data, nat_detection_hash(s.spi_i, s.spi_r, remote_));
  if (auto destination = find_notify(m.payloads, NotifyType::kNatDetectionDestinationIp))
    s.us_behind_nat = !std::ranges::equal(destination->data, nat_detection_hash(s.spi_i, s.spi_r, local_));
  sa_ = std::move(s);

  // IKE_AUTH: who we are, our proof, and the Child SA we want.
  MessageWriter w;
  const auto idi = id_body(IdType::kFqdn, auth_.local_id);
  write_id(w, PayloadType::kIdi, idi);
  const auto octets = signed_octets(sa_->chosen.prf, sa_->request, sa_->nr, sa_->keys.sk_pi, idi);
  if (auth_.credentials) {
    write_cert(w, auth_.credentials->certificate().der());
    write_auth(w, kAuthDigitalSignature, auth_.credentials->sign(octets));
  } else {
    write_auth(w, kAuthPsk, psk_auth(sa_->chosen.prf, *auth_.psk, octets));
  }
  esp_spi_ = random_esp_spi();
  write_sa(w, {esp_offer(esp_spi_, auth_.esp_key_bits)});
  write_ts(w, PayloadType::kTsi, auth_.local_ts);
  write_ts(w, PayloadType::kTsr, auth_.remote_ts);
  const uint8_t first = w.first_type();
  Header h;
  h.spi_i = sa_->spi_i;
  h.spi_r = sa_->spi_r;
  h.exchange = Exchange::kIkeAuth;
  h.flags = kFlagInitiator;
  h.message_id = 1;
  step.send = seal_message(h, first, w.finish(), sa_->keys.sk_ei, 1);
  return step;
}

Initiator::Step Initiator::on_auth(const Message& m, std::span<const uint8_t> raw) {
  if (m.payloads.empty() || m.payloads.back().type != static_cast<uint8_t>(PayloadType::kSk)) return {};
  const Payload& sk = m.payloads.back();
  const auto plain = open_sk(raw.first(static_cast<size_t>(sk.body.data() - raw.data())), sk.body, sa_->keys.sk_er);
  if (!plain) return {};  // not from the responder: ignored
  std::vector<Payload> inner;
  ParseError parse_error;
  uint8_t critical = 0;
  if (!parse_chain(*plain, sk.next, inner, parse_error, critical)) return {{}, "the IKE_AUTH response does not parse", {}, {}};
  if (find_notify(inner, NotifyType::kAuthenticationFailed)) return {{}, "the responder refused our authentication", {}, {}};
  std::string error;
  const AuthPayloads p = collect_auth_payloads(inner, PayloadType::kIdr);
  if (!p.id || !p.auth) return {{}, "IKE_AUTH response without IDr and AUTH", {}, {}};
  const auto octets = signed_octets(sa_->chosen.prf, sa_->response, sa_->ni, sa_->keys.sk_pr, p.id->body);
  Step step;
  std::string why;
  const auto peer = authenticate_peer(auth_, sa_->chosen.prf, p, octets, why);
  if (!peer) return {{}, "the responder: " + why, {}, {}};
  step.peer_identity = *peer;
  const Payload *esp = p.sa, *tsi = p.tsi, *tsr = p.tsr;
  if (auto e = error_notify(inner)) return {{}, "IKE SA up, no Child SA: " + *e, {}, {}};
  std::vector<Proposal> chosen;
  std::vector<TrafficSelector> ts_i, ts_r;
  if (!esp || !tsi || !tsr || !read_sa(esp->body, chosen, error) || chosen.size() != 1 || chosen[0].spi.size() != 4 ||
      !read_ts(tsi->body, ts_i, error) || !read_ts(tsr->body, ts_r, error))
    return {{}, "IKE_AUTH response without a Child SA", {}, {}};
  const auto encr = std::find_if(chosen[0].transforms.begin(), chosen[0].transforms.end(),
                                 [](const Transform& t) { return t.type == TransformType::kEncr; });
  if (encr == chosen[0].transforms.end() || encr->id != kEncrAesGcm16 ||
      std::find(auth_.esp_key_bits.begin(), auth_.esp_key_bits.end(), encr->key_bits) == auth_.esp_key_bits.end() ||
      narrow(ts_i, auth_.local_ts) != ts_i || narrow(ts_r, auth_.remote_ts) != ts_r)
    return {{}, "the responder chose an ESP transform or selectors we did not offer", {}, {}};
  ChildKeys keys = derive_child_keys(sa_->chosen.prf, encr->key_bits / 8 + kGcmSaltSize, sa_->keys.sk_d, sa_->ni, sa_->nr);
  step.child = ChildSa{esp_spi_, chosen[0].spi, encr->key_bits, false, std::move(keys.responder_to_initiator),
                       std::move(keys.initiator_to_responder), std::move(ts_i), std::move(ts_r)};
  return step;
}

}  // namespace meshplane::ctrl::ike
