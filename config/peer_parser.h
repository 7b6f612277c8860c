// The encryption sections of a policy: `ipsec` (settings), `ike` (automatic
// keying) and `peers` (remote gateways, the prefixes behind them, their
// manually keyed SAs or `ike`). Structural
// and type errors only, and reading key files; cross-checks are in
// peer_validate.cc. No error message ever carries key material.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/yaml_tree.h"

namespace meshplane::config {

// What config::to_yaml writes instead of a key given inline.
inline constexpr const char* kHiddenKey = "hidden (meshplane never shows keys)";

void parse_ipsec(const YamlNode& n, Diagnostics& d, IpsecSettings& s);
// `ike`: certificate, key and CA paths (the key file's mode checked here;
// the files are read by ctrl/ike when the daemon starts or --check runs).
void parse_ike(const YamlNode& n, Diagnostics& d, IkeSettings& s);
void parse_peers(const YamlNode& n, Diagnostics& d, std::vector<Peer>& peers);

}  // namespace meshplane::config
