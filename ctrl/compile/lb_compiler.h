// config services + slots -> the snapshot's LbView: endpoints resolved to
// their egress port, one Maglev table per subset, the VIP lookups.
#pragma once

#include <string>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/apply/lb_registry.h"
#include "ctrl/compile/compiled_snapshot.h"

namespace meshplane::ctrl {

// Needs `s`'s ports and routes filled in. Copies the services that are
// unchanged since `previous` (a 10,000-service endpoint update compiles one
// service) and reuses its unchanged Maglev tables. kInvalid when an endpoint
// has no route (validate() refuses such a policy first).
config::Status compile_lb(const config::Policy& policy, const LbRegistry& registry, CompiledSnapshot& s,
                       const Previous& previous = {});

}  // namespace meshplane::ctrl
