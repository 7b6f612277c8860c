// Peers and manually keyed SAs: what parses, what is refused (with its
// position), key files that others can read, and that no message, and no
// emitted policy, ever carries key material.
#include "config/peer_parser.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/emitter.h"
#include "common/key_file.h"
#include "config/parser.h"

namespace meshplane::config {
namespace {

const std::string kKey128 = "0x0102030405060708090a0b0c0d0e0f10a1a2a3a4";  // key || salt
const std::string kKey256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fcafebabe";

const std::string kPorts = R"(ports:
  - {name: lan, device: d0, addresses: [10.1.0.1/24]}
  - {name: wan, device: d1, addresses: [192.0.2.1/24]}
)";

std::string peer(const std::string& sas, const std::string& extra = "") {
  return kPorts + R"(peers:
  - name: site-b
    address: 192.0.2.2
    local_address: 192.0.2.1
    prefixes: [10.2.0.0/16]
)" + extra + "    sas:\n" + sas;
}

std::string sa(const std::string& direction, const std::string& spi, const std::string& key_part) {
  return "      - {direction: " + direction + ", spi: " + spi + ", " + key_part + "}\n";
}

const std::string kTwoSas = sa("outbound", "0x1001", "key: " + kKey128) + sa("inbound", "0x2001", "key: " + kKey128);

::testing::AssertionResult has_error(const ParseResult& r, int line, int column, const std::string& text) {
  for (const auto& d : r.errors)
    if (d.mark.line == line && d.mark.column == column && d.message.find(text) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error at " << line << ":" << column << " containing '" << text
                                       << "'; got:\n" << format(r.errors);
}

// The 1-based column of `needle` on line `line` of `doc`: positions come from the document, not the parser.
int column(const std::string& doc, int line, const std::string& needle) {
  size_t start = 0;
  for (int l = 1; l < line; ++l) start = doc.find('\n', start) + 1;
  const size_t at = doc.find(needle, start);
  EXPECT_LT(at, doc.find('\n', start)) << "'" << needle << "' is not on line " << line;
  return static_cast<int>(at - start) + 1;
}

// An error on line `line` at where `needle` is written, containing `text`.
::testing::AssertionResult error_at(const ParseResult& r, const std::string& doc, int line, const std::string& needle,
                                    const std::string& text) {
  return has_error(r, line, column(doc, line, needle), text);
}

bool mentions_key(const std::string& text) {
  return text.find("0102030405") != std::string::npos || text.find("a1a2a3a4") != std::string::npos ||
         text.find("cafebabe") != std::string::npos || text.find("191a1b1c") != std::string::npos;
}

std::string key_file(const std::string& contents, mode_t mode) {
  char path[] = "/tmp/mp-key-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
  close(fd);
  chmod(path, mode);
  return path;
}

TEST(PeerParser, ReadsPeersAndTheirSas) {
  const std::string file = key_file(kKey256 + "\n", 0600);
  auto r = load_policy_text(peer(sa("outbound", "4097", "key: " + kKey128 + ", esn: true") +
                                     sa("inbound", "0x2001", "algorithm: aes-gcm-256, key_file: " + file +
                                                                 ", replay_window: 4096"),
                                 "    encapsulation: udp\n    tcp_mss: 1360\n"),
                            "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.policy.peers.size(), 1u);
  const Peer& p = r.policy.peers[0];
  EXPECT_EQ(p.address, 0xc0000202u);
  EXPECT_EQ(p.local_address, 0xc0000201u);
  EXPECT_EQ(p.encapsulation, Encapsulation::kUdp);
  EXPECT_EQ(p.tcp_mss, 1360);
  ASSERT_EQ(p.sas.size(), 2u);
  EXPECT_EQ(p.sas[0].direction, SaDirection::kOutbound);
  EXPECT_EQ(p.sas[0].spi, 4097u);
  EXPECT_TRUE(p.sas[0].esn);
  EXPECT_EQ(p.sas[0].key.bytes().size(), 20u);
  EXPECT_EQ(p.sas[0].key.bytes()[19], 0xa4);
  EXPECT_EQ(p.sas[1].spi, 0x2001u);
  EXPECT_EQ(p.sas[1].algorithm, EspAlgorithm::kAesGcm256);
  EXPECT_EQ(p.sas[1].key.bytes().size(), 36u);
  EXPECT_EQ(p.sas[1].replay_window, 4096u);
  std::remove(file.c_str());
}

TEST(PeerParser, RefusesKeyFilesOthersCanRead) {
  const std::string file = key_file(kKey128, 0644);
  const std::string doc = peer(sa("outbound", "0x1001", "key: " + kKey128) + sa("inbound", "0x2001", "key_file: " + file));
  auto r = load_policy_text(doc, "p.yaml");
  EXPECT_TRUE(error_at(r, doc, 11, file, "open to group or others (mode 0644)"));
  EXPECT_FALSE(mentions_key(r.message));
  std::remove(file.c_str());
}

TEST(PeerParser, NamesEveryMistakeWithoutShowingKeys) {
  const std::string doc = peer(sa("outbound", "0x10", "key: " + kKey128.substr(0, 30)) +
                               sa("inbound", "0x2001", "key: nothex" + kKey128.substr(8)) +
                               sa("sideways", "0x2002", "key: " + kKey128 + ", key_file: /x") +
                               sa("inbound", "0x2001", "algorithm: aes-gcm-256, key: " + kKey128));
  auto r = load_policy_text(doc, "p.yaml");
  EXPECT_TRUE(error_at(r, doc, 10, "0x10", "between 256 and 0xffffffff"));
  EXPECT_TRUE(error_at(r, doc, 10, "0x0102", "needs 20 bytes of key and salt (40 hex digits), found 14 bytes"));
  EXPECT_TRUE(error_at(r, doc, 11, "nothex", "SA key must be hex"));
  EXPECT_TRUE(error_at(r, doc, 12, "sideways", "SA direction 'sideways' is not one of"));
  EXPECT_TRUE(error_at(r, doc, 12, "{", "exactly one of 'key' and 'key_file'"));
  EXPECT_TRUE(error_at(r, doc, 13, "0x2001", "inbound SPI 0x2001 is already used"));
  EXPECT_TRUE(error_at(r, doc, 13, "0x0102", "aes-gcm-256 needs 36 bytes"));
  EXPECT_FALSE(mentions_key(r.message)) << r.message;
}

TEST(PeerParser, ChecksAddressesPrefixesAndSaCounts) {
  const std::string doc = kPorts + R"(peers:
  - name: b
    address: 10.9.9.9
    local_address: 192.0.2.7
    prefixes: [10.9.0.0/16, 10.1.0.0/16]
    sas: [{direction: inbound, spi: 300, key: )" + kKey128 + R"(}]
  - name: b
    address: 192.0.2.3
    local_address: 192.0.2.1
    prefixes: [10.9.0.0/16]
    sas: [{direction: outbound, spi: 301, key: )" + kKey128 + R"(}]
)";
  auto r = load_policy_text(doc, "p.yaml");
  EXPECT_TRUE(error_at(r, doc, 6, "10.9.9.9", "peer address 10.9.9.9 has no route"));
  EXPECT_TRUE(error_at(r, doc, 7, "192.0.2.7", "192.0.2.7 is not one of the ports' addresses"));
  EXPECT_TRUE(error_at(r, doc, 8, "10.9.0.0/16", "holds the peer's own address 10.9.9.9"));
  EXPECT_TRUE(error_at(r, doc, 8, "10.1.0.0/16", "overlaps port 'lan''s subnet 10.1.0.1/24"));
  EXPECT_TRUE(error_at(r, doc, 5, "name", "peer 'b' needs exactly one outbound SA, found 0"));
  EXPECT_TRUE(error_at(r, doc, 10, "name", "two peers are named 'b'"));
  EXPECT_TRUE(error_at(r, doc, 10, "name", "peer 'b' needs at least one inbound SA"));
  EXPECT_TRUE(error_at(r, doc, 13, "10.9.0.0/16", "prefix 10.9.0.0/16 is already behind peer 'b'"));
}

TEST(PeerParser, ShownPoliciesHideKeysAndSayHowToGiveThemBack) {
  const std::string file = key_file(kKey128, 0600);
  auto r = load_policy_text(peer(sa("outbound", "0x1001", "key: " + kKey128) +
                                 sa("inbound", "0x2001", "key_file: " + file)),
                            "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const std::string shown = to_yaml(r.policy);
  EXPECT_FALSE(mentions_key(shown)) << shown;
  EXPECT_NE(shown.find(file), std::string::npos) << "a key file is named";
  auto again = load_policy_text(shown, "shown.yaml");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message.find("key was hidden when the policy was shown"), std::string::npos) << again.message;
  EXPECT_EQ(again.errors.size(), 1u) << again.message;
  std::remove(file.c_str());
}

std::string ike_section(const std::string& key_path) {
  return "ike:\n  certificate: /etc/meshplane/gw-a.pem\n  key: " + key_path +
         "\n  ca: /etc/meshplane/ca.pem\n  child_rekey_seconds: 600\n";
}

std::string ike_peer(const std::string& name, const std::string& address, const std::string& extra) {
  return "  - name: " + name + "\n    address: " + address + "\n    local_address: 192.0.2.1\n    prefixes: [10." +
         address.substr(address.size() - 1) + ".0.0/16]\n" + extra;
}

TEST(PeerParser, ReadsIkeAndPeersKeyedByIt) {
  const std::string key = key_file("-----BEGIN PRIVATE KEY-----\n", 0600);
  const std::string doc = kPorts + ike_section(key) + "peers:\n" +
                          ike_peer("site-b", "192.0.2.2",
                                   "    identity: spiffe://mesh.example/gateway/gw-b\n    ike: {initiate: false}\n");
  auto r = load_policy_text(doc, "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_TRUE(r.policy.ike);
  EXPECT_EQ(r.policy.ike->certificate, "/etc/meshplane/gw-a.pem");
  EXPECT_EQ(r.policy.ike->child_rekey_seconds, 600u);
  EXPECT_EQ(r.policy.ike->ike_rekey_seconds, 14400u) << "the default";
  ASSERT_TRUE(r.policy.peers.at(0).ike);
  EXPECT_FALSE(r.policy.peers[0].ike->initiate);
  EXPECT_TRUE(r.policy.peers[0].sas.empty());
  // Shown and read back, it is the same policy.
  auto again = load_policy_text(to_yaml(r.policy), "shown.yaml");
  ASSERT_TRUE(again.ok()) << again.message << to_yaml(r.policy);
  EXPECT_EQ(again.policy.ike, r.policy.ike);
  EXPECT_EQ(again.policy.peers[0].ike, r.policy.peers[0].ike);
  std::remove(key.c_str());
}

TEST(PeerParser, IkeMistakesAreNamedWhereTheyAre) {
  const std::string open_key = key_file("-----BEGIN PRIVATE KEY-----\n", 0640);
  const std::string doc = kPorts + ike_section(open_key) + "  retransmits: 0\npeers:\n" +
                          ike_peer("b", "192.0.2.2", "    ike: {initiate: yes}\n") +
                          ike_peer("c", "192.0.2.3", "    identity: gw-c.example\n    ike: {}\n    sas: []\n") +
                          ike_peer("d", "192.0.2.4", "    identity: gw-d.example\n");
  auto r = load_policy_text(doc, "p.yaml");
  EXPECT_TRUE(error_at(r, doc, 6, open_key, "open to group or others (mode 0640)"));
  EXPECT_TRUE(error_at(r, doc, 9, "0", "ike.retransmits must be between 1 and 10"));
  EXPECT_TRUE(error_at(r, doc, 15, "{", "give its 'identity', the name its certificate must carry"));
  EXPECT_TRUE(error_at(r, doc, 22, "[]", "is keyed by IKE ('ike'): its SAs are negotiated, not listed"));
  EXPECT_TRUE(error_at(r, doc, 23, "name", "peer 'd' needs 'sas' (manual keys) or 'ike' (keyed by IKEv2)"));
  std::remove(open_key.c_str());

  const std::string no_ike = kPorts + "peers:\n" + ike_peer("b", "192.0.2.2", "    identity: gw-b.example\n    ike: {}\n");
  auto n = load_policy_text(no_ike, "p.yaml");
  EXPECT_TRUE(error_at(n, no_ike, 10, "{", "the policy has no 'ike' section"));
}

TEST(PeerParser, HexKeys) {
  EXPECT_EQ(parse_hex_key(" 0xA0ff\n"), (std::vector<uint8_t>{0xa0, 0xff}));
  EXPECT_EQ(parse_hex_key("a0ff"), (std::vector<uint8_t>{0xa0, 0xff}));
  EXPECT_TRUE(parse_hex_key("a0f").empty());
  EXPECT_TRUE(parse_hex_key("0x").empty());
  EXPECT_TRUE(parse_hex_key("g0").empty());
}

}  // namespace
}  // namespace meshplane::config

namespace meshplane::config {
namespace {

TEST(PeerParser, LifetimesParseAndSoftComesBeforeHard) {
  auto r = load_policy_text(peer(sa("outbound", "0x1001", "key: " + kKey128 +
                                                              ", soft_lifetime: {seconds: 3000, bytes: 1000000}, "
                                                              "hard_lifetime: {seconds: 3600, packets: 4000000000}") +
                                 sa("inbound", "0x2001", "key: " + kKey128)),
                            "p.yaml");
  ASSERT_TRUE(r.ok()) << r.message;
  const auto& out = r.policy.peers[0].sas[0];
  EXPECT_EQ(out.soft.seconds, 3000u);
  EXPECT_EQ(out.soft.bytes, 1000000u);
  EXPECT_EQ(out.hard.packets, 4000000000u);
  const std::string doc = peer(sa("outbound", "0x1001", "key: " + kKey128 + ", soft_lifetime: {seconds: 60}, "
                                                         "hard_lifetime: {seconds: 60}") +
                               sa("inbound", "0x2001", "key: " + kKey128));
  auto bad = load_policy_text(doc, "p.yaml");
  EXPECT_TRUE(error_at(bad, doc, 10, "{seconds: 60}}", "must come before the hard one"));
}

}  // namespace
}  // namespace meshplane::config
