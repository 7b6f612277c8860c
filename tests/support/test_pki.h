// Keys and X.509 certificates made through OpenSSL's API for tests: a CA,
// leaves with chosen names and validity, in DER or PEM files.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace meshplane::testing {

// "ED25519", "EC" (P-256) or "RSA" (2048 bits).
inline EVP_PKEY* new_key(const char* type) {
  if (std::string(type) == "EC") return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (std::string(type) == "RSA") return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  return EVP_PKEY_Q_keygen(nullptr, nullptr, type);
}

// A certificate for `key` signed by `issuer_key` (self-signed when `issuer` is null), valid from
// `from_days` to `to_days` relative to now.
inline X509* make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long from_days, long to_days,
                const std::string& sans, bool ca) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), std::rand());
  X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  if (ca) add(NID_basic_constraints, "critical,CA:TRUE");
  if (!sans.empty()) add(NID_subject_alt_name, sans);
  const bool ed = EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_ED25519;
  X509_sign(x, issuer_key, ed ? nullptr : EVP_sha256());
  return x;
}

inline std::vector<uint8_t> der_of(X509* x) {
  std::vector<uint8_t> out(static_cast<size_t>(i2d_X509(x, nullptr)));
  uint8_t* p = out.data();
  i2d_X509(x, &p);
  return out;
}

// Writes `x` (and, with `key`, the key mode 0600) as PEM files.
inline void write_pem(X509* x, const std::string& cert_path, EVP_PKEY* key = nullptr, const std::string& key_path = "") {
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  if (!key) return;
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  chmod(key_path.c_str(), 0600);
}

}  // namespace meshplane::testing
