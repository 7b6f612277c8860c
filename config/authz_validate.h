// Semantic checks on identities and authorization (called by validate()):
// services, identities and peers named must exist; an identity mapped to
// prefixes behind a peer must name that peer (only the peer can speak for
// sources behind it), and one with a peer must lie behind it.
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

void validate_authorization(const Policy& policy, Diagnostics& d);

}  // namespace meshplane::config
