#include "ctrl/ike/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>

namespace meshplane::ctrl::ike {
namespace {

const EVP_MD* digest_of(uint16_t prf) {
  switch (prf) {
    case 5: return EVP_sha256();
    case 6: return EVP_sha384();
    case 7: return EVP_sha512();
    default: return nullptr;
  }
}

std::vector<uint8_t> concat(std::initializer_list<std::span<const uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Splits `keymat` into consecutive pieces of the given sizes.
std::vector<config::Secret> split(const config::Secret& keymat, std::initializer_list<size_t> sizes) {
  std::vector<config::Secret> out;
  size_t at = 0;
  for (size_t n : sizes) {
    out.emplace_back(std::vector<uint8_t>(keymat.bytes().begin() + at, keymat.bytes().begin() + at + n));
    at += n;
  }
  return out;
}

IkeKeys keys_from_seed(uint16_t prf_id, size_t encr_key_bytes, const std::vector<uint8_t>& skeyseed,
                       std::span<const uint8_t> ni, std::span<const uint8_t> nr, uint64_t spi_i, uint64_t spi_r) {
  const size_t p = prf_size(prf_id);
  const size_t e = encr_key_bytes + kGcmSaltSize;
  const auto seed = concat({ni, nr, be_bytes(spi_i, 8), be_bytes(spi_r, 8)});
  const config::Secret keymat = prf_plus(prf_id, skeyseed, seed, p + 2 * e + 2 * p);
  auto parts = split(keymat, {p, e, e, p, p});
  return {std::move(parts[0]), std::move(parts[1]), std::move(parts[2]), std::move(parts[3]), std::move(parts[4])};
}

// Wipes a vector holding secret bytes before it goes.
struct Wiped {
  std::vector<uint8_t> bytes;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

const EVP_CIPHER* gcm_for(size_t key_bytes) {
  return key_bytes == 16 ? EVP_aes_128_gcm() : key_bytes == 32 ? EVP_aes_256_gcm() : nullptr;
}

}  // namespace

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  RAND_bytes(out.data(), static_cast<int>(n));
  return out;
}

uint64_t random_ike_spi() {
  uint64_t spi = 0;
  while (spi == 0) RAND_bytes(reinterpret_cast<uint8_t*>(&spi), sizeof spi);
  return spi;
}

std::vector<uint8_t> random_esp_spi() {
  std::vector<uint8_t> spi = random_bytes(4);
  spi[0] |= 0x10;  // never one of the reserved SPIs 0-255 (RFC 4303 section 2.1)
  return spi;
}

KeyShare::KeyShare(uint16_t group, evp_pkey_st* key, std::vector<uint8_t> pub)
    : group_(group), key_(key), public_(std::move(pub)) {}

KeyShare::KeyShare(KeyShare&& o) noexcept : group_(o.group_), key_(std::exchange(o.key_, nullptr)), public_(std::move(o.public_)) {}

KeyShare& KeyShare::operator=(KeyShare&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    group_ = o.group_;
    key_ = std::exchange(o.key_, nullptr);
    public_ = std::move(o.public_);
  }
  return *this;
}

KeyShare::~KeyShare() { EVP_PKEY_free(key_); }

std::optional<KeyShare> KeyShare::generate(uint16_t group) {
  if (group == 31) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
    std::vector<uint8_t> pub(32);
    size_t len = pub.size();
    if (!key || EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != 32) {
      EVP_PKEY_free(key);
      return std::nullopt;
    }
    return KeyShare(group, key, std::move(pub));
  }
  if (group == 19) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    uint8_t encoded[65];
    size_t len = 0;
    if (!key || EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, encoded, sizeof encoded,
                                                &len) != 1 ||
        len != 65 || encoded[0] != 0x04) {
      EVP_PKEY_free(key);
      return std::nullopt;
    }
    return KeyShare(group, key, std::vector<uint8_t>(encoded + 1, encoded + 65));  // RFC 5903: x || y
  }
  return std::nullopt;
}

std::optional<config::Secret> KeyShare::shared_secret(std::span<const uint8_t> peer_value) const {
  EVP_PKEY* peer = nullptr;
  if (group_ == 31) {
    if (peer_value.size() != 32) return std::nullopt;
    peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_value.data(), peer_value.size());
  } else {
    if (peer_value.size() != 64) return std::nullopt;
    uint8_t encoded[65] = {0x04};
    std::copy(peer_value.begin(), peer_value.end(), encoded + 1);
    peer = EVP_PKEY_new();
    if (peer && (EVP_PKEY_copy_parameters(peer, key_) != 1 ||
                 EVP_PKEY_set1_encoded_public_key(peer, encoded, sizeof encoded) != 1)) {  // checks the point
      EVP_PKEY_free(peer);
      peer = nullptr;
    }
  }
  if (!peer) return std::nullopt;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key_, nullptr);
  std::vector<uint8_t> secret(32);
  size_t len = secret.size();
  const bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
                  EVP_PKEY_derive(ctx, secret.data(), &len) == 1 && len == 32;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  config::Secret out(std::move(secret));
  if (!ok || std::all_of(out.bytes().begin(), out.bytes().end(), [](uint8_t b) { return b == 0; }))
    return std::nullopt;  // RFC 7748 section 6.1: an all-zero secret means a low-order point
  return out;
}

size_t prf_size(uint16_t id) {
  const EVP_MD* md = digest_of(id);
  return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}

std::vector<uint8_t> prf(uint16_t id, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  const EVP_MD* md = digest_of(id);
  if (!md) return {};
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

config::Secret prf_plus(uint16_t id, std::span<const uint8_t> key, std::span<const uint8_t> seed, size_t length) {
  std::vector<uint8_t> out;
  Wiped t;
  for (uint8_t n = 1; out.size() < length && n != 0; ++n) {
    Wiped input{concat({t.bytes, seed, std::span<const uint8_t>(&n, 1)})};
    t.bytes = prf(id, key, input.bytes);
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  }
  out.resize(std::min(out.size(), length));
  return config::Secret(std::move(out));
}

IkeKeys derive_ike_keys(uint16_t prf_id, size_t encr_key_bytes, std::span<const uint8_t> ni,
                        std::span<const uint8_t> nr, const config::Secret& shared, uint64_t spi_i, uint64_t spi_r) {
  Wiped skeyseed{prf(prf_id, concat({ni, nr}), shared.bytes())};
  return keys_from_seed(prf_id, encr_key_bytes, skeyseed.bytes, ni, nr, spi_i, spi_r);
}

IkeKeys derive_rekeyed_ike_keys(uint16_t prf_id, size_t encr_key_bytes, const config::Secret& old_sk_d,
                                std::span<const uint8_t> ni, std::span<const uint8_t> nr,
                                const config::Secret& shared, uint64_t spi_i, uint64_t spi_r) {
  Wiped input{concat({shared.bytes(), ni, nr})};
  Wiped skeyseed{prf(prf_id, old_sk_d.bytes(), input.bytes)};
  return keys_from_seed(prf_id, encr_key_bytes, skeyseed.bytes, ni, nr, spi_i, spi_r);
}

ChildKeys derive_child_keys(uint16_t prf_id, size_t key_bytes_with_salt, const config::Secret& sk_d,
                            std::span<const uint8_t> ni, std::span<const uint8_t> nr, const config::Secret* shared) {
  Wiped seed{shared ? concat({shared->bytes(), ni, nr}) : concat({ni, nr})};
  const config::Secret keymat = prf_plus(prf_id, sk_d.bytes(), seed.bytes, 2 * key_bytes_with_salt);
  auto parts = split(keymat, {key_bytes_with_salt, key_bytes_with_salt});
  return {std::move(parts[0]), std::move(parts[1])};
}

std::vector<uint8_t> seal_message(const Header& header, uint8_t first, std::span<const uint8_t> plaintext,
                                  const config::Secret& key_with_salt, uint64_t iv) {
  const size_t body = kGcmIvSize + plaintext.size() + 1 + kGcmIcvSize;  // pad length byte: no padding
  Header h = header;
  h.first_payload = static_cast<uint8_t>(PayloadType::kSk);
  MessageWriter w(h);
  w.begin(PayloadType::kSk);
  w.next_is(first);
  std::vector<uint8_t> out = w.finish();  // header + SK generic header, lengths still to set
  const size_t aad_size = out.size();
  const auto sk_length = static_cast<uint16_t>(kPayloadHeaderSize + body);
  out[aad_size - 2] = static_cast<uint8_t>(sk_length >> 8);
  out[aad_size - 1] = static_cast<uint8_t>(sk_length);
  const auto total = static_cast<uint32_t>(aad_size + body);
  for (int i = 0; i < 4; ++i) out[24 + i] = static_cast<uint8_t>(total >> (24 - 8 * i));

  const auto& key = key_with_salt.bytes();
  const size_t key_bytes = key.size() - kGcmSaltSize;
  uint8_t nonce[12];
  std::copy(key.end() - kGcmSaltSize, key.end(), nonce);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(iv >> (56 - 8 * i));
  out.insert(out.end(), nonce + 4, nonce + 12);
  out.resize(total);
  uint8_t* ct = out.data() + aad_size + kGcmIvSize;
  Wiped padded{concat({plaintext})};
  padded.bytes.push_back(0);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  EVP_EncryptInit_ex(ctx, gcm_for(key_bytes), nullptr, key.data(), nonce);
  EVP_EncryptUpdate(ctx, nullptr, &n, out.data(), static_cast<int>(aad_size));
  EVP_EncryptUpdate(ctx, ct, &n, padded.bytes.data(), static_cast<int>(padded.bytes.size()));
  EVP_EncryptFinal_ex(ctx, ct + n, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmIcvSize, out.data() + total - kGcmIcvSize);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

std::optional<std::vector<uint8_t>> open_sk(std::span<const uint8_t> aad, std::span<const uint8_t> body,
                                            const config::Secret& key_with_salt) {
  const auto& key = key_with_salt.bytes();
  if (key.size() <= kGcmSaltSize || !gcm_for(key.size() - kGcmSaltSize)) return std::nullopt;
  if (body.size() < kGcmIvSize + 1 + kGcmIcvSize) return std::nullopt;
  uint8_t nonce[12];
  std::copy(key.end() - kGcmSaltSize, key.end(), nonce);
  std::copy(body.begin(), body.begin() + kGcmIvSize, nonce + 4);
  const auto ct = body.subspan(kGcmIvSize, body.size() - kGcmIvSize - kGcmIcvSize);
  uint8_t tag[kGcmIcvSize];
  std::copy(body.end() - kGcmIcvSize, body.end(), tag);
  std::vector<uint8_t> plain(ct.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0, m = 0;
  const bool ok = EVP_DecryptInit_ex(ctx, gcm_for(key.size() - kGcmSaltSize), nullptr, key.data(), nonce) == 1 &&
                  EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
                  EVP_DecryptUpdate(ctx, plain.data(), &n, ct.data(), static_cast<int>(ct.size())) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmIcvSize, tag) == 1 &&
                  EVP_DecryptFinal_ex(ctx, plain.data() + n, &m) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  const uint8_t pad = plain.back();
  if (size_t{pad} + 1 > plain.size()) return std::nullopt;
  plain.resize(plain.size() - 1 - pad);
  return plain;
}

}  // namespace meshplane::ctrl::ike
