// Gateway identities with certificates made here through OpenSSL's API: a
// chain verifies only to its own CA and only while valid (expired and
// not-yet-valid certificates are refused with OpenSSL's reason); SANs are
// read as URI, DNS and IP identities; an ID payload must name the
// certificate; RFC 7427 signatures by Ed25519, ECDSA and RSA keys verify
// and fail after any change; a private key open to others is refused.
#include "ctrl/ike/identity.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/test_pki.h"

#include <cstdio>
#include <filesystem>
#include <string>

namespace meshplane::ctrl::ike {
namespace {

using testing::make_cert;
using testing::new_key;

Certificate cert_of(X509* x) { return *Certificate::from_der(testing::der_of(x)); }

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mp-identity-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    ca_key_ = new_key("ED25519");
    ca_ = make_cert(ca_key_, "mesh CA", nullptr, ca_key_, -1, 30, "", true);
    FILE* f = std::fopen((dir_ / "ca.pem").c_str(), "w");
    PEM_write_X509(f, ca_);
    std::fclose(f);
  }
  void TearDown() override {
    X509_free(ca_);
    EVP_PKEY_free(ca_key_);
    std::filesystem::remove_all(dir_);
  }
  X509* leaf(EVP_PKEY* key, long from, long to, const std::string& sans = "DNS:gw-b.example,"
                                                                         "URI:spiffe://mesh.example/gateway/gw-b,"
                                                                         "IP:192.0.2.2") {
    return make_cert(key, "gw-b", ca_, ca_key_, from, to, sans, false);
  }
  std::filesystem::path dir_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_ = nullptr;
};

TEST_F(IdentityTest, AChainVerifiesOnlyToItsCaAndOnlyWhileValid) {
  std::string error;
  auto trust = TrustStore::load((dir_ / "ca.pem").string(), error);
  ASSERT_TRUE(trust) << error;
  EVP_PKEY* key = new_key("EC");
  X509* good = leaf(key, -1, 1);
  EXPECT_TRUE(trust->verify(cert_of(good), {}, error)) << error;
  X509* expired = leaf(key, -10, -1);
  EXPECT_FALSE(trust->verify(cert_of(expired), {}, error));
  EXPECT_EQ(error, "certificate has expired");
  X509* early = leaf(key, 2, 10);
  EXPECT_FALSE(trust->verify(cert_of(early), {}, error));
  EXPECT_EQ(error, "certificate is not yet valid");
  EVP_PKEY* other_key = new_key("ED25519");
  X509* other_ca = make_cert(other_key, "other CA", nullptr, other_key, -1, 30, "", true);
  X509* foreign = make_cert(key, "gw-b", other_ca, other_key, -1, 1, "DNS:gw-b.example", false);
  EXPECT_FALSE(trust->verify(cert_of(foreign), {}, error));
  EXPECT_EQ(error, "unable to get local issuer certificate");
  EXPECT_FALSE(TrustStore::load((dir_ / "missing.pem").string(), error));
  EXPECT_NE(error.find("cannot read CA bundle"), std::string::npos) << error;
  for (X509* x : {good, expired, early, foreign, other_ca}) X509_free(x);
  EVP_PKEY_free(key);
  EVP_PKEY_free(other_key);
}

TEST_F(IdentityTest, NamesAndIdPayloadsMatchTheCertificate) {
  EVP_PKEY* key = new_key("EC");
  X509* x = leaf(key, -1, 1);
  const Certificate c = cert_of(x);
  EXPECT_EQ(c.names(), (std::vector<std::string>{"dns:gw-b.example", "uri:spiffe://mesh.example/gateway/gw-b",
                                                 "ip:192.0.2.2"}));
  EXPECT_TRUE(c.has_identity("spiffe://mesh.example/gateway/gw-b"));
  EXPECT_TRUE(c.has_identity("GW-B.example")) << "DNS names compare without case";
  EXPECT_TRUE(c.has_identity("192.0.2.2"));
  EXPECT_FALSE(c.has_identity("spiffe://mesh.example/gateway/gw-a"));
  EXPECT_FALSE(c.has_identity("gw-a.example"));
  const std::string fqdn = "gw-b.example";
  EXPECT_TRUE(id_matches(c, 2, std::span(reinterpret_cast<const uint8_t*>(fqdn.data()), fqdn.size())));
  const std::string wrong = "gw-a.example";
  EXPECT_FALSE(id_matches(c, 2, std::span(reinterpret_cast<const uint8_t*>(wrong.data()), wrong.size())));
  const uint8_t ip[4] = {192, 0, 2, 2};
  EXPECT_TRUE(id_matches(c, 1, ip));
  std::vector<uint8_t> dn(static_cast<size_t>(i2d_X509_NAME(X509_get_subject_name(x), nullptr)));
  uint8_t* p = dn.data();
  i2d_X509_NAME(X509_get_subject_name(x), &p);
  EXPECT_TRUE(id_matches(c, 9, dn)) << "its subject DN";
  X509_free(x);
  EVP_PKEY_free(key);
}

TEST_F(IdentityTest, SignaturesOfEachKeyTypeVerifyAndNothingElseDoes) {
  for (const char* type : {"ED25519", "EC", "RSA"}) {
    EVP_PKEY* key = new_key(type);
    X509* x = leaf(key, -1, 1);
    const auto cert_path = dir_ / "gw-b.pem", key_path = dir_ / "gw-b.key";
    FILE* f = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key_path.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    chmod(key_path.c_str(), 0644);
    std::string error;
    EXPECT_FALSE(Credentials::load(cert_path, key_path, error)) << type;
    EXPECT_NE(error.find("is open to group or others (mode 0644)"), std::string::npos) << error;
    chmod(key_path.c_str(), 0600);
    auto creds = Credentials::load(cert_path, key_path, error);
    ASSERT_TRUE(creds) << type << ": " << error;
    const std::vector<uint8_t> octets = {1, 2, 3, 4, 5};
    auto auth = creds->sign(octets);
    EXPECT_TRUE(verify_signature_auth(cert_of(x), auth, octets, error)) << type << ": " << error;
    EXPECT_FALSE(verify_signature_auth(cert_of(x), auth, std::vector<uint8_t>{1, 2, 3, 4, 6}, error)) << type;
    auth.back() ^= 1;
    EXPECT_FALSE(verify_signature_auth(cert_of(x), auth, octets, error)) << type;
    EXPECT_EQ(error, "AUTH signature does not verify");
    X509_free(x);
    EVP_PKEY_free(key);
  }
}

}  // namespace
}  // namespace meshplane::ctrl::ike
