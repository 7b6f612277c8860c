// The IKE_SA_INIT request captured from strongSwan 5.9.8 (two proposals,
// P-256 key exchange), shared by the ctrl/ike tests and the fuzz seeds.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace meshplane::testing {

inline std::vector<uint8_t> strongswan_ike_sa_init() {
  std::ifstream in(std::string(MESHPLANE_SOURCE_ROOT) + "/tests/fuzz/seeds/ike_message/strongswan_ike_sa_init.bin",
                   std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace meshplane::testing
