// What the in-process IKE tests give their gateways: a test CA in a
// temporary directory that issues gateway certificates (named
// NAME.example and spiffe://mesh.example/gateway/NAME), addresses in
// 192.0.2.0/24 and /16 traffic selectors in 10.0.0.0/8.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "ctrl/ike/identity.h"
#include "ctrl/ike/sa_init.h"
#include "tests/support/test_pki.h"

namespace meshplane::testing {

inline ctrl::ike::Endpoint test_endpoint(uint8_t last) {
  ctrl::ike::Endpoint e;
  e.address = {192, 0, 2, last};
  return e;
}

inline ctrl::ike::TrafficSelector test_prefix16(uint8_t second) {
  ctrl::ike::TrafficSelector t;
  t.start = {10, second, 0, 0};
  t.end = {10, second, 255, 255};
  return t;
}

class TestGatewayCa {
 public:
  explicit TestGatewayCa(const std::string& tag)
      : dir_(std::filesystem::temp_directory_path() / ("mp-" + tag + "-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
    key_ = new_key("ED25519");
    cert_ = make_cert(key_, "mesh CA", nullptr, key_, -1, 30, "", true);
    write_pem(cert_, ca_path());
  }
  ~TestGatewayCa() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::filesystem::remove_all(dir_);
  }
  TestGatewayCa(const TestGatewayCa&) = delete;
  TestGatewayCa& operator=(const TestGatewayCa&) = delete;

  // Credentials for gateway `name` with a key of `type` ("ED25519", "EC", "RSA"),
  // issued by this CA or by `issuer` with `issuer_key`; `error` says why not.
  std::optional<ctrl::ike::Credentials> issue(const std::string& name, const char* type, std::string& error,
                                              X509* issuer = nullptr, EVP_PKEY* issuer_key = nullptr) {
    EVP_PKEY* key = new_key(type);
    X509* cert = make_cert(key, name.c_str(), issuer ? issuer : cert_, issuer_key ? issuer_key : key_, -1, 1,
                           "DNS:" + name + ".example,URI:spiffe://mesh.example/gateway/" + name, false);
    const auto cert_path = (dir_ / (name + ".pem")).string(), key_path = (dir_ / (name + ".key")).string();
    write_pem(cert, cert_path, key, key_path);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctrl::ike::Credentials::load(cert_path, key_path, error);
  }
  std::optional<ctrl::ike::TrustStore> trust(std::string& error) const {
    return ctrl::ike::TrustStore::load(ca_path(), error);
  }
  std::string ca_path() const { return (dir_ / "ca.pem").string(); }

 private:
  std::filesystem::path dir_;
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

}  // namespace meshplane::testing
