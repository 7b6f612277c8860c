// What start-up and --check say about the files behind `ike`: a certificate,
// key and CA bundle that belong together pass and give the ID sent; a key of
// another certificate, a certificate another CA issued, and an `id` the
// certificate does not carry are each refused with what is wrong, never the key.
#include <gtest/gtest.h>

#include <filesystem>

#include "ctrl/ike/gateway_identity.h"
#include "tests/support/ike_gateways.h"

namespace meshplane::ctrl::ike {
namespace {

class GatewayIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ca_.issue("gw-a", "EC", error)) << error;
    ASSERT_TRUE(other_.issue("gw-x", "EC", error)) << error;
    dir_ = std::filesystem::path(ca_.ca_path()).parent_path();
    other_dir_ = std::filesystem::path(other_.ca_path()).parent_path();
    s_.certificate = (dir_ / "gw-a.pem").string();
    s_.key = (dir_ / "gw-a.key").string();
    s_.ca = ca_.ca_path();
  }
  testing::TestGatewayCa ca_{"ike-credentials"}, other_{"ike-credentials-other"};
  std::filesystem::path dir_, other_dir_;
  config::IkeSettings s_;
  std::string check(const config::IkeSettings& s) {
    std::string error;
    load_gateway_identity(s, error);
    return error;
  }
};

TEST_F(GatewayIdentityTest, FilesThatBelongTogetherPass) {
  EXPECT_EQ(check(s_), "");
  s_.id = "spiffe://mesh.example/gateway/gw-a";
  EXPECT_EQ(check(s_), "") << "any name of the certificate may be the ID";
}

TEST_F(GatewayIdentityTest, MismatchesAreNamed) {
  config::IkeSettings wrong_key = s_;
  wrong_key.key = (other_dir_ / "gw-x.key").string();
  EXPECT_NE(check(wrong_key).find("is not the key of certificate"), std::string::npos)
      << check(wrong_key);
  config::IkeSettings wrong_ca = s_;
  wrong_ca.ca = other_.ca_path();
  EXPECT_NE(check(wrong_ca).find("does not verify against ike.ca"), std::string::npos)
      << check(wrong_ca);
  config::IkeSettings wrong_id = s_;
  wrong_id.id = "gw-b.example";
  const std::string why = check(wrong_id);
  EXPECT_NE(why.find("ike.id 'gw-b.example' is not a name of the certificate"), std::string::npos) << why;
  EXPECT_NE(why.find("dns:gw-a.example"), std::string::npos) << "it lists the names there are: " << why;
  config::IkeSettings missing = s_;
  missing.ca = (dir_ / "nothing.pem").string();
  EXPECT_NE(check(missing).find("nothing.pem"), std::string::npos);
}

}  // namespace
}  // namespace meshplane::ctrl::ike
