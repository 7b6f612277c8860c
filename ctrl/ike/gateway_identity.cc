#include "ctrl/ike/gateway_identity.h"

#include <fmt/format.h>

namespace meshplane::ctrl::ike {
namespace {

// The ID we send (an FQDN ID payload): `id`, or the certificate's first DNS name.
std::string local_id(const config::IkeSettings& s, const Credentials& c, std::string& error) {
  const auto names = c.certificate().names();
  if (!s.id.empty()) {
    if (!c.certificate().has_identity(s.id))
      error = fmt::format("ike.id '{}' is not a name of the certificate {} (its names: {})", s.id, s.certificate,
                          fmt::join(names, ", "));
    return s.id;
  }
  for (const auto& n : names)
    if (n.rfind("dns:", 0) == 0) return n.substr(4);
  error = fmt::format("the certificate {} has no DNS name to send as this gateway's ID: give ike.id", s.certificate);
  return {};
}

}  // namespace

std::optional<GatewayIdentity> load_gateway_identity(const config::IkeSettings& s, std::string& error) {
  auto credentials = Credentials::load(s.certificate, s.key, error);
  if (!credentials) return std::nullopt;
  auto trust = TrustStore::load(s.ca, error);
  if (!trust) return std::nullopt;
  std::string why;
  if (!trust->verify(credentials->certificate(), {}, why)) {
    error = fmt::format("the certificate {} does not verify against ike.ca {}: {}", s.certificate, s.ca, why);
    return std::nullopt;
  }
  std::string id = local_id(s, *credentials, error);
  if (!error.empty()) return std::nullopt;
  return GatewayIdentity{std::move(*credentials), std::move(*trust), std::move(id)};
}

}  // namespace meshplane::ctrl::ike
