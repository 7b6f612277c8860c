#include "ctrl/ike/identity.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "ctrl/ike/openssl_error.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

namespace meshplane::ctrl::ike {
namespace {

// RFC 7427's AlgorithmIdentifiers (DER), and what each means here.
struct SignatureAlgorithm {
  std::vector<uint8_t> der;
  const EVP_MD* (*md)();  // null: the key signs the octets itself (Ed25519)
  int key_type;           // EVP_PKEY_ED25519, EVP_PKEY_EC, EVP_PKEY_RSA
};

const std::array<SignatureAlgorithm, 7>& algorithms() {
  static const std::array<SignatureAlgorithm, 7> all = {{
      {{0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70}, nullptr, EVP_PKEY_ED25519},
      {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, EVP_sha256, EVP_PKEY_EC},
      {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, EVP_sha384, EVP_PKEY_EC},
      {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}, EVP_sha512, EVP_PKEY_EC},
      {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}, EVP_sha256, EVP_PKEY_RSA},
      {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}, EVP_sha384, EVP_PKEY_RSA},
      {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}, EVP_sha512, EVP_PKEY_RSA},
  }};
  return all;
}

// What this key signs with: Ed25519 itself, ECDSA with the hash of its curve's size, RSA with SHA-256.
const SignatureAlgorithm* algorithm_for(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  for (const auto& a : algorithms()) {
    if (a.key_type != type) continue;
    if (type == EVP_PKEY_EC) {
      const int bits = EVP_PKEY_get_bits(key);
      const EVP_MD* want = bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
      if (a.md() != want) continue;
    }
    return &a;
  }
  return nullptr;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<Certificate> read_pem_certificate(BIO* bio) {
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (!x) return std::nullopt;
  const int len = i2d_X509(x, nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(std::max(len, 0)));
  uint8_t* out = der.data();
  i2d_X509(x, &out);
  X509_free(x);
  return Certificate::from_der(der);
}

}  // namespace

std::optional<Certificate> Certificate::from_der(std::span<const uint8_t> der) {
  const uint8_t* in = der.data();
  X509* x = d2i_X509(nullptr, &in, static_cast<long>(der.size()));
  if (!x || in != der.data() + der.size()) {
    X509_free(x);
    ERR_clear_error();
    return std::nullopt;
  }
  return Certificate(x, std::vector<uint8_t>(der.begin(), der.end()));
}

Certificate::Certificate(Certificate&& o) noexcept : cert_(std::exchange(o.cert_, nullptr)), der_(std::move(o.der_)) {}

Certificate& Certificate::operator=(Certificate&& o) noexcept {
  if (this != &o) {
    X509_free(cert_);
    cert_ = std::exchange(o.cert_, nullptr);
    der_ = std::move(o.der_);
  }
  return *this;
}

Certificate::~Certificate() { X509_free(cert_); }

std::vector<std::string> Certificate::names() const {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    auto text = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    };
    if (n->type == GEN_URI) out.push_back("uri:" + text(n->d.uniformResourceIdentifier));
    if (n->type == GEN_DNS) out.push_back("dns:" + lower(text(n->d.dNSName)));
    if (n->type == GEN_IPADD) {
      const int len = ASN1_STRING_length(n->d.iPAddress);
      char buf[INET6_ADDRSTRLEN] = {};
      if (len == 4 || len == 16)
        inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(n->d.iPAddress), buf, sizeof buf);
      if (buf[0]) out.push_back(std::string("ip:") + buf);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

bool Certificate::has_identity(const std::string& identity) const {
  std::string want;
  uint8_t addr[16];
  char buf[INET6_ADDRSTRLEN];
  if (identity.find("://") != std::string::npos) {
    want = "uri:" + identity;
  } else if (inet_pton(AF_INET, identity.c_str(), addr) == 1) {
    want = std::string("ip:") + inet_ntop(AF_INET, addr, buf, sizeof buf);
  } else if (inet_pton(AF_INET6, identity.c_str(), addr) == 1) {
    want = std::string("ip:") + inet_ntop(AF_INET6, addr, buf, sizeof buf);
  } else {
    want = "dns:" + lower(identity);
  }
  const auto all = names();
  return std::find(all.begin(), all.end(), want) != all.end();
}

std::optional<TrustStore> TrustStore::load(const std::string& pem_path, std::string& error) {
  BIO* bio = BIO_new_file(pem_path.c_str(), "r");
  if (!bio) {
    error = fmt::format("cannot read CA bundle {}: {}", pem_path, std::strerror(errno));
    ERR_clear_error();
    return std::nullopt;
  }
  X509_STORE* store = X509_STORE_new();
  int count = 0;
  while (auto c = read_pem_certificate(bio)) count += X509_STORE_add_cert(store, c->x509()) == 1;
  ERR_clear_error();  // the end of the file reads as an error
  BIO_free(bio);
  if (count == 0) {
    X509_STORE_free(store);
    error = fmt::format("CA bundle {} holds no certificate", pem_path);
    return std::nullopt;
  }
  return TrustStore(store);
}

TrustStore::TrustStore(TrustStore&& o) noexcept : store_(std::exchange(o.store_, nullptr)) {}
TrustStore& TrustStore::operator=(TrustStore&& o) noexcept {
  if (this != &o) {
    X509_STORE_free(store_);
    store_ = std::exchange(o.store_, nullptr);
  }
  return *this;
}

TrustStore::~TrustStore() { X509_STORE_free(store_); }

bool TrustStore::verify(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                        std::string& error) const {
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const auto& c : intermediates) sk_X509_push(chain, c.x509());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  bool ok = ctx && X509_STORE_CTX_init(ctx, store_, leaf.x509(), chain) == 1 && X509_verify_cert(ctx) == 1;
  if (!ok) error = ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "no verification context";
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  ERR_clear_error();
  return ok;
}

std::optional<Credentials> Credentials::load(const std::string& cert_pem, const std::string& key_pem,
                                             std::string& error) {
  struct stat st {};
  if (stat(key_pem.c_str(), &st) != 0) {
    error = fmt::format("cannot read private key {}: {}", key_pem, std::strerror(errno));
    return std::nullopt;
  }
  if (st.st_mode & 077) {
    error = fmt::format("private key {} is open to group or others (mode {:04o}); chmod 600 it", key_pem,
                        st.st_mode & 07777);
    return std::nullopt;
  }
  BIO* cbio = BIO_new_file(cert_pem.c_str(), "r");
  std::optional<Certificate> cert = cbio ? read_pem_certificate(cbio) : std::nullopt;
  BIO_free(cbio);
  if (!cert) {
    error = fmt::format("cannot read a certificate from {}: {}", cert_pem, openssl_error("no PEM certificate"));
    return std::nullopt;
  }
  BIO* kbio = BIO_new_file(key_pem.c_str(), "r");
  EVP_PKEY* key = kbio ? PEM_read_bio_PrivateKey(kbio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(kbio);
  if (!key) {
    error = fmt::format("cannot read a private key from {}", key_pem);  // never the key's bytes
    ERR_clear_error();
    return std::nullopt;
  }
  if (X509_check_private_key(cert->x509(), key) != 1 || !algorithm_for(key)) {
    error = fmt::format("private key {} is not the key of certificate {}, or not Ed25519, ECDSA or RSA", key_pem,
                        cert_pem);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return std::nullopt;
  }
  return Credentials(std::move(*cert), key);
}

Credentials::Credentials(Credentials&& o) noexcept : cert_(std::move(o.cert_)), key_(std::exchange(o.key_, nullptr)) {}
Credentials& Credentials::operator=(Credentials&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    cert_ = std::move(o.cert_);
    key_ = std::exchange(o.key_, nullptr);
  }
  return *this;
}

Credentials::~Credentials() { EVP_PKEY_free(key_); }

std::vector<uint8_t> Credentials::sign(std::span<const uint8_t> octets) const {
  const SignatureAlgorithm* a = algorithm_for(key_);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::vector<uint8_t> sig;
  if (EVP_DigestSignInit(ctx, nullptr, a->md ? a->md() : nullptr, nullptr, key_) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, octets.data(), octets.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, sig.data(), &len, octets.data(), octets.size()) == 1) sig.resize(len);
    else sig.clear();
  }
  EVP_MD_CTX_free(ctx);
  std::vector<uint8_t> out(1 + a->der.size() + sig.size());  // length, AlgorithmIdentifier, signature
  out[0] = static_cast<uint8_t>(a->der.size());
  std::copy(sig.begin(), sig.end(), std::copy(a->der.begin(), a->der.end(), out.begin() + 1));
  return out;
}

bool id_matches(const Certificate& cert, uint8_t id_type, std::span<const uint8_t> data) {
  const std::string text(data.begin(), data.end());
  char buf[INET6_ADDRSTRLEN] = {};
  switch (id_type) {
    case 1:  // ID_IPV4_ADDR
    case 5:  // ID_IPV6_ADDR
      if (data.size() != (id_type == 1 ? 4u : 16u)) return false;
      inet_ntop(id_type == 1 ? AF_INET : AF_INET6, data.data(), buf, sizeof buf);
      return cert.has_identity(buf);
    case 2:  // ID_FQDN
      return text.find("://") == std::string::npos && cert.has_identity(text);
    case 3: {  // ID_RFC822_ADDR
      auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.x509(), NID_subject_alt_name, nullptr, nullptr));
      bool found = false;
      for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        found = n->type == GEN_EMAIL && ASN1_STRING_length(n->d.rfc822Name) == static_cast<int>(text.size()) &&
                std::memcmp(ASN1_STRING_get0_data(n->d.rfc822Name), text.data(), text.size()) == 0;
      }
      GENERAL_NAMES_free(names);
      return found;
    }
    case 9: {  // ID_DER_ASN1_DN
      const uint8_t* in = data.data();
      X509_NAME* name = d2i_X509_NAME(nullptr, &in, static_cast<long>(data.size()));
      const bool same = name && X509_NAME_cmp(name, X509_get_subject_name(cert.x509())) == 0;
      X509_NAME_free(name);
      ERR_clear_error();
      return same;
    }
    default: return false;
  }
}

bool verify_signature_auth(const Certificate& signer, std::span<const uint8_t> auth_data,
                           std::span<const uint8_t> octets, std::string& error) {
  if (auth_data.empty() || auth_data[0] + 1u > auth_data.size()) {
    error = "AUTH data too short for its AlgorithmIdentifier";
    return false;
  }
  const auto id = auth_data.subspan(1, auth_data[0]);
  const auto signature = auth_data.subspan(1u + auth_data[0]);
  const SignatureAlgorithm* a = nullptr;
  for (const auto& candidate : algorithms())
    if (std::ranges::equal(candidate.der, id)) a = &candidate;
  EVP_PKEY* key = X509_get0_pubkey(signer.x509());
  if (!a || !key || EVP_PKEY_get_base_id(key) != a->key_type) {
    error = "AUTH signature algorithm unknown or not the certificate key's";
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, a->md ? a->md() : nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, signature.data(), signature.size(), octets.data(), octets.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) error = "AUTH signature does not verify";
  return ok;
}

}  // namespace meshplane::ctrl::ike
