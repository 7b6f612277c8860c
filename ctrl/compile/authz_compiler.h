// Identities and authorization -> dataplane::AuthzView (flat arrays the
// workers read). Identity names become small integers; a rule's lists become
// ranges into shared arrays; each policy's rules are stored deny first, then
// allow, then audit, the order workers ask them in.
#pragma once

#include <string>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/compile/compiled_snapshot.h"

namespace meshplane::ctrl {

// Fills s.authz from `policy`; s.lb must be compiled (service slots).
// `previous` (may be null): the running policy, whose epoch s.authz keeps
// unless something a decision depends on changed.
config::Status compile_authz(const config::Policy& policy, const config::Policy* previous, uint8_t previous_epoch,
                             CompiledSnapshot& s);

// The identity a compiled id stands for (for explain and events); "" for 0.
std::string identity_name(const config::Policy& policy, uint32_t id);
// The compiled id of an identity name; 0 when the policy does not know it.
uint32_t identity_id(const config::Policy& policy, const std::string& name);

}  // namespace meshplane::ctrl
