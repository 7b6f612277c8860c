#include "dataplane/ipsec/aes_gcm.h"

#include <cstring>
#include <strings.h>

namespace meshplane::dataplane {

GcmKey::~GcmKey() { explicit_bzero(this, sizeof *this); }

GcmEngine::GcmEngine() {
  mgr_ = alloc_mb_mgr(0);
  if (mgr_) init_mb_mgr_auto(mgr_, nullptr);
}

GcmEngine::~GcmEngine() {
  if (mgr_) free_mb_mgr(mgr_);
}

bool GcmEngine::prepare(const uint8_t* key_and_salt, size_t len, GcmKey& out) {
  if (len != 16 + kGcmSaltLen && len != 32 + kGcmSaltLen) return false;
  out.key_bytes = static_cast<uint8_t>(len - kGcmSaltLen);
  if (out.key_bytes == 16)
    IMB_AES128_GCM_PRE(mgr_, key_and_salt, &out.data);
  else
    IMB_AES256_GCM_PRE(mgr_, key_and_salt, &out.data);
  std::memcpy(out.salt, key_and_salt + out.key_bytes, kGcmSaltLen);
  return true;
}

namespace {

// The 12-byte nonce: salt || explicit IV (RFC 4106 section 4).
void nonce(const GcmKey& key, const uint8_t* iv, uint8_t out[12]) {
  std::memcpy(out, key.salt, kGcmSaltLen);
  std::memcpy(out + kGcmSaltLen, iv, kGcmIvLen);
}

}  // namespace

void GcmEngine::seal(const GcmKey& key, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data,
                     size_t len, uint8_t* icv) {
  uint8_t n[12];
  nonce(key, iv, n);
  gcm_context_data ctx;
  if (key.key_bytes == 16)
    IMB_AES128_GCM_ENC(mgr_, &key.data, &ctx, data, data, len, n, aad, aad_len, icv, kGcmIcvLen);
  else
    IMB_AES256_GCM_ENC(mgr_, &key.data, &ctx, data, data, len, n, aad, aad_len, icv, kGcmIcvLen);
}

bool GcmEngine::open(const GcmKey& key, const uint8_t* iv, const uint8_t* aad, size_t aad_len, uint8_t* data,
                     size_t len, const uint8_t* icv) {
  uint8_t n[12];
  nonce(key, iv, n);
  gcm_context_data ctx;
  uint8_t computed[kGcmIcvLen];
  if (key.key_bytes == 16)
    IMB_AES128_GCM_DEC(mgr_, &key.data, &ctx, data, data, len, n, aad, aad_len, computed, kGcmIcvLen);
  else
    IMB_AES256_GCM_DEC(mgr_, &key.data, &ctx, data, data, len, n, aad, aad_len, computed, kGcmIcvLen);
  return equal_constant_time(computed, icv, kGcmIcvLen);
}

}  // namespace meshplane::dataplane
