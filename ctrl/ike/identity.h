// Who a gateway is, and proving it (RFC 7296 section 3.6-3.8, RFC 7427):
// its certificate and private key (PEM files; the key file must be closed to
// group and others), the CA bundle it trusts, certificate checks against
// that bundle and an expected identity (a SAN URI such as
// spiffe://mesh.example/gateway/gw-b, a DNS name or an IP address), and the
// "digital signature" AUTH: an AlgorithmIdentifier and a signature over the
// signed octets, with Ed25519, ECDSA (P-256/384, SHA-2) or RSA (SHA-256).
// Keys never leave this file's objects.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct x509_st;
struct x509_store_st;
struct evp_pkey_st;

namespace meshplane::ctrl::ike {

// An X.509 certificate (DER) with its parsed form.
class Certificate {
 public:
  static std::optional<Certificate> from_der(std::span<const uint8_t> der);
  Certificate(Certificate&&) noexcept;
  Certificate& operator=(Certificate&&) noexcept;
  ~Certificate();
  const std::vector<uint8_t>& der() const { return der_; }
  x509_st* x509() const { return cert_; }
  // Its subject alternative names as "uri:...", "dns:...", "ip:...".
  std::vector<std::string> names() const;
  // Whether `identity` (a URI with a scheme, an IPv4/IPv6 literal, else a DNS name) is among its names.
  bool has_identity(const std::string& identity) const;

 private:
  Certificate(x509_st* cert, std::vector<uint8_t> der) : cert_(cert), der_(std::move(der)) {}
  x509_st* cert_;
  std::vector<uint8_t> der_;
};

// The CA bundle a gateway trusts.
class TrustStore {
 public:
  // Every certificate in the PEM file; error says why none could be read.
  static std::optional<TrustStore> load(const std::string& pem_path, std::string& error);
  TrustStore(TrustStore&&) noexcept;
  TrustStore& operator=(TrustStore&&) noexcept;
  ~TrustStore();
  // Verifies `leaf` (with `intermediates`) up to a CA of the bundle, at the
  // current time; on failure `error` names the reason ("certificate has
  // expired", "unable to get local issuer certificate", ...).
  bool verify(const Certificate& leaf, const std::vector<Certificate>& intermediates, std::string& error) const;

 private:
  explicit TrustStore(x509_store_st* store) : store_(store) {}
  x509_store_st* store_;
};

// This gateway's certificate and private key.
class Credentials {
 public:
  // The key file must not be readable by group or others (like ssh's).
  static std::optional<Credentials> load(const std::string& cert_pem, const std::string& key_pem, std::string& error);
  Credentials(Credentials&&) noexcept;
  Credentials& operator=(Credentials&&) noexcept;
  ~Credentials();
  const Certificate& certificate() const { return cert_; }
  // The AUTH payload's data for method 14 (RFC 7427): AlgorithmIdentifier
  // length, AlgorithmIdentifier, signature over `octets`.
  std::vector<uint8_t> sign(std::span<const uint8_t> octets) const;

 private:
  Credentials(Certificate cert, evp_pkey_st* key) : cert_(std::move(cert)), key_(key) {}
  Certificate cert_;
  evp_pkey_st* key_;
};

// Whether an ID payload (type and data, RFC 7296 section 3.5) names what
// `cert` is: an FQDN, IP address or RFC 822 address among its SANs, or its
// subject DN (RFC 4945 section 3.1).
bool id_matches(const Certificate& cert, uint8_t id_type, std::span<const uint8_t> data);

// Checks AUTH data of method 14 over `octets` with `signer`'s public key;
// false with `error` for an unknown algorithm or a signature that does not verify.
bool verify_signature_auth(const Certificate& signer, std::span<const uint8_t> auth_data,
                           std::span<const uint8_t> octets, std::string& error);

}  // namespace meshplane::ctrl::ike
