// This gateway's IKE identity from the policy's `ike` section: its
// certificate and key, the CA bundle, and the ID it sends. Read at start and
// by --check; every problem is named (files that do not load, a key of
// another certificate, a certificate its own CA bundle does not verify, an
// `id` the certificate does not carry), never the key.
#pragma once

#include <optional>
#include <string>

#include "config/model.h"
#include "ctrl/ike/identity.h"

namespace meshplane::ctrl::ike {

struct GatewayIdentity {
  Credentials credentials;
  TrustStore trust;
  std::string id;  // sent as an FQDN ID: `ike.id`, or the certificate's first DNS name
};

std::optional<GatewayIdentity> load_gateway_identity(const config::IkeSettings& settings, std::string& error);

}  // namespace meshplane::ctrl::ike
